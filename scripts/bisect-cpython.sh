#!/usr/bin/env bash
# Bisect CPython in one command: which commit made SCENARIO fail (a regression),
# or which commit made it stop failing (a fix)?
#
#   scripts/bisect-cpython.sh --cpython DIR --good REV --bad REV --scenario S [options]
#   scripts/bisect-cpython.sh --cpython DIR --find-fix --broken REV --fixed REV --scenario S [options]
#
# Options:
#   --confidence C   the confidence of the whole answer (default 0.99); each step
#                    gets 1 - (1-C)/K, K the verdicts that can err: one per
#                    expected step (ceil(log2(commits))), plus the clean endpoint,
#                    plus the calibration
#   --free-threading, --debug, --tsan, --jobs N
#                    the CPython flavour and make -j (see bisect-step.sh)
#   --no-endpoint-check   do not test the endpoints (the calibration still runs)
#   --no-verify      do not re-run the answer and its parents
#   --step CMD       run `CMD SCENARIO [gilrace run options]` as the step instead of
#                    bisect-step.sh (a repository that needs no CPython build, or a
#                    test); it must exit 0/1/125 and print gilrace's verdict line
#   -- OPTIONS       for `gilrace run`: --rate P | --rate-file F, --match M,
#                    --other skip|good|bad, --variant V, --param k=v, -j N, -n N, ...
#
#  1. the rate: --rate P as given; or --rate-file F when F exists; otherwise it
#     is measured where the failure reproduces (the bad revision; with
#     --find-fix the broken one) with `gilrace run --bisect --calibrate`;
#  2. the endpoints: BAD (BROKEN) must fail and GOOD (FIXED) must not;
#  3. `git bisect run` with scripts/bisect-step.sh (build the commit
#     incrementally, gilrace against it, `gilrace run --bisect`); --find-fix
#     bisects with the terms old=broken, new=fixed and `--bisect=fix`;
#  4. the verification: the answer and its parents again, with 3x the trials
#     of a step: the answer must fail (be fixed) and its parents not (be broken).
# Only the target failure (--match) decides a step; commits that fail only in
# other ways are 125 (unless --other says otherwise) and their signatures are
# listed in the table.
#
# The checkout is left as it was found: `git bisect reset`, then the original
# branch (or detached commit) checked out again, also when interrupted or
# terminated (the step is stopped first). It must have no uncommitted changes
# to tracked files and no bisect in progress.
#
# Output: the steps' output on stderr; on stdout the table, the answer with the
# probability that it is wrong, the verification, and last one of
#   gilrace-bisect: first-bad=<sha> confidence=<v> verify=<this>,<parent> run=<folder>
#   gilrace-bisect: first-fixed=<sha> confidence=<v> verify=<this>,<parent> run=<folder>
#   gilrace-bisect: none reason=<why> run=<folder>
# confidence = 1 - the sum of (1 - C_step) over the verdicts that could err (the
# clean ones and the calibration), or "unknown" when -n chose the trials;
# verify=<verdict>:<failures>/<trials> for the answer, then for each parent.
# Everything is kept in ${GILRACE_CACHE:-~/.cache/gilrace}/bisect/runs/<id>/.
# Exit: 0 the commit was found; 1 it was not (an endpoint is not what it should
# be, the calibration saw no target failure, skipped commits left it ambiguous,
# the verification contradicted the bisect, a step failed); 2 bad usage;
# 130 interrupted.
set -uo pipefail

