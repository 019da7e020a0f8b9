#!/usr/bin/env bash
# The nightly run's last step: merge each flavour's shards, render the HTML
# report (with the trend over earlier nights), and fail on failure signatures
# the baseline does not explain.
#
#   ci/nightly-merge.sh --in DIR --out DIR [--gilrace BIN] [--baseline FILE]
#                       [--history DIR] [--keep N] [--title TEXT]
#
# --in: the shards' output as ci/nightly-shard.sh wrote it and CI brought it
#   back: DIR/FLAVOUR/shard-K-of-N.json (shard JSONs straight in DIR count as
#   one flavour, "nightly").
# --out: gets FLAVOUR.json (merged summary), FLAVOUR.junit.xml and report.html.
# --gilrace: the binary to merge with (default: built against the system python3;
#   any build reads any report).
# --baseline: known signatures (gilrace baseline); without it every failure is new.
# --history: a folder kept between nights (a CI cache): each merged summary is
#   copied there and the report shows the trend over them; the newest --keep
#   (default 30) per flavour are kept.
# Exit: 0 nothing new; 1 a failure signature not in the baseline; 2 bad usage,
# no shard found, or a merge refused (different builds, a shard given twice).
set -euo pipefail
PROG=nightly-merge.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

in="" out="" gilrace="" baseline="" history="" keep=30 title="gilrace nightly stress"
need() { [[ $# -ge 2 && -n $2 ]] || ci_die "option $1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case $1 in
  --in) need "$@"; in=$2; shift 2 ;;
  --out) need "$@"; out=$2; shift 2 ;;
  --gilrace) need "$@"; gilrace=$2; shift 2 ;;
  --baseline) need "$@"; baseline=$2; shift 2 ;;
  --history) need "$@"; history=$2; shift 2 ;;
  --keep) need "$@"; keep=$2; shift 2 ;;
  --title) need "$@"; title=$2; shift 2 ;;
  -h | --help) sed -n '2,22s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) ci_die "unknown option '$1' (see --help)" ;;
  esac
done
[[ -n $in && -d $in ]] || ci_die "--in DIR is required and must exist"
[[ -n $out ]] || ci_die "--out DIR is required"
[[ $keep =~ ^[1-9][0-9]*$ ]] || ci_die "--keep needs a positive number"
[[ -z $baseline || -f $baseline ]] || ci_die "--baseline $baseline: no such file"
[[ -n $gilrace ]] || gilrace=$(ci_gilrace system)
[[ -x $gilrace ]] || ci_die "--gilrace $gilrace: not an executable"
mkdir -p "$out"

# Shard summaries by flavour (the folder they are in).
declare -A files=()
while IFS= read -r -d '' f; do
  parent=$(dirname "$f")
  flavour=nightly
  [[ $parent -ef $in ]] || flavour=$(basename "$parent")
  files[$flavour]+="$f"$'\n'
done < <(find "$in" -name 'shard-*-of-*.json' -type f -print0 | sort -z)
[[ ${#files[@]} -gt 0 ]] || ci_die "no shard-K-of-N.json under $in"

rc=0
merged=()
stamp=$(date -u +%Y%m%dT%H%M%SZ)
for flavour in $(printf '%s\n' "${!files[@]}" | sort); do
  mapfile -t shards < <(printf '%s' "${files[$flavour]}")
  args=(merge "${shards[@]}" -o "$out/$flavour.json" --junit "$out/$flavour.junit.xml")
  [[ -z $baseline ]] || args+=(--baseline "$baseline")
  ci_log "$flavour: merging ${#shards[@]} shard(s)"
  set +e
  "$gilrace" "${args[@]}"
  m=$?
  set -e
  case $m in
  0 | 1) merged+=("$out/$flavour.json") ;;
  *) ci_log "$flavour: the merge was refused (exit $m)" ;;
  esac
  ((m > rc)) && rc=$m
  if [[ -n $history && ($m == 0 || $m == 1) ]]; then
    mkdir -p "$history"
    cp "$out/$flavour.json" "$history/$flavour-$stamp.json"
    # Keep the newest $keep of this flavour (the names sort by time).
    mapfile -t old < <(find "$history" -maxdepth 1 -name "$flavour-[0-9]*.json" | sort -r |
      tail -n +"$((keep + 1))")
    [[ ${#old[@]} -eq 0 ]] || rm -f "${old[@]}"
  fi
done

if [[ ${#merged[@]} -gt 0 ]]; then
  if [[ -n $history ]]; then
    mapfile -t pages < <(find "$history" -maxdepth 1 -name '*.json' | sort)
  else
    pages=("${merged[@]}")
  fi
  "$gilrace" report "${pages[@]}" --html "$out/report.html" --title "$title"
fi
case $rc in
0) ci_log "nothing new" ;;
1) ci_log "failure signatures not in the baseline: see $out/report.html" ;;
esac
exit "$rc"
