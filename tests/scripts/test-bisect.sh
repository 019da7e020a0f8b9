#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2034  # check "..." eval '...' expands its variables late, on purpose
# Tests of scripts/bisect-cpython.sh and scripts/bisect-step.sh (CTest: bisect_scripts).
#
#   tests/scripts/test-bisect.sh GILRACE_BINARY
#
# Builds synthetic git histories in a temporary folder, in which the control
# scenario selftest-bisect reads its failure probabilities from a file of the
# repository (probs.txt: p = the target crash, other = an unrelated fatal
# error) and build.sh says whether the commit "builds". It bisects them with
# bisect-cpython.sh --step, the step being a small script that runs
# `gilrace run ... --bisect` with the gilrace under test (building CPython per
# step is far too slow for a test). bisect-step.sh itself is run for its usage
# errors and on fake CPython trees that do not configure.
# Exit 0 when every test passed; the last line reads "N passed, M failed".
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GILRACE=${1:-}
[[ -n $GILRACE && -x $GILRACE ]] || {
    echo "usage: test-bisect.sh GILRACE_BINARY" >&2
    exit 2
}
GILRACE=$(cd "$(dirname "$GILRACE")" && pwd)/$(basename "$GILRACE")
BISECT="$ROOT/scripts/bisect-cpython.sh"
STEP_SH="$ROOT/scripts/bisect-step.sh"

TMP=$(mktemp -d)
trap '[[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"' EXIT
. "$ROOT/tests/scripts/checks.sh"
export GILRACE_CACHE="$TMP/cache"
# A git of our own: no user configuration, a fixed identity.
export GIT_CONFIG_GLOBAL="$TMP/gitconfig" GIT_CONFIG_NOSYSTEM=1
git config --global user.name test
git config --global user.email test@example.com
git config --global init.defaultBranch main
git config --global advice.detachedHead false

expect_exit() { # expect_exit CODE "description" CMD...: that exit code, one line on stderr
    local code=$1 d=$2
    shift 2
    run "$@"
    if [[ $RC == "$code" && $NERR == 1 ]]; then
        ok "$d -> exit $code: $ERR"
    else
        bad "$d: expected exit $code and one stderr line; got exit $RC, stderr ($NERR lines): $ERR"
    fi
}

# history DIR SPEC...: a repository with one commit per SPEC, c0, c1, ...
# SPEC: the target probability p, optionally followed by ":other" (an unrelated
# failure in every trial) or ":broken" (build.sh fails).
history() {
    local dir=$1 i=0 spec p
    shift
    git init -q "$dir"
    for spec in "$@"; do
        p=${spec%%:*}
        printf '# c%s\np=%s\n' "$i" "$p" >"$dir/probs.txt" # (the comment: every commit differs)
        [[ $spec == *:other ]] && printf 'other=1\n' >>"$dir/probs.txt"
        if [[ $spec == *:broken ]]; then echo 'exit 1' >"$dir/build.sh"; else echo 'exit 0' >"$dir/build.sh"; fi
        git -C "$dir" add probs.txt build.sh
        git -C "$dir" commit -q -m "c$i: $spec"
        i=$((i + 1))
    done
}
commit() { git -C "$1" rev-parse ":/^c$2: "; } # commit REPO N: the sha of cN
subject_of() { git -C "$1" log -1 --format=%s "$2"; }

# The step the synthetic tests use in place of bisect-step.sh: "build" the
# commit, then judge it with the gilrace under test (bisect-cpython.sh passes
# --bisect or --bisect=fix). Seeded: the base seed is a function of TEST_SEED,
# the commit and the arguments, so a bisect is the same every time for one
# TEST_SEED, and a calibration, a step and a verification of one commit draw
# different trials.
export TEST_SEED=1
STEP="$TMP/step.sh"
cat >"$STEP" <<EOF
#!/bin/sh
sh ./build.sh || { echo "gilrace-verdict: skip trials=0 reason=does_not_build"; exit 125; }
scenario=\$1
shift
seed=\$(printf '%s %s %s' "\$TEST_SEED" "\$(git rev-parse HEAD)" "\$*" | cksum | cut -d' ' -f1)
exec "$GILRACE" run "\$scenario" --param "file=\$PWD/probs.txt" --seed "\$seed" --artifacts "$TMP/artifacts" "\$@"
EOF
chmod +x "$STEP"