PROG=bisect-cpython.sh
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
ROOT=$(cd "$(dirname "$SELF")/.." && pwd)
CACHE=${GILRACE_CACHE:-$HOME/.cache/gilrace}

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 2
}
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
usage() { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//p}' "$SELF"; }

# ---------------------------------------------------------------- one step
# Internal: `bisect-cpython.sh --internal-step RUN_DIR LABEL -- CMD...` runs one
# step in the current checkout, shows its output, records its verdict in
# RUN_DIR/verdicts.tsv (label, commit, exit, seconds, verdict line, other signatures),
# and exits 0/1/125, or 128 (stop the bisect) for anything else.
if [[ ${1:-} == --internal-step ]]; then
    run_dir=$2 label=$3
    shift 4
    rev=$(git rev-parse HEAD)
    n=$(($(wc -l <"$run_dir/verdicts.tsv") + 1))
    [[ $label == step ]] && label="step $(($(grep -c '^step ' "$run_dir/verdicts.tsv") + 1))"
    out="$run_dir/step-$n-${rev:0:12}.out"
    printf '\n%s: === %s: %s %s\n' "$PROG" "$label" "${rev:0:12}" "$(git log -1 --format=%s "$rev")" >&2
    started=$SECONDS
    "$@" | tee "$out"
    rc=${PIPESTATUS[0]}
    secs=$((SECONDS - started))
    verdict=$(grep -E '^gilrace-(verdict|calibration):' "$out" | tail -n 1)
    [[ -n $verdict ]] || verdict="(no verdict line)"
    # gilrace lists each signature seen: "bisect:   other  3 x fatal_error ... [id]"
    others=$(sed -nE 's/^bisect:   other +//p' "$out" | paste -sd ';' -)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$rev" "$rc" "$secs" "$verdict" "$others" >>"$run_dir/verdicts.tsv"
    case $rc in
    0 | 1 | 125) exit "$rc" ;;
    130 | 143) exit 130 ;;
    *)
        log "the step exited $rc (not 0, 1 or 125): stopping"
        exit 128
        ;;
    esac
fi

# ---------------------------------------------------------------- options
CPYTHON="" OLD="" NEW="" SCENARIO="" JOBS="" STEP="" CHECK_ENDS=true VERIFY=true
FIND_FIX=false CONFIDENCE="" FLAVOURS=() GARGS=() GOOD="" BAD="" BROKEN="" FIXED=""
need_arg() { [[ $# -ge 2 && -n $2 ]] || die "option $1 needs a value"; }
while [[ $# -gt 0 ]]; do
    opt=$1
    if [[ $opt == --*=* ]]; then
        set -- "${opt%%=*}" "${opt#*=}" "${@:2}"
        opt=$1
    fi
    case $opt in
    --cpython) need_arg "$@"; CPYTHON=$2; shift 2 ;;
    --good) need_arg "$@"; GOOD=$2; shift 2 ;;
    --bad) need_arg "$@"; BAD=$2; shift 2 ;;
    --find-fix) FIND_FIX=true; shift ;;
    --broken) need_arg "$@"; BROKEN=$2; shift 2 ;;
    --fixed) need_arg "$@"; FIXED=$2; shift 2 ;;
    --scenario) need_arg "$@"; SCENARIO=$2; shift 2 ;;
    --confidence) need_arg "$@"; CONFIDENCE=$2; shift 2 ;;
    --free-threading | --ft | --disable-gil) FLAVOURS+=(--free-threading); shift ;;
    --debug | --pydebug) FLAVOURS+=(--debug); shift ;;
    --tsan | --thread-sanitizer) FLAVOURS+=(--tsan); shift ;;
    --jobs | -j) need_arg "$@"; JOBS=$2; shift 2 ;;
    --step) need_arg "$@"; STEP=$2; shift 2 ;;
    --no-endpoint-check) CHECK_ENDS=false; shift ;;
    --no-verify) VERIFY=false; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; GARGS=("$@"); break ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
# The terms: OLD is the ancestor end, NEW the descendant; FAIL is the end where
# the target failure reproduces (calibrated there). A step exits 0 for OLD, 1 for NEW.
if $FIND_FIX; then
    [[ -z $GOOD && -z $BAD ]] || die "--find-fix takes --broken REV and --fixed REV, not --good/--bad"
    [[ -n $BROKEN && -n $FIXED ]] || die "give --broken REV and --fixed REV"
    OLD=$BROKEN NEW=$FIXED OLD_TERM=broken NEW_TERM=fixed FAIL_TERM=broken CLEAN_TERM=fixed MODE=--bisect=fix
else
    [[ -z $BROKEN && -z $FIXED ]] || die "--broken and --fixed need --find-fix"
    [[ -n $GOOD && -n $BAD ]] || die "give --good REV and --bad REV (or --find-fix --broken REV --fixed REV)"
    OLD=$GOOD NEW=$BAD OLD_TERM=good NEW_TERM=bad FAIL_TERM=bad CLEAN_TERM=good MODE=--bisect
