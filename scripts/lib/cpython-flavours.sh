# shellcheck shell=bash
# The flavour -> configure recipe of scripts/build-cpython.sh, for the scripts
# that build CPython another way (scripts/bisect-step.sh builds a checkout in
# place of a copy, incrementally). It mirrors build-cpython.sh's "key, prefix"
# section; keep the two in step (build-cpython.sh could source this file).
#
# Sourced, not run.
# shellcheck disable=SC2034  # the variables set are read by the caller

# cpython_flavour_recipe FT DEBUG TSAN  (each true or false)
# Sets FLAVOUR_NAME (default, ft, ft-debug, ...), CC_NAME, CXX_NAME and
# CONF_ARGS: the configure arguments other than --prefix and LDFLAGS.
cpython_flavour_recipe() {
    local ft=$1 debug=$2 tsan=$3 flavours=()
    $ft && flavours+=(ft)
    $debug && flavours+=(debug)
    $tsan && flavours+=(tsan)
    FLAVOUR_NAME=$(IFS=-; echo "${flavours[*]:-default}")
    if $tsan; then CC_NAME=clang CXX_NAME=clang++; else CC_NAME=gcc CXX_NAME=g++; fi
    CONF_ARGS=(--enable-shared --without-ensurepip)
    $ft && CONF_ARGS+=(--disable-gil)
    $debug && CONF_ARGS+=(--with-pydebug)
    $tsan && CONF_ARGS+=(--with-thread-sanitizer)
    CONF_ARGS+=("CC=$CC_NAME" "CXX=$CXX_NAME")
}

# cpython_flavour_missing SRC FT TSAN: prints why this source tree cannot build
# the flavour (its configure has no --disable-gil / --with-thread-sanitizer),
# or nothing.
cpython_flavour_missing() {
    local src=$1 ft=$2 tsan=$3
    if $ft && ! grep -q -- '--disable-gil' "$src/configure"; then
        echo "this CPython has no free-threaded build (configure has no --disable-gil)"
    elif $tsan && ! grep -q -- '--with-thread-sanitizer' "$src/configure"; then
        echo "this CPython has no --with-thread-sanitizer"
    fi
}

# cpython_skip_install_bytecompile MAKEFILE: make `make install` skip
# compileall (see build-cpython.sh for why); returns 1 when the Makefile has
# another layout (the install then byte-compiles as usual).
cpython_skip_install_bytecompile() {
    # shellcheck disable=SC2016
    sed -i 's|\$(PYTHON_FOR_BUILD) -Wi \$(DESTDIR)\$(LIBDEST)/compileall.py|: skipped-by-gilrace compileall.py|' "$1"
    grep -q 'skipped-by-gilrace' "$1"
}