# untouched REPO BRANCH_OR_SHA: the checkout is as the bisect found it.
untouched() {
    local repo=$1 want=$2 branch
    branch=$(git -C "$repo" symbolic-ref -q --short HEAD)
    if git -C "$repo" bisect log >/dev/null 2>&1; then
        echo "  still bisecting" >&2
        return 1
    fi
    if [[ -n $(git -C "$repo" status --porcelain --untracked-files=all) ]]; then
        echo "  not clean: $(git -C "$repo" status --porcelain)" >&2
        return 1
    fi
    if [[ $want == main ]]; then
        [[ $branch == main ]] || { echo "  on '$branch', not main" >&2; return 1; }
    else
        [[ -z $branch && $(git -C "$repo" rev-parse HEAD) == "$want" ]] ||
            { echo "  HEAD is ${branch:-$(git -C "$repo" rev-parse HEAD)}, not detached at $want" >&2; return 1; }
    fi
}
table_row() { # table_row SHA: the verdict table's row(s) for that commit
    grep -E "^[a-z0-9 ]+ ${1:0:12} " "$TMP/out"
}
# answer_is KIND SHA: the last line names SHA as first-KIND, with a confidence and a verification
answer_is() {
    [[ $LAST =~ ^gilrace-bisect:\ first-$1=$2\ confidence=(0\.[0-9]+|unknown)\ verify=[a-z]+:[0-9]+/[0-9]+,[a-z]+:[0-9]+/[0-9]+\ run= ]]
}

# ------------------------------------------------------------------ p = 1, an unrelated failure
# c0..c10 pass, c11..c15 always crash; c7, the first commit git bisect tests
# (the middle), fails with an unrelated fatal error instead: 125 for that step.
H1="$TMP/h1"
history "$H1" 0 0 0 0 0 0 0 0:other 0 0 0 1 1 1 1 1
first=$(git -C "$H1" rev-list --bisect main "^$(commit "$H1" 0)")
check "precondition: git bisect tests c7 first in h1 (got $(subject_of "$H1" "$first"))" \
    test "$first" == "$(commit "$H1" 7)"
git -C "$H1" checkout -q main
run "$BISECT" --cpython "$H1" --good "$(commit "$H1" 0)" --bad main --scenario selftest-bisect \
    --step "$STEP" -- --rate 1 --match crash
check "p=1: bisect-cpython.sh exits 0 (exit $RC; last line: $LAST)" test "$RC" == 0
check "p=1: the first bad commit is c11, with a confidence and a verification ($LAST)" answer_is bad "$(commit "$H1" 11)"
check "p=1: verified: c11 bad, c10 good in 3 trials (3x the step's 1)" \
    eval '[[ $LAST =~ \ verify=bad:[1-9][0-9]*/[0-9]+,good:0/3\  ]]'
check "p=1: the table has the verification rows" \
    eval 'table_row "$(commit "$H1" 11)" | grep -q "^verify bad " && table_row "$(commit "$H1" 10)" | grep -q "^verify parent "'
check "p=1: the probability of a wrong answer is stated" grep -qE "^probability that it is wrong: at most [0-9.e-]+ " "$TMP/out"
check "p=1: the verdict table says which commit is first bad" grep -q "^first bad commit: $(commit "$H1" 11) c11: 1$" "$TMP/out"
check "p=1: the unrelated failure at c7 was 125 (other_failures)" \
    eval 'table_row "$(commit "$H1" 7)" | grep -q " skip .* 125 .*reason=other_failures"'
