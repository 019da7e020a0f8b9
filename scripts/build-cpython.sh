#!/usr/bin/env bash
# Build a CPython for gilrace to embed, into a cache keyed by source and flags.
#
#   scripts/build-cpython.sh (--version X.Y[.Z] | --source DIR)
#                            [--free-threading] [--debug] [--tsan]
#                            [--patch FILE]... [--jobs N] [--refresh] [--print-prefix]
#
# The last line on stdout is the install prefix:
#   ${GILRACE_CACHE:-$HOME/.cache/gilrace}/cpython/<version>-<flavours>-<hash8>
# e.g. .../cpython/3.13.15-ft-tsan-1a2b3c4d. Everything else goes to stderr; the
# build's own output goes to <cache>/cpython/.logs/<name>.log.
#
# Exit: 0 ok; 1 the build failed (or, with --print-prefix, not built yet);
#       2 bad usage or configuration (one line on stderr).
#
# Recipe: a private copy of the source, ./configure --enable-shared
# --without-ensurepip [flavour flags] CC=gcc|clang LDFLAGS=-Wl,-rpath,<prefix>/lib,
# make -j, make install DESTDIR=<stage> without byte-compiling (see below), then
# one rename into place. CC/CXX from the environment are ignored on purpose:
# the compiler is part of the recipe (gcc, or clang for --tsan). pip is not
# installed (python3 -m ensurepip works offline when it is wanted).
set -Eeuo pipefail
# Whatever fails without a message of its own still ends in one line, exit 1.
trap 'printf "%s: error: line %s: \"%s\" failed (exit %s)\n" build-cpython.sh "$LINENO" "$BASH_COMMAND" "$?" >&2; exit 1' ERR

# Bump when the build recipe changes in a way that changes the result: it is
# part of every cache key.
RECIPE=1

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=build-cpython.sh
CACHE=${GILRACE_CACHE:-$HOME/.cache/gilrace}

die() { # one line on stderr, exit 2
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 2
}
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

# shellcheck source-path=SCRIPTDIR source=lib/cpython-source.sh
. "$SELF_DIR/lib/cpython-source.sh"

usage() {
    cat <<'EOF'
usage: build-cpython.sh (--version X.Y[.Z] | --source DIR) [options]

Builds a CPython (configure --enable-shared, rpath to its own lib/, no PGO/LTO,
no tests) into a cache and prints its install prefix as the last stdout line.
A second call with the same inputs returns at once.

source (one of):
  --version X.Y[.Z]  Debian's source package pythonX.Y (its upstream .orig tarball),
                     newest downloadable version first; remembered in the cache
  --source DIR       a CPython source tree (git checkout or unpacked tarball);
                     it is copied, never built in place
flavours (combinable; none = default):
  --free-threading   configure --disable-gil
  --debug            configure --with-pydebug
  --tsan             configure --with-thread-sanitizer, built with clang
other:
  --patch FILE       apply FILE with patch -p1 to the copy before building
                     (repeatable, applied in order; part of the cache key)
  --jobs N           parallel make jobs (default: nproc)
  --refresh          ask the archive again which version --version X.Y means
  --print-prefix     print the prefix that would be used; exit 0 when it is
                     built, 1 when not (builds nothing)
  -h, --help         this text
Environment: GILRACE_CACHE (default ~/.cache/gilrace), GILRACE_APT_SUITES
(default "unstable trixie experimental": suites added to the private apt sources).
EOF
}

# ---------------------------------------------------------------- options
WANT_VERSION="" WANT_SOURCE="" FT=false DEBUG=false TSAN=false
PATCHES=() JOBS="" REFRESH=0 PRINT_ONLY=false
need_arg() { [[ $# -ge 2 && -n $2 ]] || die "option $1 needs a value"; }
while [[ $# -gt 0 ]]; do
    opt=$1
    if [[ $opt == --*=* ]]; then
        set -- "${opt%%=*}" "${opt#*=}" "${@:2}"
        opt=$1
    fi
    case $opt in
    --version) need_arg "$@"; WANT_VERSION=$2; shift 2 ;;
    --source) need_arg "$@"; WANT_SOURCE=$2; shift 2 ;;
    --free-threading | --ft | --disable-gil) FT=true; shift ;;
    --debug | --pydebug) DEBUG=true; shift ;;
    --tsan | --thread-sanitizer) TSAN=true; shift ;;
    --patch) need_arg "$@"; PATCHES+=("$2"); shift 2 ;;
    --jobs | -j) need_arg "$@"; JOBS=$2; shift 2 ;;
    --refresh) REFRESH=1; shift ;;
    --print-prefix) PRINT_ONLY=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
