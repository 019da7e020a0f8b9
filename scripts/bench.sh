#!/usr/bin/env bash
# Speed and memory figures, measured (never asserted in unit tests: these
# machines are shared and noisy). Prints each figure with its goal and
# whether it was met; exits 1 if a goal was missed.
#
#   scripts/bench.sh [--python PREFIX_OR_EXECUTABLE] [--runs N] [SECTION...]
#
# Sections: engine (default), scenarios. The engine section measures:
#   - per-trial cost of `gilrace run selftest-pass -n 200 -j 1` against 200
#     runs of `python3 -I -S -c pass` of the same CPython (goal <= 1.15x);
#   - -j 2 throughput against -j 1 (goal >= 1.8x on a 2-core machine);
#   - the supervisor's own peak RSS for selftest-flood -n 20 and
#     selftest-pass -n 20000 (goal < 50 MB each);
#   - selftest-deadlock --stall 2s: wall time to the report, stacks included (goal < 5 s).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$ROOT/scripts/lib/deps.sh"

python=/usr/bin/python3
runs=5
sections=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --python) python=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h|--help) sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) sections+=("$1"); shift ;;
  esac
done
[[ ${#sections[@]} -gt 0 ]] || sections=(engine)

gilrace_ensure_packages "${GILRACE_DEPS[@]}"
gilrace=$("$ROOT/scripts/build-harness.sh" --python "$python" | tail -n 1)
[[ -d $python ]] && python="$python/bin/python3"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
missed=0

# figure NAME VALUE GOAL-EXPRESSION(awk, v = value) GOAL-TEXT
figure() {
  local ok
  ok=$(awk -v v="$2" "BEGIN { print ($3) ? \"met\" : \"MISSED\" }")
  printf '%-58s %12s   goal %-10s %s\n' "$1" "$2" "$4" "$ok"
  [[ $ok == met ]] || missed=1
}

json() { "$python" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

mean_of() { # hyperfine json, command index
  json "$1" "d['results'][$2]['mean']"
}

engine() {
  echo "== engine: $("$gilrace" info --json | "$python" -c 'import json,sys; d=json.load(sys.stdin); print(d["version"], "free-threaded" if d["free_threaded"] else "GIL")')"
  hyperfine --runs "$runs" --warmup 1 --export-json "$tmp/cost.json" -N \
    "$gilrace run selftest-pass -n 200 -j 1 --seed 1" \
    "bash -c 'for i in \$(seq 200); do $python -I -S -c pass; done'" >/dev/null
  local g p
  g=$(mean_of "$tmp/cost.json" 0)
  p=$(mean_of "$tmp/cost.json" 1)
  figure "per-trial cost, gilrace ms (200 trials, -j 1)" "$(awk -v g="$g" 'BEGIN{printf "%.2f", g*1000/200}')" "1" "-"
  figure "per-trial cost, python3 -I -S -c pass ms" "$(awk -v p="$p" 'BEGIN{printf "%.2f", p*1000/200}')" "1" "-"
  figure "per-trial cost ratio gilrace / python3" "$(awk -v g="$g" -v p="$p" 'BEGIN{printf "%.3f", g/p}')" "v <= 1.15" "<= 1.15"

  hyperfine --runs "$runs" --warmup 1 --export-json "$tmp/jobs.json" -N \
    "$gilrace run selftest-pass -n 200 -j 1 --seed 1" \
    "$gilrace run selftest-pass -n 200 -j 2 --seed 1" >/dev/null
  local j1 j2
  j1=$(mean_of "$tmp/jobs.json" 0)
  j2=$(mean_of "$tmp/jobs.json" 1)
  figure "throughput -j 2 / -j 1 ($(nproc) CPUs)" "$(awk -v a="$j1" -v b="$j2" 'BEGIN{printf "%.2f", a/b}')" "v >= 1.8" ">= 1.8"

  "$gilrace" run selftest-flood -n 20 -j 2 --json "$tmp/flood.json" >/dev/null
  figure "supervisor peak RSS MB, selftest-flood -n 20 (100 MB x2 each)" \
    "$(json "$tmp/flood.json" "round(d['run']['supervisor_peak_rss_kb']/1024, 1)")" "v < 50" "< 50"
  "$gilrace" run selftest-pass -n 20000 -j 2 --json "$tmp/many.json" --events "$tmp/many.jsonl" >/dev/null
  figure "supervisor peak RSS MB, selftest-pass -n 20000" \
    "$(json "$tmp/many.json" "round(d['run']['supervisor_peak_rss_kb']/1024, 1)")" "v < 50" "< 50"
  figure "selftest-pass -n 20000 -j 2, trials per second" \
    "$(json "$tmp/many.json" "round(d['totals']['trials']/d['run']['wall_seconds'], 1)")" "1" "-"

  local start end
  start=$(date +%s.%N)
  "$gilrace" run selftest-deadlock -n 1 --stall 2s --json "$tmp/dl.json" --artifacts "$tmp/art" >/dev/null || true
  end=$(date +%s.%N)
  figure "selftest-deadlock --stall 2s: seconds to report (with stacks)" \
    "$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.2f", b-a}')" "v < 5" "< 5"
  figure "  of which stall detection + stack capture + kill" \
    "$(json "$tmp/dl.json" "round(d['run']['wall_seconds'], 2)")" "1" "-"
}

for s in "${sections[@]}"; do
  case $s in
    engine) engine ;;
    *) echo "bench.sh: unknown section '$s'" >&2; exit 2 ;;
  esac
done
exit $missed
