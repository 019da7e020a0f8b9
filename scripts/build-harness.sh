#!/usr/bin/env bash
# Configure and build gilrace against one CPython.
#
#   scripts/build-harness.sh [--python PREFIX_OR_EXECUTABLE] [--sanitizer thread|none]
#                            [--build-type Release|Debug|RelWithDebInfo] [--jobs N]
#                            [--build-dir DIR] [--only-gilrace] [-- EXTRA_CMAKE_ARGS...]
#
# --python takes an install prefix (meaning PREFIX/bin/python3, e.g. what
# scripts/build-cpython.sh prints) or an interpreter; default /usr/bin/python3.
# Builds into build/<key>/ of the checkout, key = py<X.Y><abiflags>-<sanitizer|default>
# (build/py3.11-default, build/py3.13t-tsan, ...), and prints the binary's
# absolute path (build/<key>/gilrace) as the last stdout line; cmake's output
# goes to stderr. An existing build dir configured with the same interpreter and
# options is only rebuilt (cmake --build); anything else is configured afresh.
# A ThreadSanitizer-built interpreter implies --sanitizer thread (it cannot be
# linked without it). --only-gilrace builds the binary and not the tests (the main job,
# scripts/run.sh, needs no more). Exit: 0 ok, 1 the build failed, 2 bad usage.
set -euo pipefail

PROG=build-harness.sh
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 2
}
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
usage() { sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

PYTHON=/usr/bin/python3 SANITIZER="" BUILD_TYPE=RelWithDebInfo JOBS="" BUILD_DIR="" EXTRA=() TARGET=()
need_arg() { [[ $# -ge 2 && -n $2 ]] || die "option $1 needs a value"; }
while [[ $# -gt 0 ]]; do
    opt=$1
    if [[ $opt == --*=* ]]; then
        set -- "${opt%%=*}" "${opt#*=}" "${@:2}"
        opt=$1
    fi
    case $opt in
    --python) need_arg "$@"; PYTHON=$2; shift 2 ;;
    --sanitizer) need_arg "$@"; SANITIZER=$2; shift 2 ;;
    --build-type) need_arg "$@"; BUILD_TYPE=$2; shift 2 ;;
    --jobs | -j) need_arg "$@"; JOBS=$2; shift 2 ;;
    --build-dir) need_arg "$@"; BUILD_DIR=$2; shift 2 ;;
    --only-gilrace) TARGET=(--target gilrace); shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
case $SANITIZER in "" | thread | none) ;; *) die "--sanitizer must be 'thread' or 'none', not '$SANITIZER'" ;; esac
case $BUILD_TYPE in Release | Debug | RelWithDebInfo | MinSizeRel) ;; *) die "--build-type must be Release, Debug or RelWithDebInfo" ;; esac
if [[ -n $JOBS && ! $JOBS =~ ^[1-9][0-9]*$ ]]; then die "--jobs needs a positive number"; fi
JOBS=${JOBS:-$(nproc)}

# A prefix means PREFIX/bin/python3.
if [[ -d $PYTHON ]]; then
    [[ -x $PYTHON/bin/python3 ]] || die "--python $PYTHON: a directory without bin/python3"
    PYTHON="$PYTHON/bin/python3"
fi
[[ -x $PYTHON ]] || PYTHON=$(command -v "$PYTHON" 2>/dev/null) || true
[[ -n $PYTHON && -x $PYTHON && ! -d $PYTHON ]] || die "--python: no such interpreter or prefix"
PYTHON="$(cd "$(dirname "$PYTHON")" && pwd -P)/$(basename "$PYTHON")"