[[ -n $WANT_VERSION || -n $WANT_SOURCE ]] || die "give --version X.Y or --source DIR (see --help)"
[[ -n $WANT_VERSION && -n $WANT_SOURCE ]] && die "--version and --source exclude each other"
if [[ -n $WANT_VERSION && ! $WANT_VERSION =~ ^[0-9]+\.[0-9]+(\.[0-9]+)?$ ]]; then
    die "unknown version '$WANT_VERSION': expected X.Y or X.Y.Z (e.g. 3.13)"
fi
if [[ -n $JOBS && ! $JOBS =~ ^[1-9][0-9]*$ ]]; then die "--jobs needs a positive number"; fi
JOBS=${JOBS:-$(nproc)}

# patches: check them now (they are part of the key)
PATCH_FILES=() PATCH_SHAS=()
for p in "${PATCHES[@]}"; do
    [[ -f $p && -r $p ]] || die "--patch $p: no such readable file"
    PATCH_FILES+=("$(cd "$(dirname "$p")" && pwd -P)/$(basename "$p")")
    PATCH_SHAS+=("$(sha256sum "$p" | cut -d' ' -f1)")
done

# ---------------------------------------------------------------- source
mkdir -p "$CACHE/cpython/.logs" "$CACHE/cpython/.locks" || die "cannot create the cache $CACHE"
SRC_KIND="" SRC_IDENTITY="" SRC_GIT_REV="" SRC_GIT_DIRTY=false
if [[ -n $WANT_SOURCE ]]; then
    SRC_KIND=dir
    inspect_source_dir "$WANT_SOURCE"
else
    SRC_KIND=apt
    resolve_apt_source "$WANT_VERSION" "$REFRESH"
    SRC_IDENTITY="tarball:$SRC_SHA256"
fi

# Flavours this CPython does not have fail now, not after a download or build.
IFS=. read -r v_major v_minor _ <<<"$SRC_VERSION"
v_minor=${v_minor%%[!0-9]*}
if [[ $v_major =~ ^[0-9]+$ && $v_minor =~ ^[0-9]+$ ]] && ((v_major == 3 && v_minor < 13)); then
    $FT && die "CPython $SRC_VERSION has no free-threaded build (--free-threading needs 3.13+)"
    $TSAN && die "CPython $SRC_VERSION has no --with-thread-sanitizer (--tsan needs 3.13+)"
fi

# ---------------------------------------------------------------- key, prefix
flavours=()
$FT && flavours+=(ft)
$DEBUG && flavours+=(debug)
$TSAN && flavours+=(tsan)
FLAVOUR_NAME=$(IFS=-; echo "${flavours[*]:-default}")

if $TSAN; then CC_NAME=clang CXX_NAME=clang++; else CC_NAME=gcc CXX_NAME=g++; fi
# Configure arguments other than those derived from the prefix.
CONF_ARGS=(--enable-shared --without-ensurepip)
$FT && CONF_ARGS+=(--disable-gil)
$DEBUG && CONF_ARGS+=(--with-pydebug)
$TSAN && CONF_ARGS+=(--with-thread-sanitizer)
CONF_ARGS+=("CC=$CC_NAME" "CXX=$CXX_NAME")