check "p=1: ... and its signature is listed under its row" \
    eval 'grep -A1 -E "^step [0-9]+ +$(commit "$H1" 7 | cut -c1-12) " "$TMP/out" | grep -qE "^ +other: [0-9]+ x fatal_error: .*unrelated failure"'
check "p=1: the endpoints were checked: bad and good rows" \
    eval 'grep -qE "^bad +[0-9a-f]{12} +bad +1 " "$TMP/out" && grep -qE "^good +[0-9a-f]{12} +good +0 " "$TMP/out"'
check "p=1: a bad step says trials=1 (it stops at the first target failure)" \
    eval 'table_row "$(commit "$H1" 15)" | grep -q "needed=1 trials=1 failures=1"'
check "p=1: the checkout is back on main, clean, not bisecting" untouched "$H1" main

# A relative --rate-file is the caller's: calibrated into it once, read by the next bisect.
(cd "$TMP" && run "$BISECT" --cpython "$H1" --good "$(commit "$H1" 0)" --bad main \
    --scenario selftest-bisect --step "$STEP" -- --match crash --rate-file h1-rate.txt)
check "a relative --rate-file: calibrated into the caller's folder" grep -q '^rate=' "$TMP/h1-rate.txt"
run "$BISECT" --cpython "$H1" --good "$(commit "$H1" 0)" --bad main --scenario selftest-bisect \
    --step "$STEP" -- --match crash --rate-file "$TMP/h1-rate.txt"
check "an existing --rate-file is read, not measured again ($LAST)" \
    eval '[[ $RC == 0 ]] && answer_is bad "$(commit "$H1" 11)" && ! grep -q " calibrated " "$TMP/out"'
check "... and the checkout is back on main" untouched "$H1" main

# ------------------------------------------------------------------ p = 0.3, calibrated, a broken build
# c0..c8 pass, c9..c15 crash in 30% of trials; c7 (tested first) does not
# build. No rate is given: it is measured at the bad revision. At confidence
# 0.999 the calibrated rate (the lower end of its interval, ~0.15 from ~20/67)
# asks for ~45 trials per step, so a bad commit passes as good with probability
# below 0.7^45 ~ 1e-7, and the whole bisect errs with probability ~1e-6.
H2="$TMP/h2"
history "$H2" 0 0 0 0 0 0 0 0:broken 0 0.3 0.3 0.3 0.3 0.3 0.3 0.3
first=$(git -C "$H2" rev-list --bisect main "^$(commit "$H2" 0)")
check "precondition: git bisect tests c7 first in h2 (got $(subject_of "$H2" "$first"))" \
    test "$first" == "$(commit "$H2" 7)"
start=$(commit "$H2" 13)
git -C "$H2" checkout -q --detach "$start"
run "$BISECT" --cpython "$H2" --good "$(commit "$H2" 0)" --bad main --scenario selftest-bisect \
    --step "$STEP" --confidence 0.999 -- --match gilrace_selftest_bisect_target
check "p=0.3: bisect-cpython.sh exits 0 (exit $RC; last line: $LAST)" test "$RC" == 0
check "p=0.3: the first bad commit is c9" answer_is bad "$(commit "$H2" 9)"
check "p=0.3: --confidence 0.999 is the whole bisect's, split over 6 verdicts that could err" \
    grep -q "confidence 0.999 for the whole bisect of 15 commits: 0.999833 per step" "$TMP/err"
check "p=0.3: the stated confidence reaches the target ($LAST)" \
    eval 'awk -v c="$(sed -E "s/.* confidence=([0-9.]+) .*/\\1/" <<<"$LAST")" "BEGIN { exit !(c >= 0.999) }"'
check "p=0.3: the rate was calibrated at the bad revision" \
    eval 'grep -qE "^bad +[0-9a-f]{12} +calibrated +0 +[0-9]+s +rate=0\.[0-9]+ failures=2[01] " "$TMP/out"'
check "p=0.3: the broken build at c7 was 125 (does_not_build)" \
    eval 'table_row "$(commit "$H2" 7)" | grep -q " skip .* 125 .*reason=does_not_build"'