# Ask the interpreter what it is: X.Y + abiflags, and whether it is a TSAN build.
info=$("$PYTHON" -c '
import sys, sysconfig
args = sysconfig.get_config_var("CONFIG_ARGS") or ""
print("%d.%d%s" % (sys.version_info[0], sys.version_info[1], getattr(sys, "abiflags", "")),
      int("with-thread-sanitizer" in args))' 2>/dev/null) || die "--python $PYTHON does not run"
read -r PYTAG PY_TSAN <<<"$info"
if [[ -z $SANITIZER ]]; then
    if [[ $PY_TSAN == 1 ]]; then
        SANITIZER=thread
        log "$PYTHON is a ThreadSanitizer build: building gilrace with --sanitizer thread"
    else
        SANITIZER=none
    fi
fi
[[ $PY_TSAN == 1 && $SANITIZER != thread ]] && die "$PYTHON is a ThreadSanitizer build: gilrace must be built with --sanitizer thread"

KEY="py$PYTAG-$([[ $SANITIZER == thread ]] && echo tsan || echo default)"
BUILD_DIR=${BUILD_DIR:-$ROOT/build/$KEY}
mkdir -p "$BUILD_DIR"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)

ARGS=(-S "$ROOT" -B "$BUILD_DIR" "-DCMAKE_BUILD_TYPE=$BUILD_TYPE"
    "-DPython_EXECUTABLE=$PYTHON" "-DPython_ROOT_DIR=$(dirname "$(dirname "$PYTHON")")")
if [[ $SANITIZER == thread ]]; then
    if ! command -v clang >/dev/null || ! command -v clang++ >/dev/null; then
        die "--sanitizer thread needs clang and clang++ (apt-get install clang)"
    fi
    ARGS+=(-DGILRACE_SANITIZER=thread -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
else
    ARGS+=(-DGILRACE_SANITIZER=)
fi
command -v ninja >/dev/null && ARGS+=(-G Ninja)
# ccache, shared by every build dir: most of gilrace does not include Python.h, so
# the builds against the other CPythons (and a second run on a fresh machine) reuse
# those objects. GILRACE_CCACHE=0 turns it off.
if [[ ${GILRACE_CCACHE:-1} != 0 ]] && command -v ccache >/dev/null; then
    launcher="env;CCACHE_DIR=${CCACHE_DIR:-${GILRACE_CACHE:-$HOME/.cache/gilrace}/ccache}"
    launcher+=";CCACHE_BASEDIR=$ROOT;CCACHE_NOHASHDIR=1;ccache"
    ARGS+=("-DCMAKE_CXX_COMPILER_LAUNCHER=$launcher" "-DCMAKE_C_COMPILER_LAUNCHER=$launcher")
fi
ARGS+=("${EXTRA[@]}")
command -v cmake >/dev/null || die "cmake not found (apt-get install cmake)"

# Reconfigure only when the configure command (interpreter, options) changed.
STAMP="$BUILD_DIR/.gilrace-configure"
WANT=$(printf '%s\n' "${ARGS[@]}")
if [[ -f $BUILD_DIR/CMakeCache.txt && -f $STAMP && $(cat "$STAMP") == "$WANT" ]]; then
    log "build dir $BUILD_DIR is configured for $PYTHON; building"
else
    if [[ -e $BUILD_DIR/CMakeCache.txt ]]; then
        log "configuration changed: configuring $BUILD_DIR afresh"
        rm -rf "$BUILD_DIR/CMakeCache.txt" "$BUILD_DIR/CMakeFiles"
    fi
    rm -f "$STAMP"
    log "cmake ${ARGS[*]}"
    cmake "${ARGS[@]}" >&2 || { log "FAILED: cmake configure"; exit 1; }
    printf '%s\n' "$WANT" >"$STAMP"
fi
cmake --build "$BUILD_DIR" -j "$JOBS" "${TARGET[@]}" >&2 || { log "FAILED: cmake --build $BUILD_DIR"; exit 1; }
[[ -x $BUILD_DIR/gilrace ]] || { log "FAILED: $BUILD_DIR/gilrace was not produced"; exit 1; }
echo "$BUILD_DIR/gilrace"
