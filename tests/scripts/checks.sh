# Sourced by the tests/scripts/*.sh checks: one "ok", "FAIL" or "skip" line per check, the
# counts kept for the last line that scripts/test.sh reads ("N passed, M failed, K skipped").
# Needs TMP, a scratch folder of the caller's.
passed=0 failed=0 skipped=0
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
bad() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
skip() { skipped=$((skipped + 1)); printf 'skip %s\n' "$*"; }
check() { # check "description" command...
    local d=$1
    shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}
# run CMD...: sets RC, OUT (stdout), ERR (stderr), NERR (stderr lines), LAST (last stdout line)
run() {
    "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
    NERR=$(grep -c '' "$TMP/err")
    LAST=$(tail -n 1 "$TMP/out")
}