check "p=0.3: the calibration's rate file is in the run folder" test -s "${LAST##* run=}/rate.txt"
check "p=0.3: the checkout is back at the detached commit, clean, not bisecting" untouched "$H2" "$start"

# ------------------------------------------------------------------ endpoints that are not what they say
git -C "$H1" checkout -q main
run "$BISECT" --cpython "$H1" --good "$(commit "$H1" 12)" --bad main --scenario selftest-bisect \
    --step "$STEP" -- --rate 1 --match crash
check "a good revision that is bad: exit 1 (exit $RC)" test "$RC" == 1
check "a good revision that is bad: says so last ($LAST)" \
    eval '[[ $LAST == "gilrace-bisect: none reason=good_revision_is_not_good run="* ]]'
check "a good revision that is bad: the checkout is back on main" untouched "$H1" main
run "$BISECT" --cpython "$H1" --good "$(commit "$H1" 0)" --bad "$(commit "$H1" 5)" \
    --scenario selftest-bisect --step "$STEP" -- --match crash --duration 5s
check "a bad revision that does not fail cannot be calibrated: exit 1 ($LAST)" \
    eval '[[ $RC == 1 && $LAST == "gilrace-bisect: none reason=bad_revision_did_not_calibrate run="* ]]'
check "... and the checkout is back on main" untouched "$H1" main

# ------------------------------------------------------------------ --find-fix, p = 1, an unrelated failure
# c0..c5 always crash, c6 fixes it; c7, the first commit git bisect tests, fails
# with an unrelated fatal error instead: 125, so it cannot pass for broken.
F1="$TMP/f1"
history "$F1" 1 1 1 1 1 1 0 0:other 0 0 0 0 0 0 0 0
first=$(git -C "$F1" rev-list --bisect main "^$(commit "$F1" 0)")
check "precondition: git bisect tests c7 first in f1 (got $(subject_of "$F1" "$first"))" \
    test "$first" == "$(commit "$F1" 7)"
git -C "$F1" checkout -q main
run "$BISECT" --cpython "$F1" --find-fix --broken "$(commit "$F1" 0)" --fixed main \
    --scenario selftest-bisect --step "$STEP" -- --rate 1 --match crash
check "fix p=1: exits 0 (exit $RC; last line: $LAST)" test "$RC" == 0
check "fix p=1: the first fixed commit is c6" answer_is fixed "$(commit "$F1" 6)"
check "fix p=1: verified: c6 fixed in 3 trials, c5 broken" \
    eval '[[ $LAST =~ \ verify=fixed:0/3,broken:[1-9][0-9]*/[0-9]+\  ]]'
check "fix p=1: says which commit is first fixed" grep -q "^first fixed commit: $(commit "$F1" 6) c6: 0$" "$TMP/out"
check "fix p=1: the endpoints: broken exits 0, fixed exits 1 (git bisect's old and new terms)" \
    eval 'grep -qE "^broken +[0-9a-f]{12} +broken +0 " "$TMP/out" && grep -qE "^fixed +[0-9a-f]{12} +fixed +1 " "$TMP/out"'
check "fix p=1: the unrelated failure at c7 was 125, its signature listed" \
    eval 'table_row "$(commit "$F1" 7)" | grep -q " skip .* 125 .*reason=other_failures" &&
        grep -A1 -E "^step [0-9]+ +$(commit "$F1" 7 | cut -c1-12) " "$TMP/out" | grep -qE "^ +other: [0-9]+ x fatal_error: "'
check "fix p=1: the checkout is back on main, clean, not bisecting" untouched "$F1" main
run "$BISECT" --cpython "$F1" --find-fix --broken "$(commit "$F1" 0)" --fixed main \
    --scenario selftest-bisect --step "$STEP" -- --rate 1 --match crash --other bad
check "fix p=1 --other bad: the unrelated failure counts as broken, so c8 is named ($LAST)" \
    answer_is fixed "$(commit "$F1" 8)"
