#!/usr/bin/env bash
# One step of `git bisect run` in a CPython checkout: build the commit checked
# out, incrementally, build gilrace against it, and let `gilrace run --bisect`
# judge it.
#
#   cd ~/src/cpython && git bisect start BAD GOOD
#   git bisect run /path/to/gilrace/scripts/bisect-step.sh [--free-threading] [--debug] [--tsan] \
#       -- SCENARIO --rate-file rate.txt [--match M] [other `gilrace run` options]
#
# Which commit fixed it (the terms old=broken, new=fixed):
#
#   git bisect start --term-old=broken --term-new=fixed FIXED BROKEN
#   git bisect run /path/to/gilrace/scripts/bisect-step.sh --find-fix -- SCENARIO --rate-file rate.txt
#
# Everything after -- goes to `gilrace run ... --bisect` (see its --rate,
# --rate-file, --calibrate, --match, --other, --confidence, --variant, -j).
# Options:
#   --find-fix        `gilrace run --bisect=fix`: exit 0 broken (the target
#                     failure reproduced: git bisect's old term), 1 fixed
#                     (N clean trials that reached the window: the new term)
#   --cpython DIR     the checkout (default: the git top level of the current directory)
#   --free-threading, --debug, --tsan
#                     the flavour: configure flags as in scripts/build-cpython.sh
#   --jobs N          make -j (default: nproc)
#   --clean           start this checkout's build folder afresh
#   (CPython compiles through ccache when /usr/lib/ccache exists: a step that
#   goes back to sources built before costs little; GILRACE_CCACHE=0 turns it off)
#   -h, --help        this text
# The build folder is outside the checkout, one per checkout and flavour,
# reused from step to step: ${GILRACE_CACHE:-~/.cache/gilrace}/bisect/<name>-<flavour>-<hash>/
# (build/ = CPython's objects, configured again only when configure or its
# inputs change; prefix/ = its install; gilrace-<pyX.Y>/ = gilrace built against
# it; logs/<commit>.log; artifacts/<commit>/ = failure artifacts).
#
# Exit: 0 good, 1 bad (with --find-fix: 0 broken, 1 fixed); 125 cannot test this commit (CPython does not configure
# or build, it lacks the flavour, gilrace does not build against it, or gilrace
# says so: the scenario does not apply, only other failures, no trial reached the
# window: reason=window_not_reached); 128 bad usage or
# a failure no commit can cure (git bisect run stops on codes >= 128).
# The last stdout line is gilrace's "gilrace-verdict: ..." line (or this
# script's, in the same form, when it did not get that far).
set -uo pipefail

PROG=bisect-step.sh
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${GILRACE_CACHE:-$HOME/.cache/gilrace}
EXIT_ABORT=128

die() { # bad usage: stops the bisect
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit $EXIT_ABORT
}
log() { printf '%s: [%3ds] %s\n' "$PROG" "$SECONDS" "$*" >&2; } # seconds into the step: where its time goes
usage() { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }

# shellcheck source-path=SCRIPTDIR source=lib/cpython-source.sh
. "$ROOT/scripts/lib/cpython-source.sh"
# shellcheck source-path=SCRIPTDIR source=lib/cpython-flavours.sh
. "$ROOT/scripts/lib/cpython-flavours.sh"

CPYTHON="" FT=false DEBUG=false TSAN=false JOBS="" CLEAN=false GARGS=() SAW_DASHES=false FIND_FIX=false
need_arg() { [[ $# -ge 2 && -n $2 ]] || die "option $1 needs a value"; }
while [[ $# -gt 0 ]]; do
    opt=$1
    if [[ $opt == --*=* ]]; then
        set -- "${opt%%=*}" "${opt#*=}" "${@:2}"
        opt=$1
    fi
    case $opt in
    --cpython) need_arg "$@"; CPYTHON=$2; shift 2 ;;
    --free-threading | --ft | --disable-gil) FT=true; shift ;;
    --debug | --pydebug) DEBUG=true; shift ;;
    --tsan | --thread-sanitizer) TSAN=true; shift ;;
    --jobs | -j) need_arg "$@"; JOBS=$2; shift 2 ;;
    --clean) CLEAN=true; shift ;;
    --find-fix) FIND_FIX=true; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; SAW_DASHES=true; GARGS=("$@"); break ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