KEY_TEXT=$(
    printf 'recipe=%s\nsource=%s\n' "$RECIPE" "$SRC_IDENTITY"
    printf 'configure=%s\n' "${CONF_ARGS[@]}"
    for s in "${PATCH_SHAS[@]}"; do printf 'patch=%s\n' "$s"; done
)
KEY=$(printf '%s' "$KEY_TEXT" | sha256sum | cut -d' ' -f1)
VERSION_NAME=${SRC_VERSION//[^A-Za-z0-9.+_]/_}
NAME="$VERSION_NAME-$FLAVOUR_NAME-${KEY:0:8}"
PREFIX="$CACHE/cpython/$NAME"
STAMP="$PREFIX/gilrace-build.json"

is_built() { [[ -f $STAMP && -x $PREFIX/bin/python3 ]]; }

if $PRINT_ONLY; then
    echo "$PREFIX"
    is_built && exit 0
    exit 1
fi
if is_built; then
    echo "$PREFIX"
    exit 0
fi

# ---------------------------------------------------------------- lock
LOCK="$CACHE/cpython/.locks/$NAME.lock"
exec 9>"$LOCK"
if ! flock -n 9; then
    log "another process is building $NAME; waiting for it (lock $LOCK)"
    flock 9
fi
if is_built; then # built by the process we waited for
    echo "$PREFIX"
    exit 0
fi

# ---------------------------------------------------------------- build deps
# Installed through apt only when missing (dpkg-query is quick), so re-runs
# stay idempotent and fast.
run_apt_install() {
    local sudo=()
    [[ $(id -u) == 0 ]] || { command -v sudo >/dev/null && sudo=(sudo -n); }
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [[ ${#missing[@]} == 0 ]] && return 0
    command -v apt-get >/dev/null || return 1
    log "installing build dependencies: ${missing[*]}"
    if ! run_apt_install "${missing[@]}" >>"$BUILD_LOG" 2>&1; then
        # a machine whose package lists were never fetched: update once, retry
        local sudo=()
        [[ $(id -u) == 0 ]] || sudo=(sudo -n)
        "${sudo[@]}" apt-get update -q >>"$BUILD_LOG" 2>&1 || true
        run_apt_install "${missing[@]}" >>"$BUILD_LOG" 2>&1 || return 1
    fi
}

BUILD_LOG="$CACHE/cpython/.logs/$NAME.log"
: >"$BUILD_LOG"
DEPS=(build-essential pkg-config libssl-dev zlib1g-dev libffi-dev libbz2-dev liblzma-dev
    libsqlite3-dev libreadline-dev libncurses-dev uuid-dev xz-utils)
[[ ${#PATCH_FILES[@]} -gt 0 ]] && DEPS+=(patch)
if command -v dpkg-query >/dev/null; then
    ensure_packages "${DEPS[@]}" || die "could not install build dependencies with apt-get (see $BUILD_LOG)"
    if $TSAN; then
        ensure_packages clang || die "--tsan needs clang, and 'apt-get install clang' failed (see $BUILD_LOG)"
    fi
fi
command -v "$CC_NAME" >/dev/null || die "compiler $CC_NAME not found"
command -v "$CXX_NAME" >/dev/null || die "compiler $CXX_NAME not found"
COMPILER=$("$CC_NAME" --version 2>/dev/null | head -1)

# ---------------------------------------------------------------- build
WORK="$CACHE/cpython/.build/$NAME"
STAGE="$CACHE/cpython/.stage-$NAME"
rm -rf "$WORK" "$STAGE"
mkdir -p "$WORK/src"
cleanup() { rm -rf "$WORK" "$STAGE"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP # so that the EXIT trap runs

fail() { # the build failed: show the log's tail
    log "FAILED: $*"
    log "---- last lines of $BUILD_LOG ----"
    tail -n 40 "$BUILD_LOG" >&2 || true
    log "---- full log: $BUILD_LOG"
    exit 1
}

T0=$(date +%s)
log "building CPython $SRC_VERSION [$FLAVOUR_NAME] -> $PREFIX"
log "log: $BUILD_LOG"
{
    echo "# $(date -u +%FT%TZ) build $NAME"
    echo "# key material:"
    printf '%s\n' "$KEY_TEXT" | sed 's/^/#   /'
} >>"$BUILD_LOG"

SRC="$WORK/src"
if [[ $SRC_KIND == apt ]]; then
    echo "$SRC_SHA256  $SRC_TARBALL" | sha256sum -c --quiet - >>"$BUILD_LOG" 2>&1 ||
        fail "cached tarball $SRC_TARBALL does not match its recorded sha256 (remove it and retry)"
    tar -xf "$SRC_TARBALL" -C "$SRC" --strip-components=1 >>"$BUILD_LOG" 2>&1 || fail "unpacking $SRC_TARBALL"
else
    copy_source_tree "$SRC_DIR" "$SRC" >>"$BUILD_LOG" 2>&1 || fail "copying $SRC_DIR"
fi
[[ -f $SRC/configure && -f $SRC/Include/Python.h ]] || fail "the unpacked source has no configure / Include/Python.h"

for i in "${!PATCH_FILES[@]}"; do
    p=${PATCH_FILES[$i]}
    log "applying patch $(basename "$p")"
    echo "# patch -p1 < $p" >>"$BUILD_LOG"
    if ! patch -d "$SRC" -p1 --batch --forward <"$p" >>"$BUILD_LOG" 2>&1; then
        die "--patch $p does not apply to CPython $SRC_VERSION (see $BUILD_LOG)"
    fi
done

# Refuse flavours this CPython does not have rather than build something else.
$FT && ! grep -q -- '--disable-gil' "$SRC/configure" && die "CPython $SRC_VERSION has no free-threaded build (--disable-gil needs 3.13+)"
$TSAN && ! grep -q -- '--with-thread-sanitizer' "$SRC/configure" && die "CPython $SRC_VERSION has no --with-thread-sanitizer (needs 3.13+)"

FULL_CONF_ARGS=(--prefix="$PREFIX" "${CONF_ARGS[@]}" "LDFLAGS=-Wl,-rpath,$PREFIX/lib")
log "configure ${FULL_CONF_ARGS[*]}"
(cd "$SRC" && echo "# ./configure ${FULL_CONF_ARGS[*]}" && ./configure "${FULL_CONF_ARGS[@]}") >>"$BUILD_LOG" 2>&1 ||
    fail "configure"
if $FT; then grep -q '^#define Py_GIL_DISABLED 1' "$SRC/pyconfig.h" || fail "configure did not enable free threading"; fi

# Skip byte-compiling the standard library at install time, for every flavour:
# the TSAN interpreter spends ~350 s on it (3 optimisation levels x ~1800
# files), a default one ~30 s. Modules get their .pyc written on first import
# instead (the prefix stays writable by its owner; an embedded interpreter with
# an isolated PyConfig ignores PYTHONDONTWRITEBYTECODE), so only what is
# actually imported is ever compiled, and the common imports are warmed right
# after install (WARM_IMPORTS). There is no
# Makefile variable for this (COMPILEALL_OPTS only adds options), so the copy's
# generated Makefile runs ':' in place of compileall.py; when the pattern is
# not found (another Makefile layout) the install simply byte-compiles as usual.
# shellcheck disable=SC2016
sed -i 's|\$(PYTHON_FOR_BUILD) -Wi \$(DESTDIR)\$(LIBDEST)/compileall.py|: skipped-by-gilrace compileall.py|' "$SRC/Makefile"
if grep -q 'skipped-by-gilrace' "$SRC/Makefile"; then
    echo "# install-time byte-compilation disabled" >>"$BUILD_LOG"
else
    log "note: could not disable install-time byte-compilation (Makefile layout); install will be slower"
fi

T1=$(date +%s)
log "make -j$JOBS (configure took $((T1 - T0)) s)"
(cd "$SRC" && make -j"$JOBS") >>"$BUILD_LOG" 2>&1 || fail "make"
T2=$(date +%s)
log "make install (make took $((T2 - T1)) s)"
mkdir -p "$STAGE"
(cd "$SRC" && make install DESTDIR="$STAGE") >>"$BUILD_LOG" 2>&1 || fail "make install"
T3=$(date +%s)
STAGED="$STAGE$PREFIX"
[[ -x $STAGED/bin/python3 ]] || fail "make install produced no bin/python3"

# Check the staged interpreter is the flavour asked for.
check=$(PYTHONHOME="$STAGED" LD_LIBRARY_PATH="$STAGED/lib" "$STAGED/bin/python3" -c '
import sys, sysconfig
print(int(bool(sysconfig.get_config_var("Py_GIL_DISABLED"))), int(hasattr(sys, "gettotalrefcount")),
      int("with-thread-sanitizer" in (sysconfig.get_config_var("CONFIG_ARGS") or "")
          or "-fsanitize=thread" in (sysconfig.get_config_var("CFLAGS") or "")))
' 2>>"$BUILD_LOG") || fail "the installed interpreter does not start"
want="$($FT && echo 1 || echo 0) $($DEBUG && echo 1 || echo 0) $($TSAN && echo 1 || echo 0)"
[[ $check == "$want" ]] || fail "built interpreter flavour '$check' (ft debug tsan) differs from the one asked for '$want'"

# Tools a debugger and a sanitizer want but `make install` leaves behind:
# CPython's gdb helpers (py-bt in native stacks) and its TSAN suppressions.
mkdir -p "$STAGED/share/gilrace"
cp "$SRC/Tools/gdb/libpython.py" "$STAGED/share/gilrace/libpython.py" 2>/dev/null || true
if [[ -d $SRC/Tools/tsan ]]; then cp -r "$SRC/Tools/tsan" "$STAGED/share/gilrace/tsan"; fi

WARM_IMPORTS='import asyncio, concurrent.futures, faulthandler, json, subprocess, sysconfig, threading, traceback, typing, weakref'

# ---------------------------------------------------------------- metadata
json_str() { # JSON string literal of $1
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\t'/\\t}
    s=${s//$'\r'/\\r}
    printf '"%s"' "$s"
}
json_list() { # JSON list of strings
    local first=1 a
    printf '['
    for a in "$@"; do
        ((first)) || printf ', '
        first=0
        json_str "$a"
    done
    printf ']'
}
{
    printf '{\n'
    printf '  "schema": 1,\n'
    printf '  "name": %s,\n' "$(json_str "$NAME")"
    printf '  "version": %s,\n' "$(json_str "$SRC_VERSION")"
    printf '  "flavours": {"free_threading": %s, "debug": %s, "tsan": %s},\n' "$FT" "$DEBUG" "$TSAN"
    printf '  "configure_args": %s,\n' "$(json_list "${FULL_CONF_ARGS[@]}")"
    if [[ $SRC_KIND == apt ]]; then
        printf '  "source": {"kind": "apt", "package": %s, "package_version": %s, "tarball": %s, "sha256": %s, "git_revision": null, "dirty": false},\n' \
            "$(json_str "$SRC_PKG")" "$(json_str "$SRC_PKG_VERSION")" "$(json_str "$(basename "$SRC_TARBALL")")" "$(json_str "$SRC_SHA256")"
    else
        printf '  "source": {"kind": "dir", "path": %s, "git_revision": %s, "dirty": %s},\n' \
            "$(json_str "$SRC_DIR")" "$([[ -n $SRC_GIT_REV ]] && json_str "$SRC_GIT_REV" || echo null)" "$SRC_GIT_DIRTY"
    fi
    printf '  "patches": ['
    for i in "${!PATCH_FILES[@]}"; do
        ((i == 0)) || printf ', '
        printf '{"file": %s, "sha256": %s}' "$(json_str "$(basename "${PATCH_FILES[$i]}")")" "$(json_str "${PATCH_SHAS[$i]}")"
    done
    printf '],\n'
    printf '  "compiler": %s,\n' "$(json_str "$COMPILER")"
    printf '  "cc": %s,\n  "cxx": %s,\n' "$(json_str "$CC_NAME")" "$(json_str "$CXX_NAME")"
    printf '  "install_bytecompile": false,\n'
    printf '  "pyc_warmed_imports": %s,\n' "$(json_str "${WARM_IMPORTS#import }")"
    printf '  "build_seconds": {"configure": %d, "make": %d, "install": %d, "total": %d},\n' \
        $((T1 - T0)) $((T2 - T1)) $((T3 - T2)) $((T3 - T0))
    printf '  "built_at": %s,\n' "$(json_str "$(date -u +%FT%TZ)")"
    printf '  "cache_key": %s\n' "$(json_str "$KEY")"
    printf '}\n'
} >"$STAGED/gilrace-build.json"
cp "$BUILD_LOG" "$STAGED/gilrace-build.log" 2>/dev/null || true

# ---------------------------------------------------------------- publish
# One rename makes the prefix appear complete; nothing half-built is ever at $PREFIX.
if [[ -e $PREFIX ]]; then
    log "removing an incomplete $PREFIX"
    rm -rf "$PREFIX"
fi
mv "$STAGED" "$PREFIX" || fail "moving the staged install to $PREFIX"
"$PREFIX/bin/python3" -c 'import sys' >>"$BUILD_LOG" 2>&1 || fail "$PREFIX/bin/python3 does not start after install"
# Warm the .pyc of what an embedded interpreter and typical scenarios import
# (a few seconds; from the final prefix, so the code objects carry final paths).
# Best effort: everything else gets its .pyc on first import.
env -u PYTHONDONTWRITEBYTECODE "$PREFIX/bin/python3" -c "$WARM_IMPORTS" >>"$BUILD_LOG" 2>&1 || true
log "built $NAME in $((T3 - T0)) s (configure $((T1 - T0)) s, make $((T2 - T1)) s, install $((T3 - T2)) s)"
echo "$PREFIX"