run "$BISECT" --cpython "$F1" --find-fix --broken "$(commit "$F1" 0)" --fixed main \
    --scenario selftest-bisect --step "$STEP" -- -n 2 --match crash
check "fix -n 2: c6, verified with 6 trials, and no error bound claimed ($LAST)" \
    eval 'answer_is fixed "$(commit "$F1" 6)" && [[ $LAST == *" confidence=unknown verify=fixed:0/6,broken:"* ]]'


# ------------------------------------------------------------------ --find-fix, p = 0.3, 20 seeds
# c0..c8 crash in 30% of trials, c9 fixes it. Calibrated at the broken end, at
# the default whole-bisect confidence 0.99; every seed must find c9.
F2="$TMP/f2"
history "$F2" 0.3 0.3 0.3 0.3 0.3 0.3 0.3 0.3 0.3 0 0 0 0 0 0 0
git -C "$F2" checkout -q main
found=0 missed=""
for seed in $(seq 1 20); do
    TEST_SEED=$seed run "$BISECT" --cpython "$F2" --find-fix --broken "$(commit "$F2" 0)" --fixed main \
        --scenario selftest-bisect --step "$STEP" -- --match gilrace_selftest_bisect_target
    if [[ $RC == 0 ]] && answer_is fixed "$(commit "$F2" 9)"; then
        found=$((found + 1))
    else
        missed+=" seed $seed: exit $RC, $LAST;"
    fi
    if [[ $seed == 1 ]]; then
        check "fix p=0.3: the rate was calibrated at the broken end" \
            eval 'grep -qE "^broken +$(commit "$F2" 0 | cut -c1-12) +calibrated +0 +[0-9]+s +rate=0\.[0-9]+ failures=2[01] " "$TMP/out"'
        check "fix p=0.3: the stated confidence reaches 0.99 ($LAST)" \
            eval 'awk -v c="$(sed -E "s/.* confidence=([0-9.]+) .*/\\1/" <<<"$LAST")" "BEGIN { exit !(c >= 0.99) }"'
    fi
done
check "fix p=0.3: c9 found in 20 of 20 seeded bisects (found $found;$missed)" test "$found" == 20
check "fix p=0.3: the checkout is back on main" untouched "$F2" main

# ------------------------------------------------------------------ --find-fix: fixed, broken again, fixed
# c4 fixes it, c7 breaks it again, c11 fixes it again. A bisect names one
# commit whose parent is broken: here c11 (c7, tested first, is broken).
F3="$TMP/f3"
history "$F3" 1 1 1 1 0 0 0 1 1 1 1 0 0 0 0 0
git -C "$F3" checkout -q main
run "$BISECT" --cpython "$F3" --find-fix --broken "$(commit "$F3" 0)" --fixed main \
    --scenario selftest-bisect --step "$STEP" -- --rate 1 --match crash
check "fix, re-broken: names c11, the fix after the re-break, verified ($LAST)" \
    eval '[[ $RC == 0 ]] && answer_is fixed "$(commit "$F3" 11)" && [[ $LAST =~ \ verify=fixed:0/3,broken:[1-9] ]]'
run "$BISECT" --cpython "$F3" --find-fix --broken "$(commit "$F3" 0)" --fixed "$(commit "$F3" 8)" \
    --scenario selftest-bisect --step "$STEP" -- --rate 1 --match crash
check "fix, re-broken: a --fixed revision that is broken again: exit 1, says so ($LAST)" \
    eval '[[ $RC == 1 && $LAST == "gilrace-bisect: none reason=fixed_revision_is_not_fixed run="* ]]'
check "fix, re-broken: the checkout is back on main" untouched "$F3" main

