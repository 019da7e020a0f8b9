#!/usr/bin/env bash
# Bisect a CPython regression in one command: which commit made SCENARIO fail?
#
#   scripts/bisect-cpython.sh --cpython DIR --good REV --bad REV --scenario S
#       [--free-threading] [--debug] [--tsan] [--jobs N] [--no-endpoint-check]
#       [-- gilrace run options: --rate P | --rate-file F, --match M, --other skip|good|bad,
#           --confidence C, --variant V, --param k=v, -j N, ...]
#
#  1. the rate: --rate P as given; or --rate-file F when F exists; otherwise it
#     is measured at the bad revision (`gilrace run --bisect --calibrate`, into
#     F or into the run folder) and every step reads it;
#  2. the endpoints: BAD must be bad and GOOD good (else it stops and says so;
#     --no-endpoint-check skips this, not the calibration);
#  3. `git bisect start BAD GOOD` and `git bisect run` with scripts/bisect-step.sh
#     (build the commit incrementally, gilrace against it, `gilrace run --bisect`);
#  4. the first bad commit and a table of every step's verdict.
# The checkout is left as it was found: `git bisect reset`, then the original
# branch (or detached commit) checked out again, also when interrupted. It must
# have no uncommitted changes to tracked files and no bisect in progress.
#
#   --step CMD   run `CMD SCENARIO [gilrace run options]` as the step instead of
#                bisect-step.sh (a repository that needs no CPython build, or a
#                test); it must exit 0/1/125 and print gilrace's verdict line.
#
# Output: the steps' output on stderr; the table, the first bad commit and,
# last, "gilrace-bisect: first-bad=<sha>" (or "gilrace-bisect: none ...") on
# stdout. Everything is kept in ${GILRACE_CACHE:-~/.cache/gilrace}/bisect/runs/<id>/.
# Exit: 0 the first bad commit was found; 1 it was not (an endpoint is not what
# it should be, the calibration saw no target failure, skipped commits left it
# ambiguous, a step failed); 2 bad usage; 130 interrupted.
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
# RUN_DIR/verdicts.tsv, and exits 0/1/125, or 128 (stop the bisect) for
# anything else a step should not return.
if [[ ${1:-} == --internal-step ]]; then
    run_dir=$2 label=$3
    shift 4
    rev=$(git rev-parse HEAD)
    n=$(($(wc -l <"$run_dir/verdicts.tsv") + 1))
    [[ $label == step ]] && label="step $(($(grep -c '^step ' "$run_dir/verdicts.tsv") + 1))"
    out="$run_dir/step-$n-${rev:0:12}.out"
    printf '\n%s: === %s: %s %s\n' "$PROG" "$label" "${rev:0:12}" "$(git log -1 --format=%s "$rev")" >&2
    "$@" | tee "$out"
    rc=${PIPESTATUS[0]}
    verdict=$(grep -E '^gilrace-(verdict|calibration):' "$out" | tail -n 1)
    [[ -n $verdict ]] || verdict="(no verdict line)"
    printf '%s\t%s\t%s\t%s\n' "$label" "$rev" "$rc" "$verdict" >>"$run_dir/verdicts.tsv"
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
CPYTHON="" GOOD="" BAD="" SCENARIO="" JOBS="" STEP="" CHECK_ENDS=true
FLAVOURS=() GARGS=()
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
    --scenario) need_arg "$@"; SCENARIO=$2; shift 2 ;;
    --free-threading | --ft | --disable-gil) FLAVOURS+=(--free-threading); shift ;;
    --debug | --pydebug) FLAVOURS+=(--debug); shift ;;
    --tsan | --thread-sanitizer) FLAVOURS+=(--tsan); shift ;;
    --jobs | -j) need_arg "$@"; JOBS=$2; shift 2 ;;
    --step) need_arg "$@"; STEP=$2; shift 2 ;;
    --no-endpoint-check) CHECK_ENDS=false; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; GARGS=("$@"); break ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
