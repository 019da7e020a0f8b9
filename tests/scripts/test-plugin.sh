#!/usr/bin/env bash
# Scenario plugins end to end, as a user outside the checkout sees them:
#
#   tests/scripts/test-plugin.sh BUILD_DIR [OTHER_GILRACE]
#
# installs the gilrace of BUILD_DIR (`cmake --install`) to a temporary prefix, builds
# examples/out-of-tree against it with plain cmake from a temporary folder, and runs its
# scenario through --plugin and GILRACE_PLUGIN_PATH: the naive variant must reproduce, the
# fixed one pass, the replay line name the plugin. OTHER_GILRACE, a gilrace built against
# another CPython, must refuse the plugin with one line and exit 2 (without it those checks
# are skipped). Prints "ok", "FAIL" or "skip" per check and "N passed, M failed, K skipped"
# last; exit 0 when nothing failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [[ $# -lt 1 || ! -f $1/CMakeCache.txt ]]; then
    echo "usage: test-plugin.sh BUILD_DIR [OTHER_GILRACE]" >&2
    exit 2
fi
BUILD_DIR=$(cd "$1" && pwd)
OTHER=${2:+$(realpath "$2")}

finish() {
    echo "$passed passed, $failed failed, $skipped skipped"
    ((failed == 0))
    exit
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$ROOT/tests/scripts/checks.sh"
cd "$TMP" # outside the checkout, as a user's project is
# expect_usage_error "description" NEEDLE CMD...: exit 2, one stderr line containing NEEDLE
expect_usage_error() {
    local d=$1 needle=$2
    shift 2
    run "$@"
    if [[ $RC == 2 && $NERR == 1 && $ERR == *"$needle"* ]]; then
        ok "$d -> exit 2: $ERR"
    else
        bad "$d: expected exit 2 and one stderr line with '$needle'; got exit $RC, stderr ($NERR lines): $ERR"
    fi
}

# ------------------------------------------------------------------ install and build
PREFIX=$TMP/prefix
run cmake --install "$BUILD_DIR" --prefix "$PREFIX"
if [[ $RC == 0 && -x $PREFIX/bin/gilrace && -f $PREFIX/include/gilrace/scenario.h &&
    -f $PREFIX/lib/cmake/gilrace/gilraceConfig.cmake ]]; then
    ok "cmake --install puts bin/gilrace, include/gilrace and lib/cmake/gilrace into the prefix"
else
    bad "cmake --install (exit $RC): $ERR"
    finish
fi
if [[ -e $PREFIX/include/harness || -n $(find "$PREFIX/include" -name 'supervisor.h') ]]; then
    bad "the installed headers include the engine's internals"
else
    ok "only the public headers are installed ($(find "$PREFIX/include" -type f | wc -l) files)"
fi
GILRACE=$PREFIX/bin/gilrace

run cmake -S "$ROOT/examples/out-of-tree" -B "$TMP/example" -DCMAKE_PREFIX_PATH="$PREFIX"
if [[ $RC == 0 ]]; then ok "examples/out-of-tree configures with find_package(gilrace)"; else bad "configure: $ERR"; fi
run cmake --build "$TMP/example"
PLUGIN=$TMP/example/example_scenarios.so
if [[ $RC == 0 && -f $PLUGIN ]]; then
    ok "gilrace_add_scenarios builds the plugin"
else
    bad "build (exit $RC): $OUT $ERR"
    finish
fi

# ------------------------------------------------------------------ the plugin's scenario
run "$GILRACE" list --plugin "$PLUGIN"
if [[ $RC == 0 && $OUT == *static-ref-exit* && $OUT == *"plugin: $PLUGIN"* ]]; then
    ok "list --plugin shows static-ref-exit with the plugin's path"
else
    bad "list --plugin (exit $RC): $OUT $ERR"
fi
run "$GILRACE" list --json --plugin "$PLUGIN"
if [[ $(python3 -c 'import json,sys; print([s.get("plugin") for s in json.load(open(sys.argv[1])) if s["name"] == "static-ref-exit"])' "$TMP/out" 2>&1) == "['$PLUGIN']" ]]; then
    ok "list --json names the plugin"
else
    bad "list --json: no plugin field for static-ref-exit"
fi

run "$GILRACE" run --plugin "$PLUGIN" static-ref-exit --variant all -n 10 -j 2 --seed 7 --json "$TMP/all.json"
naive=$(python3 -c 'import json,sys
g = {x["variant"]: x for x in json.load(open(sys.argv[1]))["groups"]}
print(g["naive"]["failures"], g["fixed"]["failures"], g["fixed"]["trials"], g["naive"].get("plugin"),
      g["fixed"]["probes"]["static_ended_after_finalize"]["trials_hit"],
      "|".join(s["outcome"] + ": " + s["signature"] for s in g["naive"]["signatures"]))' "$TMP/all.json" 2>&1)
# The naive variant's one signature: the destructor's PyGILState_Ensure after finalisation.
want_sig="crash: SIGSEGV in * < PyGILState_Ensure < *StaticRef::~StaticRef"
if [[ $RC == 1 && ${naive%% crash:*} == "10 0 10 $PLUGIN 10" && ${naive#* $PLUGIN 10 } == $want_sig ]]; then
    ok "run --variant all: naive fails 10/10 (${naive#* $PLUGIN 10 }), fixed passes 10/10 with its window probe hit, exit 1"
else
    bad "run --variant all: expected exit 1, '10 0 10 $PLUGIN 10' (naive failures, fixed failures, fixed trials, plugin, fixed window trials) and one signature like '$want_sig'; got exit $RC, '$naive'"
fi
replay=$(grep -m1 -o 'gilrace replay static-ref-exit[^"]*' "$TMP/all.json")
if [[ $replay == *"--plugin $PLUGIN"* ]]; then
    ok "the replay line names the plugin: $replay"
else
    bad "replay line without --plugin: $replay"
fi
run "$GILRACE" replay static-ref-exit --variant naive --seed 7 --trial 0 --plugin "$PLUGIN"
if [[ $RC == 139 && $ERR == *"SIGSEGV (signal 11)"* ]]; then
    ok "replay of the naive trial segfaults again in the foreground (exit $RC, the crash handler's SIGSEGV line)"
else
    bad "replay of the naive trial: expected exit 139 and a SIGSEGV line; got exit $RC"
fi
run "$GILRACE" run --plugin "$PLUGIN" static-ref-exit --variant naive -n 3 --expect fail \
    --match 'PyGILState_Ensure < .*StaticRef'
if [[ $RC == 0 ]]; then ok "run --variant naive --expect fail --match <its signature> exits 0"; else bad "naive --expect fail: exit $RC $ERR"; fi
GILRACE_PLUGIN_PATH=$TMP/example run "$GILRACE" run static-ref-exit -n 5
if [[ $RC == 0 ]]; then
    ok "GILRACE_PLUGIN_PATH (a folder) loads the plugin; the default variant (fixed) passes"
else
    bad "GILRACE_PLUGIN_PATH: exit $RC $ERR"
fi
GILRACE_PLUGIN_PATH=$PLUGIN run "$GILRACE" run static-ref-exit -n 2 --plugin "$PLUGIN"
if [[ $RC == 0 ]]; then ok "the same plugin named twice loads once"; else bad "plugin named twice: exit $RC $ERR"; fi

run "$GILRACE" run --plugin "$PLUGIN" static-ref-exit --variant naive --bisect --rate 0.5
if [[ $RC == 1 && $(tail -n 1 "$TMP/out") == "gilrace-verdict: bad"* ]]; then
    ok "run --bisect on the naive variant: $(tail -n 1 "$TMP/out")"
else
    bad "run --bisect: exit $RC, last line: $(tail -n 1 "$TMP/out")"
fi
for k in 0 1; do
    run "$GILRACE" run --plugin "$PLUGIN" static-ref-exit -n 6 --seed 3 --shard "$k/2" --json "$TMP/shard$k.json"
done
run "$GILRACE" merge "$TMP/shard0.json" "$TMP/shard1.json" -o "$TMP/merged.json"
merged=$(python3 -c 'import json,sys; g = json.load(open(sys.argv[1]))["groups"][0]; print(g["trials"], g.get("plugin"))' "$TMP/merged.json" 2>&1)
if [[ $RC == 0 && $merged == "6 $PLUGIN" ]]; then
    ok "two shards of a plugin scenario merge into 6 trials that name the plugin"
else
    bad "shards and merge: exit $RC, '$merged' (want '6 $PLUGIN'): $ERR"
fi

# ------------------------------------------------------------------ refusals
expect_usage_error "--plugin of a missing file" "no such plugin file" \
    "$GILRACE" run --plugin "$TMP/none.so" static-ref-exit
not_plugin=$(find /usr/lib /lib -name 'libz.so.1' 2>/dev/null | head -n 1)
expect_usage_error "--plugin of a library that is not a plugin ($not_plugin)" "not a gilrace plugin" \
    "$GILRACE" list --plugin "$not_plugin"
expect_usage_error "a scenario without its plugin" "unknown scenario" "$GILRACE" run static-ref-exit -n 1
if [[ -z $OTHER ]]; then
    skip "a plugin built for another CPython is refused: no OTHER_GILRACE given"
elif [[ ! -x $OTHER ]]; then
    bad "OTHER_GILRACE $OTHER is not an executable"
else
    expect_usage_error "a plugin built for another CPython, loaded by $("$OTHER" info 2>/dev/null | head -n 1)" \
        "built for CPython" "$OTHER" run --plugin "$PLUGIN" static-ref-exit -n 1
fi
finish
