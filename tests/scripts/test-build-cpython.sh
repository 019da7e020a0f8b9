#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2034  # check "..." eval '...' expands its variables late, on purpose
# Tests of scripts/build-cpython.sh (and the usage errors of scripts/build-harness.sh).
#
# Uses the cache in $GILRACE_CACHE (default ~/.cache/gilrace). The only build it
# needs is `--version 3.13 --free-threading`, which scripts/test.sh builds first;
# when it is missing this test builds it (a few minutes), unless
# GILRACE_TEST_NO_BUILD=1, in which case the tests that need it are skipped.
# Every other build already complete in the cache is checked too.
# Exit 0 when every test passed; the last line reads "N passed, M failed".
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD="$ROOT/scripts/build-cpython.sh"
HARNESS="$ROOT/scripts/build-harness.sh"
export GILRACE_CACHE=${GILRACE_CACHE:-$HOME/.cache/gilrace}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$ROOT/tests/scripts/checks.sh"
# expect_usage_error "description" CMD...: exit 2, nothing on stdout, one stderr line
expect_usage_error() {
    local d=$1; shift
    run "$@"
    if [[ $RC == 2 && -z $OUT && $NERR == 1 ]]; then
        ok "$d -> exit 2: $ERR"
    else
        bad "$d: expected exit 2, empty stdout and one stderr line; got exit $RC, stdout '$OUT', stderr ($NERR lines): $ERR"
    fi
}
py_flag() { # py_flag PYTHON EXPR: print the value of a Python expression
    "$1" -c "import sys, sysconfig, json; print($2)" 2>/dev/null
}

# ------------------------------------------------------------------ usage errors
mkdir -p "$TMP/not-cpython"
echo 'int main(void) { return 0; }' >"$TMP/not-cpython/main.c"
expect_usage_error "--source on a tree that is not CPython" "$BUILD" --source "$TMP/not-cpython" --free-threading
expect_usage_error "--source on a missing directory" "$BUILD" --source "$TMP/does-not-exist"
expect_usage_error "unknown option" "$BUILD" --version 3.13 --frobnicate
expect_usage_error "no source given" "$BUILD" --free-threading
expect_usage_error "--version without a value" "$BUILD" --version
expect_usage_error "--version that is not X.Y" "$BUILD" --version three
expect_usage_error "--version and --source together" "$BUILD" --version 3.13 --source "$TMP"
expect_usage_error "--patch of a missing file" "$BUILD" --version 3.13 --patch "$TMP/nope.patch"
expect_usage_error "--version 9.9 (unknown to the archive)" "$BUILD" --version 9.9 --free-threading
if [[ $RC == 2 && $ERR != *"9.9"* ]]; then bad "--version 9.9: the message does not name the version: $ERR"; fi
expect_usage_error "--free-threading on a CPython older than 3.13" "$BUILD" --version 3.11 --free-threading
expect_usage_error "build-harness.sh: unknown option" "$HARNESS" --frobnicate
expect_usage_error "build-harness.sh: --python that does not exist" "$HARNESS" --python "$TMP/no-such-prefix"
expect_usage_error "build-harness.sh: bad --sanitizer" "$HARNESS" --sanitizer memory

# 3.14+: the archive lists source packages whose files are not served here.
# Either it resolves (then --print-prefix says built or not) or it fails with
# one line pointing at --source.
run "$BUILD" --version 3.14 --print-prefix
if [[ $RC == 2 && $NERR == 1 && $ERR == *--source* && -z $OUT ]]; then
    ok "--version 3.14 without downloadable sources -> exit 2: $ERR"
elif [[ ($RC == 0 || $RC == 1) && $OUT == "$GILRACE_CACHE/cpython/3.14."* ]]; then
    ok "--version 3.14 resolved to $OUT"
else
    bad "--version 3.14: exit $RC, stdout '$OUT', stderr: $ERR"
fi

# ------------------------------------------------------------------ the 3.13 free-threaded build
run "$BUILD" --version 3.13 --free-threading --print-prefix
FT_PREFIX=""
if [[ $RC == 0 ]]; then
    FT_PREFIX=$OUT