[[ -n $CPYTHON ]] || die "give the CPython checkout with --cpython DIR"
[[ -n $GOOD && -n $BAD ]] || die "give --good REV and --bad REV"
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
cd "$CPYTHON" || die "cannot enter $CPYTHON"
good_sha=$(git rev-parse --verify -q "$GOOD^{commit}") || die "--good $GOOD: no such commit in $CPYTHON"
bad_sha=$(git rev-parse --verify -q "$BAD^{commit}") || die "--bad $BAD: no such commit in $CPYTHON"
[[ $good_sha != "$bad_sha" ]] || die "--good and --bad are the same commit"
git merge-base --is-ancestor "$good_sha" "$bad_sha" || die "--good $GOOD is not an ancestor of --bad $BAD"
[[ -z $(git status --porcelain --untracked-files=no) ]] || die "$CPYTHON has uncommitted changes: commit or stash them first"
git bisect log >/dev/null 2>&1 && die "$CPYTHON is already bisecting: finish it with 'git bisect reset'"

has() { local a; for a in "${GARGS[@]}"; do [[ $a == "$1" || $a == "$1="* ]] && return 0; done; return 1; }
value_of() { # the value of option $1 in GARGS
    local i
    for ((i = 0; i < ${#GARGS[@]}; i++)); do
        [[ ${GARGS[i]} == "$1="* ]] && { echo "${GARGS[i]#*=}"; return; }
        [[ ${GARGS[i]} == "$1" ]] && { echo "${GARGS[i + 1]:-}"; return; }
    done
}
for bad_opt in --bisect --calibrate --all --shard --expect --stop-after; do
    has $bad_opt && die "$bad_opt: this script sets up the bisect itself"
done
has --rate && has --rate-file && die "give --rate or --rate-file, not both"

# ---------------------------------------------------------------- run folder, restore
mkdir -p "$CACHE/bisect/runs" || die "cannot create $CACHE/bisect/runs"
RUN=$(mktemp -d "$CACHE/bisect/runs/$(date -u +%Y%m%dT%H%M%SZ)-$SCENARIO-XXXX") || die "cannot create a run folder"
: >"$RUN/verdicts.tsv"
ORIG_BRANCH=$(git symbolic-ref -q --short HEAD || true)
ORIG_SHA=$(git rev-parse HEAD)
BISECTING=false
# shellcheck disable=SC2317  # run by the EXIT trap
restore() {
    $BISECTING && git bisect reset >/dev/null 2>&1
    if [[ -n $ORIG_BRANCH ]]; then
        [[ $(git symbolic-ref -q --short HEAD) == "$ORIG_BRANCH" ]] || git checkout -q "$ORIG_BRANCH"
    else
        [[ $(git rev-parse HEAD) == "$ORIG_SHA" && -z $(git symbolic-ref -q HEAD) ]] || git checkout -q --detach "$ORIG_SHA"
    fi
}
trap restore EXIT
trap 'exit 130' INT TERM HUP
log "run folder $RUN; will restore ${ORIG_BRANCH:-$ORIG_SHA} afterwards"

step() { # step LABEL [extra gilrace args...]: the step at the checked-out commit
    local label=$1
    shift
    "$SELF" --internal-step "$RUN" "$label" -- "${STEP_CMD[@]}" "$SCENARIO" "${GARGS[@]}" "$@" >&2
}
at() { git checkout -q --detach "$1" || { log "cannot check out $1"; exit 1; }; }
last_verdict() { tail -n 1 "$RUN/verdicts.tsv" | cut -f4; }
give_up() { # give_up MESSAGE REASON: the bisect cannot go on; say why, show the table
    log "$1"
    print_table
    echo "gilrace-bisect: none reason=$(tr ' ' _ <<<"${2:-stopped}") run=$RUN"
    exit 1
}

print_table() {
    printf '\n%-8s %-12s %-10s %-4s %s\n' step commit verdict exit evidence
    local label rev rc verdict rest word evidence
    while IFS=$'\t' read -r label rev rc verdict; do
        word="?" evidence=$verdict
        if [[ $verdict == gilrace-*:* ]]; then
            rest=${verdict#gilrace-*: }
            word=${rest%% *}
            evidence=${rest#"$word"}
            evidence=${evidence# }
            # a calibration line has no verdict word: "gilrace-calibration: rate=..."
            [[ $word == *=* ]] && word=calibrated evidence=$rest
        fi
        printf '%-8s %-12s %-10s %-4s %s  | %s\n' "$label" "${rev:0:12}" "$word" "$rc" "$evidence" \
            "$(git log -1 --format=%s "$rev")"
    done <"$RUN/verdicts.tsv"
    echo
}

# ---------------------------------------------------------------- 1. the rate
if ! has --rate && ! has -n && ! has --repeat; then
    rate_file=$(value_of --rate-file)
    if [[ -n $rate_file && -f $rate_file ]]; then
        log "rate: from $rate_file"
    else
        if [[ -z $rate_file ]]; then
            rate_file="$RUN/rate.txt"
            GARGS+=(--rate-file "$rate_file")
        fi
        log "rate: measuring it at the bad revision $BAD (gilrace run --bisect --calibrate) into $rate_file"
        at "$bad_sha"
        step bad --calibrate
        rc=$?
        ((rc == 130)) && exit 130
        ((rc == 0)) || give_up "could not measure the rate at the bad revision $BAD: $(last_verdict)" "bad revision did not calibrate"
        bad_checked=true
    fi
fi

# ---------------------------------------------------------------- 2. the endpoints
if $CHECK_ENDS; then
    if [[ -z ${bad_checked:-} ]]; then
        at "$bad_sha"
        step bad
        rc=$?
        ((rc == 130)) && exit 130
        ((rc == 1)) || give_up "the bad revision $BAD is not bad (exit $rc): $(last_verdict)" "bad revision is not bad"
    fi
    at "$good_sha"
    step good
    rc=$?
    ((rc == 130)) && exit 130
    ((rc == 0)) || give_up "the good revision $GOOD is not good (exit $rc): $(last_verdict)" "good revision is not good"
fi

# ---------------------------------------------------------------- 3. bisect
BISECTING=true
git bisect start "$bad_sha" "$good_sha" >/dev/null || give_up "git bisect start failed" "git bisect start failed"
git bisect run "$SELF" --internal-step "$RUN" step -- "${STEP_CMD[@]}" "$SCENARIO" "${GARGS[@]}" 2>&1 |
    tee "$RUN/bisect.log" >&2
bisect_rc=${PIPESTATUS[0]}
git bisect log >"$RUN/bisect-log.txt" 2>/dev/null

# ---------------------------------------------------------------- 4. result
first=$(sed -nE 's/^([0-9a-f]{40}) is the first bad commit$/\1/p' "$RUN/bisect.log" | tail -n 1)
print_table
if [[ -n $first ]]; then
    echo "first bad commit: $(git log -1 --format='%H %s' "$first")"
    echo "gilrace-bisect: first-bad=$first run=$RUN"
    exit 0
fi
candidates=$(sed -n '/The first bad commit could be any of:/,/^We cannot bisect more/p' "$RUN/bisect.log" | grep -E '^[0-9a-f]{40}$' | paste -sd, -)
if [[ -n $candidates ]]; then
    echo "no single first bad commit: skipped commits leave these candidates: $candidates"
    echo "gilrace-bisect: none reason=ambiguous candidates=$candidates run=$RUN"
else
    echo "git bisect run stopped (exit $bisect_rc); see $RUN/bisect.log"
    echo "gilrace-bisect: none reason=bisect_stopped run=$RUN"
fi
exit 1