if ! $SAW_DASHES || [[ ${#GARGS[@]} == 0 || ${GARGS[0]} == -* ]]; then
    die "name the scenario after --: bisect-step.sh [options] -- SCENARIO [gilrace run options]"
fi
if [[ -n $JOBS && ! $JOBS =~ ^[1-9][0-9]*$ ]]; then die "--jobs needs a positive number"; fi
if $FIND_FIX; then
    for a in "${GARGS[@]}"; do
        [[ $a == --bisect || $a == --bisect=* ]] && die "--find-fix runs gilrace with --bisect=fix: drop $a after --"
    done
fi
JOBS=${JOBS:-$(nproc)}

if [[ -z $CPYTHON ]]; then
    CPYTHON=$(git rev-parse --show-toplevel 2>/dev/null) || CPYTHON=$PWD
fi
[[ -d $CPYTHON ]] || die "--cpython $CPYTHON: no such directory"
[[ -f $CPYTHON/Include/Python.h && -f $CPYTHON/configure && -f $CPYTHON/Include/patchlevel.h ]] ||
    die "$CPYTHON is not a CPython source tree (no Include/Python.h and configure): run from a checkout or give --cpython DIR"
inspect_source_dir "$CPYTHON" # SRC_DIR, SRC_VERSION, SRC_GIT_REV, SRC_GIT_DIRTY, SRC_IDENTITY
REV=${SRC_GIT_REV:-tree}
SHORT=${REV:0:12}
cpython_flavour_recipe "$FT" "$DEBUG" "$TSAN" # FLAVOUR_NAME, CC_NAME, CXX_NAME, CONF_ARGS

# A verdict line of our own when gilrace never ran, then the exit code.
give_up() { # give_up CODE REASON MESSAGE
    log "$3"
    echo "gilrace-verdict: skip trials=0 reason=$2 commit=$SHORT"
    exit "$1"
}

# ---------------------------------------------------------------- build folder
command -v make >/dev/null || die "make not found (scripts/build-cpython.sh installs CPython's build dependencies)"
command -v "$CC_NAME" >/dev/null || die "compiler $CC_NAME not found"
AREA="$CACHE/bisect/$(basename "$SRC_DIR")-$FLAVOUR_NAME-$(printf '%s' "$SRC_DIR" | sha256sum | cut -c1-8)"
mkdir -p "$AREA/logs" || die "cannot create $AREA"
exec 9>"$AREA/lock"
if ! flock -n 9; then
    log "another step is using $AREA; waiting"
    flock 9
fi
BUILD="$AREA/build" PREFIX="$AREA/prefix"
LOG="$AREA/logs/$SHORT.log"
: >"$LOG"
if $CLEAN; then rm -rf "$BUILD" "$PREFIX" "$AREA"/*.stamp; fi
mkdir -p "$BUILD"
if [[ ${GILRACE_CCACHE:-1} != 0 && -d /usr/lib/ccache ]]; then export PATH="/usr/lib/ccache:$PATH"; fi
log "CPython $SRC_VERSION at $SHORT [$FLAVOUR_NAME]; build folder $AREA; log $LOG"

fail_build() { # the commit does not build: 125
    log "---- last lines of $LOG ----"
    tail -n 25 "$LOG" >&2
    give_up 125 "$1" "$2 at $SHORT: cannot test this commit (full log: $LOG)"
}

why=$(cpython_flavour_missing "$SRC_DIR" "$FT" "$TSAN")
[[ -z $why ]] || give_up 125 flavour_missing "$why"

# Configure only when the configure arguments or configure's inputs changed.
FULL_CONF_ARGS=(--prefix="$PREFIX" "${CONF_ARGS[@]}" "LDFLAGS=-Wl,-rpath,$PREFIX/lib")
want_conf=$(
    printf '%s\n' "${FULL_CONF_ARGS[@]}"
    for f in configure pyconfig.h.in Makefile.pre.in Modules/Setup Modules/Setup.bootstrap.in Modules/Setup.stdlib.in; do
        [[ -f $SRC_DIR/$f ]] && sha256sum "$SRC_DIR/$f"
    done
)
if [[ -f $BUILD/Makefile && -f $AREA/configure.stamp && $(cat "$AREA/configure.stamp") == "$want_conf" ]]; then
    log "configure: up to date"
else
    rm -f "$AREA/configure.stamp" "$AREA/install.stamp"
    log "configure ${FULL_CONF_ARGS[*]}"
    (cd "$BUILD" && "$SRC_DIR/configure" "${FULL_CONF_ARGS[@]}") >>"$LOG" 2>&1 ||
        fail_build cpython_does_not_configure "configure failed"
    if $FT && ! grep -q '^#define Py_GIL_DISABLED 1' "$BUILD/pyconfig.h"; then
        give_up 125 flavour_missing "configure did not enable free threading at $SHORT"
    fi
    printf '%s\n' "$want_conf" >"$AREA/configure.stamp"
fi

log "make -j$JOBS"
(cd "$BUILD" && make -j"$JOBS") >>"$LOG" 2>&1 || fail_build cpython_does_not_build "make failed"

# Install afresh when the commit (or its files) changed; a stale prefix would
# mix two commits' headers and modules.
want_install=$(printf '%s\n%s\n' "$SRC_IDENTITY" "$want_conf")
if [[ -x $PREFIX/bin/python3 && -f $AREA/install.stamp && $(cat "$AREA/install.stamp") == "$want_install" ]]; then
    log "install: up to date"
else
    rm -f "$AREA/install.stamp"
    rm -rf "$PREFIX"
    cpython_skip_install_bytecompile "$BUILD/Makefile" || log "note: install will byte-compile the standard library (slower)"
    log "make install"
    (cd "$BUILD" && make install) >>"$LOG" 2>&1 || fail_build cpython_does_not_install "make install failed"
    [[ -x $PREFIX/bin/python3 ]] || fail_build cpython_does_not_install "make install produced no bin/python3"
    # What `gilrace info` and every report show about this build.
    GB_NAME="bisect-$SHORT-$FLAVOUR_NAME" GB_VERSION=$SRC_VERSION GB_FT=$FT GB_DEBUG=$DEBUG \
        GB_TSAN=$TSAN GB_PATH=$SRC_DIR GB_REV=$SRC_GIT_REV GB_DIRTY=$SRC_GIT_DIRTY \
        "$PREFIX/bin/python3" -c '
import json, os, sys
e = os.environ
json.dump({"schema": 1, "name": e["GB_NAME"], "version": e["GB_VERSION"],
           "flavours": {"free_threading": e["GB_FT"] == "true", "debug": e["GB_DEBUG"] == "true",
                        "tsan": e["GB_TSAN"] == "true"},
           "source": {"kind": "dir", "path": e["GB_PATH"], "git_revision": e["GB_REV"] or None,
                      "dirty": e["GB_DIRTY"] == "true"},
           "patches": [], "built_by": "scripts/bisect-step.sh"}, sys.stdout, indent=2)
' >"$PREFIX/gilrace-build.json" 2>>"$LOG" || fail_build cpython_does_not_run "the installed python3 does not start"
    printf '%s\n' "$want_install" >"$AREA/install.stamp"
fi

# ---------------------------------------------------------------- gilrace
PYTAG=$("$PREFIX/bin/python3" -c 'import sys; print("%d.%d%s" % (sys.version_info[:2] + (getattr(sys, "abiflags", ""),)))' 2>>"$LOG") ||
    fail_build cpython_does_not_run "the installed python3 does not start"
HARNESS_ARGS=(--python "$PREFIX" --build-dir "$AREA/gilrace-py$PYTAG" --jobs "$JOBS")
$TSAN && HARNESS_ARGS+=(--sanitizer thread)
log "gilrace against it (scripts/build-harness.sh)"
GILRACE=$("$ROOT/scripts/build-harness.sh" "${HARNESS_ARGS[@]}" -- -DGILRACE_TESTS=OFF 2>>"$LOG" | tail -n 1)
[[ -n $GILRACE && -x $GILRACE ]] || fail_build gilrace_does_not_build "gilrace does not build against this CPython"

# ---------------------------------------------------------------- verdict
run_args=("${GARGS[@]}")
has() { local a; for a in "${GARGS[@]}"; do [[ $a == "$1" || $a == "$1="* ]] && return 0; done; return 1; }
if $FIND_FIX; then run_args+=(--bisect=fix); else has --bisect || run_args+=(--bisect); fi
# Failure artifacts go beside the build, never into the checkout.
has --artifacts || has --json || has --events || has --junit || run_args+=(--artifacts "$AREA/artifacts/$SHORT")
log "gilrace run ${run_args[*]}"
"$GILRACE" run "${run_args[@]}"
rc=$?
case $rc in
0 | 1 | 125) exit $rc ;;
2) log "gilrace refused the command line (exit 2): stopping the bisect"; exit $EXIT_ABORT ;;
126 | 127) give_up 125 gilrace_does_not_run "gilrace could not start against this CPython (exit $rc)" ;;
130 | 143) exit 130 ;;
*) log "gilrace exited $rc: stopping the bisect"; exit $EXIT_ABORT ;;
esac
