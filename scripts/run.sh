#!/usr/bin/env bash
# The main job: install what is missing, build gilrace against the system
# python3 (or --python PREFIX_OR_EXECUTABLE), then run it.
#
#   scripts/run.sh                      # gilrace run --all, reports in gilrace-out/
#   scripts/run.sh list-union-repr -n 500 --json out.json
#   scripts/run.sh --python "$(scripts/build-cpython.sh --version 3.13 --free-threading | tail -1)"
#
# Any arguments after the optional --python are `gilrace run` arguments.
# The exit code is gilrace's (0 nothing reproduced, 1 something did, 2 bad usage).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$ROOT/scripts/lib/deps.sh"

python=/usr/bin/python3
if [[ ${1:-} == --python ]]; then
  [[ $# -ge 2 ]] || { echo "run.sh: error: --python needs a prefix or an interpreter" >&2; exit 2; }
  python=$2
  shift 2
fi

gilrace_ensure_packages "${GILRACE_DEPS[@]}"
gilrace=$("$ROOT/scripts/build-harness.sh" --python "$python" --only-gilrace | tail -n 1)

if [[ $# -eq 0 ]]; then
  out="$ROOT/gilrace-out"
  mkdir -p "$out"
  set -- --all --json "$out/summary.json" --events "$out/events.jsonl" --junit "$out/junit.xml" \
    --artifacts "$out/artifacts"
fi
exec "$gilrace" run "$@"
