#!/usr/bin/env bash
# One shard of the nightly stress run: its share of every scenario's trials
# (trial indices i with i mod N == K) within a time budget, against one
# CPython flavour. Writes into OUT/FLAVOUR/:
#   shard-K-of-N.json  the JSON summary (what ci/nightly-merge.sh merges)
#   shard-K-of-N.xml   JUnit, shard-K-of-N.events.jsonl, artifacts-K/
#
#   ci/nightly-shard.sh --shard K/N --out DIR [--flavour NAME | --gilrace BIN]
#                       [--seed S] [--duration D] [-- RUN_ARGS...]
#
# --flavour: system (default), 3.13, 3.13t, 3.13t-debug, 3.13t-tsan (see
# ci/lib/common.sh); gilrace is built against it. With --gilrace, --flavour
# only names the output folder.
# --seed: the SAME for every shard of one night (the workflows pass their run
# id; any text is hashed to a number); default: today's date, UTC.
# --duration: time budget of this shard (default 20m). RUN_ARGS replace the
# default `--all --duration D`.
# Exit: 0 when the shard ran, failures or not (the merge judges them against
# the baseline); 2 bad usage; 130 interrupted (its partial summary is
# written); anything else: what gilrace returned.
set -euo pipefail
PROG=nightly-shard.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

shard="" out="" flavour=system gilrace="" seed="" duration=20m run_args=()
need() { [[ $# -ge 2 && -n $2 ]] || ci_die "option $1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case $1 in
  --shard) need "$@"; shard=$2; shift 2 ;;
  --out) need "$@"; out=$2; shift 2 ;;
  --flavour) need "$@"; flavour=$2; shift 2 ;;
  --gilrace) need "$@"; gilrace=$2; shift 2 ;;
  --seed) need "$@"; seed=$2; shift 2 ;;
  --duration) need "$@"; duration=$2; shift 2 ;;
  -h | --help) sed -n '2,22s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
  --) shift; run_args=("$@"); break ;;
  *) ci_die "unknown option '$1' (see --help)" ;;
  esac
done
[[ $shard =~ ^([0-9]+)/([0-9]+)$ ]] || ci_die "--shard K/N is required (e.g. 3/8)"
k=${BASH_REMATCH[1]} n=${BASH_REMATCH[2]}
((k < n)) || ci_die "--shard $shard: K must be less than N"
[[ -n $out ]] || ci_die "--out DIR is required"
[[ $flavour =~ ^[A-Za-z0-9._-]+$ ]] || ci_die "--flavour: letters, digits, . _ - only"
[[ -n $seed ]] || seed=$(date -u +%Y%m%d)
# A run id is a number already; anything else (a Kubernetes Job's uid) is hashed.
[[ $seed =~ ^[0-9]{1,18}$ ]] || seed=$(printf '%s' "$seed" | cksum | cut -d' ' -f1)
[[ -n $gilrace ]] || gilrace=$(ci_gilrace "$flavour")
[[ -x $gilrace ]] || ci_die "--gilrace $gilrace: not an executable"
[[ ${#run_args[@]} -gt 0 ]] || run_args=(--all --duration "$duration")

dir="$out/$flavour"
mkdir -p "$dir"
base="$dir/shard-$k-of-$n"
ci_log "flavour $flavour, shard $k/$n, seed $seed: $gilrace run ${run_args[*]}"
set +e
"$gilrace" run "${run_args[@]}" --shard "$k/$n" --seed "$seed" --json "$base.json" \
  --events "$base.events.jsonl" --junit "$base.xml" --artifacts "$dir/artifacts-$k"
rc=$?
set -e
case $rc in
0 | 1) exit 0 ;; # the merge decides what is new
*) exit "$rc" ;;
esac
