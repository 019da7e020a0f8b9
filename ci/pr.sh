#!/usr/bin/env bash
# The per-PR job: every scenario (naive variants left out: they fail on
# purpose) with a small count against one CPython flavour, writing the JSON
# summary, events, JUnit and artifacts that CI publishes.
#
#   ci/pr.sh [--flavour NAME | --gilrace BIN] [--out DIR] [-n N] [-- RUN_ARGS...]
#
# --flavour: system (default), 3.13, 3.13t, 3.13t-debug, 3.13t-tsan (see
# ci/lib/common.sh); gilrace is built against it. --gilrace: use that binary.
# -n: trials per scenario and variant (default 20). RUN_ARGS go to `gilrace run`
# instead of `--all -n N`.
# Exit: gilrace's: 0 nothing reproduced, 1 something did, 2 bad usage.
set -euo pipefail
PROG=pr.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

flavour=system gilrace="" out=gilrace-pr repeat=20 run_args=()
need() { [[ $# -ge 2 && -n $2 ]] || ci_die "option $1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case $1 in
  --flavour) need "$@"; flavour=$2; shift 2 ;;
  --gilrace) need "$@"; gilrace=$2; shift 2 ;;
  --out) need "$@"; out=$2; shift 2 ;;
  -n) need "$@"; repeat=$2; shift 2 ;;
  -h | --help) sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
  --) shift; run_args=("$@"); break ;;
  *) ci_die "unknown option '$1' (see --help)" ;;
  esac
done
[[ $repeat =~ ^[1-9][0-9]*$ ]] || ci_die "-n needs a positive number"
[[ -n $gilrace ]] || gilrace=$(ci_gilrace "$flavour")
[[ -x $gilrace ]] || ci_die "--gilrace $gilrace: not an executable"
[[ ${#run_args[@]} -gt 0 ]] || run_args=(--all -n "$repeat")

mkdir -p "$out"
"$gilrace" info
exec "$gilrace" run "${run_args[@]}" --json "$out/summary.json" --events "$out/events.jsonl" \
  --junit "$out/junit.xml" --artifacts "$out/artifacts"
