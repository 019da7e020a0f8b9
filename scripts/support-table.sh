#!/usr/bin/env bash
# "Does my build have this bug?": runs every scenario variant on one CPython
# build and prints what happened beside what gilrace expects there.
#
#   scripts/support-table.sh [--python PREFIX_OR_EXECUTABLE] [-n N] [--scenario NAME]...
#
# Each variant runs alone (`gilrace run S --variant V -n N -j 2 --json`), so its
# seconds to the first failure are its own. One markdown row per variant:
#   scenario/variant | result on this build | what `gilrace list` expects here | agrees
# where a result is "fails F/N (rate), first after S s, top signature", "passes 0/N"
# (marked when no trial reached the window, which proves nothing),
# "asserts F/N ..." (CPython's own assertion, debug builds), "skipped: why" (the
# variant skipped itself at run time) or "does not apply: why".
# Controls and py-script (it needs a script) are left out.
#
# Exit: 0 every row agrees with the expectation; 1 a row does not (a variant
# expected to pass failed, or one expected to fail passed all N trials);
# 2 bad usage.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$ROOT/scripts/lib/deps.sh"

python=/usr/bin/python3
trials=20
only=()
die() { echo "support-table.sh: error: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --python) [[ $# -ge 2 ]] || die "--python needs a prefix or an interpreter"; python=$2; shift 2 ;;
    -n) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "-n needs a positive number"; trials=$2; shift 2 ;;
    --scenario) [[ $# -ge 2 ]] || die "--scenario needs a name"; only+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

gilrace_ensure_packages "${GILRACE_DEPS[@]}"
gilrace=$("$ROOT/scripts/build-harness.sh" --python "$python" | tail -n 1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$gilrace" list --json >"$tmp/list.json"
"$gilrace" info --json >"$tmp/info.json"
# scenario<TAB>variant for every variant of every non-control scenario that applies.
/usr/bin/python3 - "$tmp/list.json" "${only[@]}" >"$tmp/rows.tsv" <<'EOF' || exit $?
import json, sys
scenarios = json.load(open(sys.argv[1]))
only = set(sys.argv[2:])
names = {s["name"] for s in scenarios}
for name in only - names:
    print(f"support-table.sh: error: unknown scenario '{name}'", file=sys.stderr)
    sys.exit(2)
for s in scenarios:
    if s["control"] or s["name"] == "py-script" or (only and s["name"] not in only):
        continue
    for v in s["variants"]:
        print(f"{s['name']}\t{v['name']}\t{'' if s['applies'] else s['reason']}")
EOF

build=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["version"], ("free-threaded" if d["free_threaded"] else "GIL") + (" debug" if d["debug"] else ""))' "$tmp/info.json")
echo "| scenario/variant | $build, -n $trials | expected by gilrace list | agrees |"
echo "| --- | --- | --- | --- |"
disagree=0
while IFS=$'\t' read -r scenario variant not_applicable; do
  if [[ -n $not_applicable ]]; then
    echo "| $scenario/$variant | does not apply: $not_applicable | | yes |"
    continue
  fi
  set +e
  "$gilrace" run "$scenario" --variant "$variant" -n "$trials" -j 2 --json "$tmp/run.json" >/dev/null 2>"$tmp/stderr"
  rc=$?
  set -e
  if [[ ! -s $tmp/run.json ]]; then
    echo "| $scenario/$variant | no report (exit $rc): $(head -c 200 "$tmp/stderr" | tr '\n|' ' /') | | no |"
    disagree=1
    continue
  fi
  row=$(/usr/bin/python3 - "$tmp/run.json" "$tmp/list.json" "$scenario" "$variant" <<'EOF'
import json, sys
run = json.load(open(sys.argv[1]))
listing = {s["name"]: s for s in json.load(open(sys.argv[2]))}
scenario, variant = sys.argv[3], sys.argv[4]
g = next(g for g in run["groups"] if g["scenario"] == scenario and g["variant"] == variant)
var = next(v for v in listing[scenario]["variants"] if v["name"] == variant)
why = var["expected_to_fail"]
expect = f"fails: {why}" if why else "passes"
outcomes = {k: v for k, v in g["outcomes"].items() if k != "pass"}
# What counts as reproduced is what `run --expect fail` counts: not error or timeout.
target = sum(n for k, n in outcomes.items() if k not in ("error", "timeout"))
if g.get("skip_reason") and g["trials"] == 0:
    result, agrees = f"skipped: {g['skip_reason']}", "yes"
elif g["failures"] == 0:
    result = f"passes 0/{g['trials']}"
    if g.get("window_not_reached"):
        result += " (window not reached: proves nothing)"
    agrees = "no" if why else "yes"
else:
    top = max(g["signatures"], key=lambda s: s["count"]) if g["signatures"] else None
    kind = "asserts" if outcomes.get("assertion", 0) * 2 > g["failures"] else "fails"
    counts = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
    first = g.get("first_failure_seconds")
    sig = top["signature"].replace("|", "/") if top else ""
    result = (f"{kind} {g['failures']}/{g['trials']} ({100 * g['failures'] / g['trials']:.0f}%; "
              f"{counts}), first after {first:.1f} s, `{sig}`")
    agrees = "yes" if why and target else "no"
print(f"| {scenario}/{variant} | {result} | {expect} | {agrees} |")
EOF
)
  echo "$row"
  [[ $row == *"| no |" ]] && disagree=1
  rm -f "$tmp/run.json"
done <"$tmp/rows.tsv"
exit $disagree