fi
[[ -n $CPYTHON ]] || die "give the CPython checkout with --cpython DIR"
[[ -n $SCENARIO ]] || die "give the scenario with --scenario S"
if [[ -n $JOBS && ! $JOBS =~ ^[1-9][0-9]*$ ]]; then die "--jobs needs a positive number"; fi
[[ -n $STEP && ${#FLAVOURS[@]} -gt 0 ]] && die "--step runs its own build: drop --free-threading/--debug/--tsan"
[[ -d $CPYTHON ]] || die "--cpython $CPYTHON: no such directory"
CPYTHON=$(cd "$CPYTHON" && pwd -P)
top=$(git -C "$CPYTHON" rev-parse --show-toplevel 2>/dev/null) || die "--cpython $CPYTHON is not a git checkout"
[[ $top == "$CPYTHON" ]] || die "--cpython $CPYTHON is inside the checkout $top: give its top level"
if [[ -z $STEP ]]; then
    [[ -f $CPYTHON/Include/Python.h && -f $CPYTHON/configure ]] || die "--cpython $CPYTHON is not a CPython checkout (no Include/Python.h and configure)"
    STEP_CMD=("$ROOT/scripts/bisect-step.sh" --cpython "$CPYTHON" "${FLAVOURS[@]}")
    [[ -n $JOBS ]] && STEP_CMD+=(--jobs "$JOBS")
    STEP_CMD+=(--)
else
    if [[ $STEP != /* && -e $STEP ]]; then STEP="$(cd "$(dirname "$STEP")" && pwd)/$(basename "$STEP")"; fi
    STEP_CMD=("$STEP")
fi
# Paths given to gilrace are the caller's: make them absolute before the steps run in the checkout.
for ((i = 0; i < ${#GARGS[@]}; i++)); do
    case ${GARGS[i]} in
    --rate-file | --json | --events | --junit | --artifacts)
        if ((i + 1 < ${#GARGS[@]})) && [[ ${GARGS[i + 1]} != /* ]]; then GARGS[i + 1]="$PWD/${GARGS[i + 1]}"; fi ;;
    --rate-file=[!/]* | --json=[!/]* | --events=[!/]* | --junit=[!/]* | --artifacts=[!/]*)
        GARGS[i]="${GARGS[i]%%=*}=$PWD/${GARGS[i]#*=}" ;;
    esac
done

has() { local a; for a in "${GARGS[@]}"; do [[ $a == "$1" || $a == "$1="* ]] && return 0; done; return 1; }
value_of() { # the value of option $1 in GARGS
    local i
    for ((i = 0; i < ${#GARGS[@]}; i++)); do
        [[ ${GARGS[i]} == "$1="* ]] && { echo "${GARGS[i]#*=}"; return; }
        [[ ${GARGS[i]} == "$1" ]] && { echo "${GARGS[i + 1]:-}"; return; }
    done
}
without() { # without OPTION...: GARGS without those options (each with its value)
    local i a skip_next=false drop
    KEPT=()
    for ((i = 0; i < ${#GARGS[@]}; i++)); do
        a=${GARGS[i]}
        $skip_next && { skip_next=false; continue; }
        for drop in "$@"; do
            [[ $a == "$drop" ]] && { skip_next=true; continue 2; }
            [[ $a == "$drop="* ]] && continue 2
        done
        KEPT+=("$a")
    done
}
for bad_opt in --bisect --calibrate --all --shard --expect --stop-after; do
    has $bad_opt && die "$bad_opt: this script sets up the bisect itself"
done
has --rate && has --rate-file && die "give --rate or --rate-file, not both"
# --confidence is the whole bisect's, wherever it was given.
if has --confidence; then
    [[ -z $CONFIDENCE ]] || die "give --confidence once"
    CONFIDENCE=$(value_of --confidence)
    without --confidence
    GARGS=("${KEPT[@]}")
fi
CONFIDENCE=${CONFIDENCE:-0.99}
awk -v c="$CONFIDENCE" 'BEGIN { exit !(c ~ /^(0?\.[0-9]+)$/ && c > 0 && c < 1) }' ||
    die "--confidence must be a fraction between 0 and 1, got '$CONFIDENCE'"

cd "$CPYTHON" || die "cannot enter $CPYTHON"
old_sha=$(git rev-parse --verify -q "$OLD^{commit}") || die "--$OLD_TERM $OLD: no such commit in $CPYTHON"
new_sha=$(git rev-parse --verify -q "$NEW^{commit}") || die "--$NEW_TERM $NEW: no such commit in $CPYTHON"
[[ $old_sha != "$new_sha" ]] || die "--$OLD_TERM and --$NEW_TERM are the same commit"
git merge-base --is-ancestor "$old_sha" "$new_sha" || die "--$OLD_TERM $OLD is not an ancestor of --$NEW_TERM $NEW"
[[ -z $(git status --porcelain --untracked-files=no) ]] || die "$CPYTHON has uncommitted changes: commit or stash them first"
git bisect log >/dev/null 2>&1 && die "$CPYTHON is already bisecting: finish it with 'git bisect reset'"
if $FIND_FIX; then fail_sha=$old_sha clean_sha=$new_sha; else fail_sha=$new_sha clean_sha=$old_sha; fi

# ---------------------------------------------------------------- the per-step confidence
# The verdicts that can be wrong are the clean ones (no target failure in N
# trials) and the calibration; a failing verdict saw the failure. Spread
# 1 - C over as many as the bisect is expected to make.
COMMITS=$(git rev-list --count "$old_sha..$new_sha")
will_calibrate=false
if ! has --rate && ! has -n && ! has --repeat; then
    rate_file=$(value_of --rate-file)
    [[ -n $rate_file && -f $rate_file ]] || will_calibrate=true
fi
UNCERTAIN=$(awk -v n="$COMMITS" 'BEGIN { s = 0; while (2 ^ s < n) s++; print s }')
$CHECK_ENDS && UNCERTAIN=$((UNCERTAIN + 1))
$will_calibrate && UNCERTAIN=$((UNCERTAIN + 1))
((UNCERTAIN > 0)) || UNCERTAIN=1
STEP_CONFIDENCE=$(awk -v c="$CONFIDENCE" -v k="$UNCERTAIN" 'BEGIN { printf "%.6g", 1 - (1 - c) / k }')
GARGS+=(--confidence "$STEP_CONFIDENCE")

# ---------------------------------------------------------------- run folder, restore
mkdir -p "$CACHE/bisect/runs" || die "cannot create $CACHE/bisect/runs"
RUN=$(mktemp -d "$CACHE/bisect/runs/$(date -u +%Y%m%dT%H%M%SZ)-$SCENARIO-XXXX") || die "cannot create a run folder"
: >"$RUN/verdicts.tsv"
ORIG_BRANCH=$(git symbolic-ref -q --short HEAD || true)
ORIG_SHA=$(git rev-parse HEAD)
BISECTING=false CHILD=""
# Steps run in their own session (setsid), waited for in the background, so
# that a signal reaches this script at once, and the step, with everything it
# started, is stopped before the checkout is touched again: a make still
# compiling would otherwise read files that restore() is rewriting.
stop_child() {
    [[ -n $CHILD ]] || return 0
    kill -TERM -- "-$CHILD" 2>/dev/null
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 -- "-$CHILD" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$CHILD" 2>/dev/null
    wait "$CHILD" 2>/dev/null
    CHILD=""
}
in_background() { # in_background CMD...: run it in its own session, wait, return its exit code
    setsid "$@" 3>&- &
    CHILD=$!
    wait "$CHILD"
    local rc=$?
    CHILD=""
    return $rc
}
# shellcheck disable=SC2317  # run by the EXIT trap
restore() {
    stop_child
    $BISECTING && git bisect reset >/dev/null 2>&1
    if [[ -n $ORIG_BRANCH ]]; then
        [[ $(git symbolic-ref -q --short HEAD) == "$ORIG_BRANCH" ]] || git checkout -q "$ORIG_BRANCH"
    else
        [[ $(git rev-parse HEAD) == "$ORIG_SHA" && -z $(git symbolic-ref -q HEAD) ]] || git checkout -q --detach "$ORIG_SHA"
    fi
}
# shellcheck disable=SC2317  # run by the signal traps
interrupted() {
    trap '' INT TERM HUP
    stop_child
    # to the script's own stdout: a trap runs inside the redirections of the
    # command it interrupted (a step's output goes to stderr)
    echo "gilrace-bisect: none reason=interrupted run=$RUN" >&3
    exit 130
}
exec 3>&1
trap restore EXIT
trap interrupted INT TERM HUP
log "run folder $RUN; will restore ${ORIG_BRANCH:-$ORIG_SHA} afterwards"
log "confidence $CONFIDENCE for the whole bisect of $COMMITS commits: $STEP_CONFIDENCE per step" \
    "($UNCERTAIN verdicts that could err)"

step() { # step LABEL [extra gilrace args...]: the step at the checked-out commit
    local label=$1
    shift
    in_background "$SELF" --internal-step "$RUN" "$label" -- "${STEP_CMD[@]}" "$SCENARIO" "$MODE" "${GARGS[@]}" "$@" >&2
}
at() { git checkout -q --detach "$1" || { log "cannot check out $1"; exit 1; }; }
last_verdict() { tail -n 1 "$RUN/verdicts.tsv" | cut -f5; }
give_up() { # give_up MESSAGE REASON: the bisect cannot go on; say why, show the table
    log "$1"
    print_table
    echo "gilrace-bisect: none reason=$(tr ' ' _ <<<"${2:-stopped}") run=$RUN"
    exit 1
}

print_table() {
    printf '\n%-15s %-12s %-10s %-4s %-6s %s\n' step commit verdict exit time evidence
    local label rev rc secs verdict others rest word evidence sig
    while IFS=$'\t' read -r label rev rc secs verdict others; do
        word="?" evidence=$verdict
        if [[ $verdict == gilrace-*:* ]]; then
            rest=${verdict#gilrace-*: }
            word=${rest%% *}
            evidence=${rest#"$word"}
            evidence=${evidence# }
            # a calibration line has no verdict word: "gilrace-calibration: rate=..."
            [[ $word == *=* ]] && word=calibrated evidence=$rest
        fi
        printf '%-15s %-12s %-10s %-4s %-6s %s  | %s\n' "$label" "${rev:0:12}" "$word" "$rc" "${secs}s" "$evidence" \
            "$(git log -1 --format=%s "$rev")"
        if [[ -n $others ]]; then
            while IFS= read -r sig; do printf '%-15s %-12s other: %s\n' "" "" "$sig"; done <<<"${others//;/$'\n'}"
        fi
    done <"$RUN/verdicts.tsv"
    # What a step costs (its build and its trials), for choosing the range and the confidence.
    cut -f4 "$RUN/verdicts.tsv" | sort -n | awk '{ t[NR] = $1; sum += $1 }
        END { if (NR) printf "%d steps in %ds, median %ds\n", NR, sum, NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'
    echo
}

# ---------------------------------------------------------------- 1. the rate
if $will_calibrate; then
    rate_file=$(value_of --rate-file)
    if [[ -z $rate_file ]]; then
        rate_file="$RUN/rate.txt"
        GARGS+=(--rate-file "$rate_file")
    fi
    log "rate: measuring it at the $FAIL_TERM revision ${fail_sha:0:12} (gilrace run --bisect --calibrate) into $rate_file"
    at "$fail_sha"
    step "$FAIL_TERM" --calibrate
    rc=$?
    ((rc == 130)) && interrupted
    ((rc == 0)) || give_up "could not measure the rate at the $FAIL_TERM revision: $(last_verdict)" "$FAIL_TERM revision did not calibrate"
    fail_checked=true
elif has --rate-file; then
    log "rate: from $(value_of --rate-file)"
fi

# ---------------------------------------------------------------- 2. the endpoints
# exit 0 = the old term, 1 = the new one, in both directions.
end_rc() { [[ $1 == "$OLD_TERM" ]] && echo 0 || echo 1; }
if $CHECK_ENDS; then
    for end in "$FAIL_TERM" "$CLEAN_TERM"; do
        [[ $end == "$FAIL_TERM" && -n ${fail_checked:-} ]] && continue
        if [[ $end == "$FAIL_TERM" ]]; then at "$fail_sha"; else at "$clean_sha"; fi
        step "$end"
        rc=$?
        ((rc == 130)) && interrupted
        ((rc == $(end_rc "$end"))) || give_up "the $end revision is not $end (exit $rc): $(last_verdict)" "$end revision is not $end"
    done
fi

# ---------------------------------------------------------------- 3. bisect
BISECTING=true
git bisect start --term-old="$OLD_TERM" --term-new="$NEW_TERM" "$new_sha" "$old_sha" >/dev/null ||
    give_up "git bisect start failed" "git bisect start failed"
# shellcheck disable=SC2016  # expanded by the inner bash
in_background bash -c 'git bisect run "$@" 2>&1 | tee "$0" >&2; exit "${PIPESTATUS[0]}"' "$RUN/bisect.log" \
    "$SELF" --internal-step "$RUN" step -- "${STEP_CMD[@]}" "$SCENARIO" "$MODE" "${GARGS[@]}"
bisect_rc=$?
((bisect_rc == 130)) && interrupted
git bisect log >"$RUN/bisect-log.txt" 2>/dev/null
git bisect reset >/dev/null 2>&1
BISECTING=false

first=$(sed -nE "s/^([0-9a-f]{40}) is the first $NEW_TERM commit\$/\\1/p" "$RUN/bisect.log" | tail -n 1)
if [[ -z $first ]]; then
    print_table
    candidates=$(sed -n "/The first $NEW_TERM commit could be any of:/,/^We cannot bisect more/p" "$RUN/bisect.log" |
        grep -E '^[0-9a-f]{40}$' | paste -sd, -)
    if [[ -n $candidates ]]; then
        echo "no single first $NEW_TERM commit: skipped commits leave these candidates: $candidates"
        echo "gilrace-bisect: none reason=ambiguous candidates=$candidates run=$RUN"
    else
        echo "git bisect run stopped (exit $bisect_rc); see $RUN/bisect.log"
        echo "gilrace-bisect: none reason=bisect_stopped run=$RUN"
    fi
    exit 1
fi

# ---------------------------------------------------------------- 4. confidence, verification
# The clean verdicts are the ones that could be wrong: good (exit 0) in a
# regression bisect, fixed (exit 1) with --find-fix.
clean_rc=$(end_rc "$CLEAN_TERM")
read -r uncertain risk < <(awk -F'\t' -v rc="$clean_rc" -v c="$STEP_CONFIDENCE" '
    $5 ~ /^gilrace-calibration: rate=/ || ($3 == rc && $5 ~ /^gilrace-verdict: /) { k++ }
    END { printf "%d %.4g\n", k, k * (1 - c) }' "$RUN/verdicts.tsv")
# As many digits as it takes not to round 1 - risk up to 1.
answer_confidence=$(awk -v r="$risk" 'BEGIN { d = 3; if (r > 0) d = int(-log(r) / log(10)) + 3; printf "%." d "g", 1 - r }')
needed=$(sed -nE 's/^.*gilrace-(verdict|calibration): .*needed=([0-9]+).*$/\2/p' "$RUN/verdicts.tsv" | sort -n | tail -n 1)
verify_word() { # the verdict word and counts of the last step: "bad:1/3"
    tail -n 1 "$RUN/verdicts.tsv" | cut -f5 |
        sed -nE 's/^gilrace-verdict: ([a-z]+) .*trials=([0-9]+) failures=([0-9]+).*/\1:\3\/\2/p; t; s/^gilrace-verdict: ([a-z]+).*/\1/p'
}
verify="" contradiction=""
if $VERIFY && [[ -n $needed ]]; then
    without -n --repeat
    vargs=("${KEPT[@]}" -n $((3 * needed)))
    parents=$(git rev-list --parents -n 1 "$first" | cut -d' ' -f2-)
    log "verification: $first and its parent(s) with $((3 * needed)) trials each"
    for rev in "$first" $parents; do
        at "$rev"
        if [[ $rev == "$first" ]]; then label="verify $NEW_TERM" want=1; else label="verify parent" want=0; fi
        in_background "$SELF" --internal-step "$RUN" "$label" -- "${STEP_CMD[@]}" "$SCENARIO" "$MODE" "${vargs[@]}" >&2
        rc=$?
        ((rc == 130)) && interrupted
        word=$(verify_word)
        verify+="${verify:+,}${word:-none}"
        if ((rc != 125 && rc != want)); then
            contradiction+="${contradiction:+; }${rev:0:12} is ${word%%:*}, not $([[ $want == 1 ]] && echo "$NEW_TERM" || echo "$OLD_TERM")"
        fi
    done
fi
print_table
if [[ -n $contradiction ]]; then
    echo "the bisect named $(git log -1 --format='%h %s' "$first"), but the verification contradicts it: $contradiction"
    echo "gilrace-bisect: none reason=verification_contradicts candidate=$first verify=$verify run=$RUN"
    exit 1
fi
echo "first $NEW_TERM commit: $(git log -1 --format='%H %s' "$first")"
if has -n || has --repeat; then
    # The trials were chosen, not derived from a rate: nothing bounds a clean verdict's error.
    answer_confidence=unknown
    echo "probability that it is wrong: unknown (-n chose the trials; give --rate or let it calibrate for a bound)"
else
    echo "probability that it is wrong: at most $risk ($uncertain verdicts that could err, each at most $(awk -v c="$STEP_CONFIDENCE" 'BEGIN { printf "%.3g", 1 - c }'))"
fi
[[ -n $verify ]] && echo "verification with $((3 * needed)) trials: $verify (the commit, then its parent(s))"
echo "gilrace-bisect: first-$NEW_TERM=$first confidence=$answer_confidence verify=${verify:-not_run} run=$RUN"
exit 0