# ------------------------------------------------------------------ a verification that contradicts
# c9 still crashes in half of its trials, but --rate 1 (wrongly) says one
# trial shows it: a step can call c9 fixed, or c10's parent clean, and the
# verification (3 trials) then sees the crash. Such a bisect names no commit.
F4="$TMP/f4"
history "$F4" 1 1 1 1 1 1 1 1 1 0.5 0 0 0 0 0 0
git -C "$F4" checkout -q main
contradicted=0 wrong=""
for seed in $(seq 1 8); do
    TEST_SEED=$seed run "$BISECT" --cpython "$F4" --find-fix --broken "$(commit "$F4" 0)" --fixed main \
        --scenario selftest-bisect --step "$STEP" -- --rate 1 --match crash
    if [[ $LAST == "gilrace-bisect: none reason=verification_contradicts candidate="* ]]; then
        contradicted=$((contradicted + 1))
        [[ $RC == 1 ]] || wrong+=" seed $seed exited $RC;"
        grep -q "^first fixed commit:" "$TMP/out" && wrong+=" seed $seed named a commit;"
        grep -q "but the verification contradicts it: " "$TMP/out" || wrong+=" seed $seed did not say why;"
    elif ! { answer_is fixed "$(commit "$F4" 9)" || answer_is fixed "$(commit "$F4" 10)"; }; then
        wrong+=" seed $seed: $LAST;"
    fi
done
check "a contradicting verification happened in some of 8 seeds ($contradicted)" test "$contradicted" -gt 0
check "... and each names no commit, exits 1 and says why (${wrong:-ok})" test -z "$wrong"
check "... and the checkout is back on main" untouched "$F4" main

# ------------------------------------------------------------------ terminated in the middle of a step
# A step that takes long (a CPython build): SIGTERM to bisect-cpython.sh alone
# must stop the step and everything it started at once, then restore the checkout.
SLOW="$TMP/slow-step.sh"
cat >"$SLOW" <<EOF
#!/bin/sh
echo \$\$ >"$TMP/slow.pid"
sleep 300
EOF
chmod +x "$SLOW"
git -C "$H1" checkout -q main
rm -f "$TMP/slow.pid"
"$BISECT" --cpython "$H1" --good "$(commit "$H1" 0)" --bad main --scenario selftest-bisect \
    --step "$SLOW" -- --rate 1 >"$TMP/out" 2>"$TMP/err" &
bisect_pid=$!
for _ in $(seq 1 100); do [[ -s $TMP/slow.pid ]] && break; sleep 0.1; done
started=$SECONDS
kill -TERM "$bisect_pid"
wait "$bisect_pid"
RC=$? LAST=$(tail -n 1 "$TMP/out")
check "terminated: exit 130 within 15 s (exit $RC after $((SECONDS - started)) s)" \
    eval '[[ $RC == 130 && $((SECONDS - started)) -le 15 ]]'
check "terminated: the last line says so ($LAST)" \
    eval '[[ $LAST == "gilrace-bisect: none reason=interrupted run="* ]]'
check "terminated: the step is gone" eval '! kill -0 "$(cat "$TMP/slow.pid")" 2>/dev/null'
check "terminated: the checkout is back on main, not bisecting" untouched "$H1" main

# ------------------------------------------------------------------ bisect-cpython.sh usage errors
mkdir -p "$TMP/plain"
expect_exit 2 "bisect-cpython.sh without arguments" "$BISECT"
expect_exit 2 "bisect-cpython.sh --cpython on a folder that is not git" \
    "$BISECT" --cpython "$TMP/plain" --good a --bad b --scenario s --step "$STEP"
expect_exit 2 "bisect-cpython.sh --cpython on a git tree that is not CPython (no --step)" \
    "$BISECT" --cpython "$H1" --good "$(commit "$H1" 0)" --bad main --scenario s
expect_exit 2 "bisect-cpython.sh with an unknown --good" \
    "$BISECT" --cpython "$H1" --good nosuchrev --bad main --scenario s --step "$STEP"
expect_exit 2 "bisect-cpython.sh with --good after --bad" \
    "$BISECT" --cpython "$H1" --good main --bad "$(commit "$H1" 0)" --scenario s --step "$STEP"
expect_exit 2 "bisect-cpython.sh with --step and a flavour" \
    "$BISECT" --cpython "$H1" --good "$(commit "$H1" 0)" --bad main --scenario s --step "$STEP" --free-threading