elif [[ $RC == 1 && ${GILRACE_TEST_NO_BUILD:-0} != 1 ]]; then
    echo "# 3.13 --free-threading is not in $GILRACE_CACHE yet: building it (a few minutes)"
    run "$BUILD" --version 3.13 --free-threading
    if [[ $RC == 0 ]]; then FT_PREFIX=$(tail -n 1 <<<"$OUT"); else bad "building 3.13 --free-threading failed (exit $RC): $(tail -n 5 <<<"$ERR")"; fi
else
    skip "3.13 --free-threading is not built (print-prefix exit $RC)"
fi

if [[ -n $FT_PREFIX ]]; then
    t0=$(date +%s.%N)
    run "$BUILD" --version 3.13 --free-threading
    t1=$(date +%s.%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    if [[ $RC == 0 && $OUT == "$FT_PREFIX" ]] && awk -v s="$secs" 'BEGIN { exit !(s < 2.0) }'; then
        ok "cache hit of 3.13 --free-threading in ${secs} s, same prefix, stdout is only the prefix"
    else
        bad "cache hit: exit $RC in ${secs} s, stdout '$OUT' (want '$FT_PREFIX' in < 2 s)"
    fi
    # flag order does not matter
    run "$BUILD" --free-threading --version=3.13
    check "flags in another order give the same prefix" test "$RC:$OUT" == "0:$FT_PREFIX"
    check "prefix name is <version>-ft-<hash>" eval '[[ $(basename "$FT_PREFIX") =~ ^3\.13\.[0-9]+-ft-[0-9a-f]{8}$ ]]'

    PY="$FT_PREFIX/bin/python3"
    check "$PY: Py_GIL_DISABLED is 1" test "$(py_flag "$PY" 'sysconfig.get_config_var("Py_GIL_DISABLED")')" == 1
    check "$PY: the GIL is off at run time" test "$(py_flag "$PY" 'sys._is_gil_enabled()')" == False
    check "$PY: libpython found through the rpath (no LD_LIBRARY_PATH)" \
        test "$(env -u LD_LIBRARY_PATH "$PY" -c 'import sys; print(sys.prefix)' 2>/dev/null)" == "$FT_PREFIX"
    check "gilrace-build.json: flavours and source" test "$(py_flag "$PY" "
(lambda j: (j['flavours'] == {'free_threading': True, 'debug': False, 'tsan': False}
            and j['source']['kind'] == 'apt' and j['source']['package'] == 'python3.13'
            and '--disable-gil' in j['configure_args'] and j['compiler'] != ''
            and j['version'] == __import__('platform').python_version()))(json.load(open(sys.prefix + '/gilrace-build.json')))")" == True

    # keys: a patch, another flavour or a source tree each give another prefix
    printf -- '--- a/README.rst\n+++ b/README.rst\n@@ -1 +1,2 @@\n+gilrace test patch\n' >"$TMP/t.patch"
    run "$BUILD" --version 3.13 --free-threading --patch "$TMP/t.patch" --print-prefix
    check "--patch changes the prefix (print-prefix exit $RC)" eval '[[ ($RC == 0 || $RC == 1) && -n $OUT && $OUT != "$FT_PREFIX" ]]'
    # a patch that does not apply: exit 2, and no prefix appears
    printf -- '--- a/README.rst\n+++ b/README.rst\n@@ -1,1 +1,1 @@\n-no such line in CPython\n+gilrace\n' >"$TMP/bad.patch"
    run "$BUILD" --version 3.13 --free-threading --patch "$TMP/bad.patch"
    check "a patch that does not apply -> exit 2: $(tail -n 1 <<<"$ERR")" eval '[[ $RC == 2 && -z $OUT && $(tail -n 1 <<<"$ERR") == *"does not apply"* ]]'
    run "$BUILD" --version 3.13 --free-threading --patch "$TMP/bad.patch" --print-prefix
    check "... and leaves no prefix behind" eval '[[ $RC == 1 && ! -e $OUT ]]'
    run "$BUILD" --version 3.13 --debug --free-threading --print-prefix
    check "--debug --free-threading has its own prefix: $(basename "$OUT")" eval '[[ $OUT == "$GILRACE_CACHE"/cpython/3.13.*-ft-debug-* ]]'
fi

# --source on an unpacked tree (from the cached tarball) and on a git checkout of it
TARBALL=$(find "$GILRACE_CACHE/src/tarballs" -name 'python3.13_*.orig.tar.*' ! -name '*.asc' -print -quit 2>/dev/null)
if [[ -n $TARBALL ]]; then
    mkdir -p "$TMP/cpython"
    tar -xf "$TARBALL" -C "$TMP/cpython" --strip-components=1
    run "$BUILD" --source "$TMP/cpython" --tsan --print-prefix
    SRC_PREFIX=$OUT
    check "--source tree --print-prefix: $(basename "$SRC_PREFIX") (exit $RC)" \
        eval '[[ ($RC == 0 || $RC == 1) && $SRC_PREFIX == "$GILRACE_CACHE"/cpython/3.13.*-tsan-* ]]'
    run "$BUILD" --source "$TMP/cpython" --tsan --print-prefix
    check "--source tree: the same tree gives the same prefix" test "$OUT" == "$SRC_PREFIX"
    # Since 3.14, CPython trees hold symbolic links to directories (Misc/mypy/_pyrepl):
    # they are part of the tree's identity as links, never followed.
    ln -s ../Lib/json "$TMP/cpython/Misc/linked-dir"
    run "$BUILD" --source "$TMP/cpython" --tsan --print-prefix
    LINK_PREFIX=$OUT
    check "--source tree with a link to a directory (exit $RC, one prefix line)" \
        eval '[[ ($RC == 0 || $RC == 1) && $LINK_PREFIX == "$GILRACE_CACHE"/cpython/3.13.*-tsan-* && $LINK_PREFIX != "$SRC_PREFIX" ]]'
    ln -sfn ../Lib/email "$TMP/cpython/Misc/linked-dir"
    run "$BUILD" --source "$TMP/cpython" --tsan --print-prefix
    check "--source tree: another link target gives another prefix" eval '[[ -n $OUT && $OUT != "$LINK_PREFIX" ]]'
    ln -sfn ../no/such/dir "$TMP/cpython/Misc/linked-dir"
    run "$BUILD" --source "$TMP/cpython" --tsan --print-prefix
    check "--source tree: a dangling link is hashed as a link too (exit $RC)" eval '[[ ($RC == 0 || $RC == 1) && -n $OUT ]]'
    rm "$TMP/cpython/Misc/linked-dir"
    if command -v git >/dev/null; then
        (cd "$TMP/cpython" && git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm t) >/dev/null 2>&1
        run "$BUILD" --source "$TMP/cpython" --tsan --print-prefix
        GIT_PREFIX=$OUT
        check "--source git checkout --print-prefix (exit $RC)" eval '[[ ($RC == 0 || $RC == 1) && $GIT_PREFIX == "$GILRACE_CACHE"/cpython/3.13.*-tsan-* ]]'
        echo "/* local change */" >>"$TMP/cpython/Include/Python.h"
        run "$BUILD" --source "$TMP/cpython" --tsan --print-prefix
        check "--source git checkout: a dirty tree gets another prefix" eval '[[ -n $OUT && $OUT != "$GIT_PREFIX" ]]'
    fi
    (cd "$TMP/cpython" && rm -rf .git && touch Makefile)
    expect_usage_error "--source on an unpacked tree configured in place" "$BUILD" --source "$TMP/cpython" --print-prefix
else
    skip "no cached python3.13 tarball: --source checks"
fi

# ------------------------------------------------------------------ every complete build in the cache
for json in "$GILRACE_CACHE"/cpython/*/gilrace-build.json; do
    [[ -f $json ]] || continue
    prefix=$(dirname "$json")
    name=$(basename "$prefix")
    got=$(py_flag "$prefix/bin/python3" '
"%d %d %d" % (bool(sysconfig.get_config_var("Py_GIL_DISABLED")), hasattr(sys, "gettotalrefcount"),
              "with-thread-sanitizer" in (sysconfig.get_config_var("CONFIG_ARGS") or ""))')
    want=$(py_flag "$prefix/bin/python3" '
(lambda f: "%d %d %d" % (f["free_threading"], f["debug"], f["tsan"]))(json.load(open(sys.prefix + "/gilrace-build.json"))["flavours"])')
    check "$name: interpreter flavour ($got) matches gilrace-build.json ($want)" eval '[[ -n $got && $got == "$want" ]]'
done

echo "# $GILRACE_CACHE"
if ((skipped)); then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
((failed == 0))