expect_exit 2 "bisect-cpython.sh --find-fix with --good/--bad" \
    "$BISECT" --cpython "$H1" --find-fix --good "$(commit "$H1" 0)" --bad main --scenario s --step "$STEP"
expect_exit 2 "bisect-cpython.sh --broken/--fixed without --find-fix" \
    "$BISECT" --cpython "$H1" --broken "$(commit "$H1" 0)" --fixed main --scenario s --step "$STEP"
expect_exit 2 "bisect-cpython.sh --find-fix with --fixed before --broken" \
    "$BISECT" --cpython "$H1" --find-fix --broken main --fixed "$(commit "$H1" 0)" --scenario s --step "$STEP"
expect_exit 2 "bisect-cpython.sh with a --confidence that is not a fraction" \
    "$BISECT" --cpython "$H1" --good "$(commit "$H1" 0)" --bad main --scenario s --step "$STEP" --confidence 99
expect_exit 2 "bisect-cpython.sh with --bisect after --" \
    "$BISECT" --cpython "$H1" --good "$(commit "$H1" 0)" --bad main --scenario s --step "$STEP" -- --bisect
echo dirty >>"$H1/probs.txt"
expect_exit 2 "bisect-cpython.sh on a checkout with uncommitted changes" \
    "$BISECT" --cpython "$H1" --good "$(commit "$H1" 0)" --bad main --scenario s --step "$STEP"
git -C "$H1" checkout -q -- probs.txt
check "usage errors leave the checkout alone" untouched "$H1" main

# ------------------------------------------------------------------ bisect-step.sh
# Exit 128 (git bisect run stops) for usage errors; 125 when CPython does not build.
expect_exit 128 "bisect-step.sh with an unknown option" "$STEP_SH" --frobnicate
expect_exit 128 "bisect-step.sh without -- SCENARIO" "$STEP_SH" --cpython "$TMP/plain"
expect_exit 128 "bisect-step.sh with options but no scenario after --" "$STEP_SH" -- --rate 1
expect_exit 128 "bisect-step.sh on a tree that is not CPython" "$STEP_SH" --cpython "$TMP/plain" -- s --rate 1
expect_exit 128 "bisect-step.sh --find-fix with a --bisect of its own" "$STEP_SH" --find-fix -- s --bisect --rate 1

FAKE="$TMP/fake-cpython"
mkdir -p "$FAKE/Include"
echo '/* fake */' >"$FAKE/Include/Python.h"
echo '#define PY_VERSION "3.99.0a0"' >"$FAKE/Include/patchlevel.h"
printf '#!/bin/sh\necho "configure: error: this fake CPython never configures" >&2\nexit 1\n' >"$FAKE/configure"
chmod +x "$FAKE/configure"
run "$STEP_SH" --cpython "$FAKE" --jobs 1 -- selftest-bisect --rate 1
check "bisect-step.sh: a CPython that does not configure is 125 (exit $RC)" test "$RC" == 125
check "bisect-step.sh: ... with a verdict line saying why ($LAST)" \
    eval '[[ $LAST == "gilrace-verdict: skip trials=0 reason=cpython_does_not_configure "* ]]'
check "bisect-step.sh: ... and the configure error in its log tail" grep -q "this fake CPython never configures" "$TMP/err"
check "bisect-step.sh: ... built outside the tree, under the cache" \
    eval 'ls "$GILRACE_CACHE"/bisect/fake-cpython-default-*/logs/*.log >/dev/null 2>&1 && [[ ! -e $FAKE/Makefile && ! -e $FAKE/build ]]'
run "$STEP_SH" --cpython "$FAKE" --free-threading -- selftest-bisect --rate 1
check "bisect-step.sh --free-threading on a CPython without --disable-gil is 125 ($LAST)" \
    eval '[[ $RC == 125 && $LAST == "gilrace-verdict: skip trials=0 reason=flavour_missing "* ]]'

echo
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
