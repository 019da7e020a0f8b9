# shellcheck shell=bash
# Helpers of scripts/build-cpython.sh: find CPython sources.
#
#  - Debian's source package pythonX.Y through a PRIVATE apt configuration kept
#    in the cache (never the machine's /etc/apt): its deb-src lines are derived
#    from the machine's configured Debian archive, plus the suites that carry
#    newer Pythons (unstable, trixie, experimental; GILRACE_APT_SUITES overrides).
#    Only the upstream tarball (.orig.tar.xz) is kept and built.
#  - a source tree given with --source (a git checkout or an unpacked tarball):
#    its identity (git revision, or a hash of its files' contents when it is not
#    a clean git tree) feeds the cache key.
#
# Sourced, not run. Expects from the caller: die() and CACHE. Sets SRC_* for it.
# shellcheck disable=SC2034  # SRC_* variables are read by the caller

RESOLVE_LOG="$CACHE/src/resolve.log"

# ---------------------------------------------------------------- apt sources

# Print one "URI<TAB>SUITES<TAB>COMPONENTS<TAB>SIGNED_BY" line per Debian
# archive configured on this machine (deb822 .sources and one-line .list files).
apt_configured_archives() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "")
                    printf "%s\t%s\t%s\t%s\n", uris, suites, comps, signed
                types = uris = suites = comps = signed = enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            {
                key = tolower($1); sub(/:$/, "", key)
                val = $0; sub(/^[^:]*:[ \t]*/, "", val)
                if (key == "types") types = val
                else if (key == "uris") uris = val
                else if (key == "suites") suites = val
                else if (key == "components") comps = val
                else if (key == "signed-by") signed = val
                else if (key == "enabled") enabled = tolower(val)
            }
            END { flush() }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] || continue
        awk '
            /^[ \t]*deb[ \t]/ {
                signed = ""; i = 2
                if ($2 ~ /^\[/) {
                    for (; i <= NF; i++) {
                        if ($i ~ /^\[?signed-by=/) { s = $i; sub(/^\[?signed-by=/, "", s); sub(/\]$/, "", s); signed = s }
                        if ($i ~ /\]$/) { i++; break }
                    }
                }
                uri = $i; suite = $(i + 1); comps = ""
                for (j = i + 2; j <= NF; j++) comps = comps (comps == "" ? "" : " ") $j
                printf "%s\t%s\t%s\t%s\n", uri, suite, comps, signed
            }' "$f"
    done
}

# Write the private sources.list: deb-src for every configured archive, plus the
# extra suites on the main (non-security) Debian archive.
apt_write_private_sources() {
    local out=$1 uri suites comps signed main_uri="" main_signed="" s opt
    local extra=${GILRACE_APT_SUITES:-unstable trixie experimental}
    : >"$out.tmp"
    while IFS=$'\t' read -r uri suites comps signed; do
        [[ -n $uri && -n $suites ]] || continue
        opt=""
        [[ -n $signed && $signed != *$'\n'* && -f $signed ]] && opt="[signed-by=$signed] "
        for s in $suites; do
            printf 'deb-src %s%s %s %s\n' "$opt" "$uri" "$s" "${comps:-main}" >>"$out.tmp"
            if [[ -z $main_uri && $s != *-security && $s != *-updates && $s != *-backports ]]; then
                main_uri=$uri
                main_signed=$opt
            fi
        done
    done < <(apt_configured_archives | awk '!seen[$0]++')
    [[ -n $main_uri ]] || die "cannot derive a deb-src entry: no Debian archive configured in /etc/apt"
    for s in $extra; do
        grep -q " ${main_uri} ${s} " "$out.tmp" ||
            printf 'deb-src %s%s %s main\n' "$main_signed" "$main_uri" "$s" >>"$out.tmp"
    done
    mv -f "$out.tmp" "$out"
}

APT_DIR=""
APT_OPTS=()
apt_private_init() {
    APT_DIR="$CACHE/src/apt"
    mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/sources.list.d"
    APT_OPTS=(
        -o "Dir::Etc::sourcelist=$APT_DIR/sources.list"
        -o "Dir::Etc::sourceparts=$APT_DIR/sources.list.d"
        -o "Dir::State::Lists=$APT_DIR/lists"
        -o "Dir::Cache=$APT_DIR/cache"
        -o "APT::Sandbox::User=root"
        -o "Acquire::Retries=1"
        -q
    )
}

# Refresh the private index when missing or older than $1 minutes (0: always).
apt_private_update() {
    local max_age=${1:-1440} stamp="$APT_DIR/updated.stamp"
    if [[ $max_age != 0 && -f $stamp && -f $APT_DIR/sources.list ]] &&
        [[ -n $(find "$stamp" -mmin "-$max_age" 2>/dev/null) ]]; then
        return 0
    fi
    apt_write_private_sources "$APT_DIR/sources.list"
    if ! apt-get "${APT_OPTS[@]}" update >>"$RESOLVE_LOG" 2>&1; then
        die "could not read the Debian archive's source index (see $RESOLVE_LOG)"
    fi
    touch "$stamp"
}

# Debian versions of source package $1 listed in the private index, newest first.
apt_listed_versions() {
    apt-cache "${APT_OPTS[@]}" showsrc --only-source "$1" 2>>"$RESOLVE_LOG" |
        awk -v want="$1" '
            /^Package:/ { pkg = $2 }
            /^Version:/ { if (pkg == want) print $2 }' |
        sort -u | sort -r -V
}

# resolve_apt_source X.Y[.Z] REFRESH
# Sets SRC_TARBALL, SRC_SHA256, SRC_VERSION, SRC_PKG, SRC_PKG_VERSION.
# The resolution is remembered under $CACHE/src/resolved/, so later calls reuse
# the tarball without asking apt (pass REFRESH=1 to ask again).
resolve_apt_source() {
    local want=$1 refresh=${2:-0}
    local xy=${want%.*}
    [[ $want =~ ^[0-9]+\.[0-9]+$ ]] && xy=$want
    SRC_PKG="python$xy"
    local rec="$CACHE/src/resolved/python$want"
    if [[ $refresh == 0 && -f $rec ]] && resolved_load "$rec"; then
        return 0
    fi

    mkdir -p "$CACHE/src/resolved" "$CACHE/src/tarballs"
    RESOLVE_LOG="$CACHE/src/resolve.log"
    exec 8>"$CACHE/src/.apt.lock"
    flock 8
    # someone else may have resolved it while we waited
    if [[ $refresh == 0 && -f $rec ]] && resolved_load "$rec"; then
        exec 8>&-
        return 0
    fi
    printf '\n=== %s resolve %s\n' "$(date -u +%FT%TZ)" "$want" >>"$RESOLVE_LOG"
    apt_private_init
    if [[ $refresh == 1 ]]; then apt_private_update 0; else apt_private_update 1440; fi

    local versions v upstream tried=() dl
    versions=$(apt_listed_versions "$SRC_PKG")
    if [[ -z $versions ]]; then
        # the index may predate the package: refresh once, unless it is fresh
        apt_private_update 60
        versions=$(apt_listed_versions "$SRC_PKG")
    fi
    [[ -n $versions ]] || die "unknown version $want: the Debian archive has no source package $SRC_PKG (use --source DIR for a CPython checkout or tarball)"

    dl=$(mktemp -d "$CACHE/src/.dl.XXXXXX")
    for v in $versions; do
        upstream=${v%-*}
        upstream=${upstream#*:}
        if [[ $want != "$xy" && $upstream != "$want" ]]; then
            continue
        fi
        tried+=("$v")
        printf -- '--- trying %s=%s\n' "$SRC_PKG" "$v" >>"$RESOLVE_LOG"
        if (cd "$dl" && apt-get "${APT_OPTS[@]}" source --only-source --download-only "$SRC_PKG=$v") >>"$RESOLVE_LOG" 2>&1; then
            local orig
            orig=$(find "$dl" -maxdepth 1 -name "${SRC_PKG}_*.orig.tar.*" ! -name '*.asc' -print -quit)
            if [[ -n $orig ]]; then
                mv -f "$orig" "$CACHE/src/tarballs/"
                SRC_TARBALL="$CACHE/src/tarballs/$(basename "$orig")"
                SRC_SHA256=$(sha256sum "$SRC_TARBALL" | cut -d' ' -f1)
                SRC_VERSION=$upstream
                SRC_PKG_VERSION=$v
                rm -rf "$dl"
                {
                    printf 'pkg=%s\npkg_version=%s\nversion=%s\n' "$SRC_PKG" "$SRC_PKG_VERSION" "$SRC_VERSION"
                    printf 'tarball=%s\nsha256=%s\n' "$(basename "$SRC_TARBALL")" "$SRC_SHA256"
                } >"$rec.tmp"
                mv -f "$rec.tmp" "$rec"
                exec 8>&-
                return 0
            fi
        fi
        rm -rf "${dl:?}"/*
    done
    rm -rf "$dl"
    exec 8>&-
    if [[ ${#tried[@]} == 0 ]]; then
        die "unknown version $want: the archive lists $SRC_PKG only as $(echo "$versions" | tr '\n' ' ')(use --version $xy or --source DIR)"
    fi
    die "$SRC_PKG: the archive lists ${tried[*]} but none of them could be downloaded (see $RESOLVE_LOG); build it from a checkout or release tarball with --source DIR"
}

resolved_load() {
    local rec=$1 k v tarball="" sha=""
    SRC_PKG_VERSION="" SRC_VERSION=""
    while IFS='=' read -r k v; do
        case $k in
        pkg) SRC_PKG=$v ;;
        pkg_version) SRC_PKG_VERSION=$v ;;
        version) SRC_VERSION=$v ;;
        tarball) tarball=$v ;;
        sha256) sha=$v ;;
        esac
    done <"$rec"
    [[ -n $tarball && -n $sha && -n $SRC_VERSION && -f $CACHE/src/tarballs/$tarball ]] || return 1
    SRC_TARBALL="$CACHE/src/tarballs/$tarball"
    SRC_SHA256=$sha
}

# ---------------------------------------------------------------- source trees

# Files of source tree $1 that make up the source, NUL-separated, sorted.
# A git tree: tracked and untracked-but-not-ignored files (so build products of
# an in-place build are left out). Another tree: every file but .git.
source_file_list() {
    local dir=$1
    if [[ -n $SRC_GIT_REV ]]; then
        git -C "$dir" ls-files -z --cached --others --exclude-standard |
            (cd "$dir" && while IFS= read -r -d '' f; do
                [[ -f $f || -L $f ]] && printf '%s\0' "$f"
            done) | LC_ALL=C sort -z -u
    else
        (cd "$dir" && find . -path ./.git -prune -o \( -type f -o -type l \) -printf '%P\0') | LC_ALL=C sort -z
    fi
}

# Reads NUL-separated paths relative to the current directory and prints one
# line per entry: a symbolic link as the text it points to (never followed:
# since 3.14, CPython trees link to directories, Misc/mypy/_pyrepl), a file as
# the sha256 of its contents. Fails when a file cannot be read.
hash_source_entries() {
    local f files=()
    while IFS= read -r -d '' f; do
        if [[ -L $f ]]; then
            printf 'link %s -> %s\n' "$f" "$(readlink -- "$f")"
        else
            files+=("$f")
        fi
    done
    [[ ${#files[@]} -eq 0 ]] && return 0
    printf '%s\0' "${files[@]}" | xargs -0 -r sha256sum --
}

# inspect_source_dir DIR: sets SRC_DIR, SRC_VERSION, SRC_GIT_REV, SRC_GIT_DIRTY,
# SRC_IDENTITY. Exits 2 when DIR is not a CPython tree.
inspect_source_dir() {
    local dir=$1
    [[ -d $dir ]] || die "--source $dir: no such directory"
    SRC_DIR=$(cd "$dir" && pwd -P)
    if [[ ! -f $SRC_DIR/Include/Python.h || ! -f $SRC_DIR/configure || ! -f $SRC_DIR/Include/patchlevel.h ]]; then
        die "--source $dir is not a CPython source tree (no Include/Python.h and configure)"
    fi
    SRC_VERSION=$(sed -n 's/^#define[[:space:]]*PY_VERSION[[:space:]]*"\([^"]*\)".*/\1/p' "$SRC_DIR/Include/patchlevel.h")
    [[ -n $SRC_VERSION ]] || die "--source $dir: cannot read PY_VERSION from Include/patchlevel.h"
    SRC_GIT_REV="" SRC_GIT_DIRTY=false
    if command -v git >/dev/null && [[ $(git -C "$SRC_DIR" rev-parse --show-toplevel 2>/dev/null) == "$SRC_DIR" ]]; then
        SRC_GIT_REV=$(git -C "$SRC_DIR" rev-parse HEAD 2>/dev/null || true)
    fi
    if [[ -n $SRC_GIT_REV ]]; then
        if [[ -n $(git -C "$SRC_DIR" status --porcelain --untracked-files=normal 2>/dev/null) ]]; then
            SRC_GIT_DIRTY=true
        fi
    else
        # An unpacked tree configured or built in place would carry stale
        # objects into the copy we build: refuse it rather than guess.
        if [[ -f $SRC_DIR/Makefile || -f $SRC_DIR/pyconfig.h || -f $SRC_DIR/config.status ]]; then
            die "--source $dir has been configured in place (Makefile/pyconfig.h present): run 'make distclean' there or unpack a clean tree"
        fi
    fi
    if [[ -n $SRC_GIT_REV && $SRC_GIT_DIRTY == false ]]; then
        SRC_IDENTITY="git:$SRC_GIT_REV"
    else
        # contents of every file that will be copied (about 1 s for a CPython tree)
        local h
        h=$(source_file_list "$SRC_DIR" | (cd "$SRC_DIR" && hash_source_entries) | sha256sum | cut -d' ' -f1) ||
            die "--source $dir: cannot read every file of the tree to hash it"
        SRC_IDENTITY="tree:${SRC_GIT_REV:+$SRC_GIT_REV+dirty:}$h"
    fi
}

# copy_source_tree DIR DEST: copy the files source_file_list names.
copy_source_tree() {
    local dir=$1 dest=$2
    mkdir -p "$dest"
    source_file_list "$dir" | tar -C "$dir" --null --no-recursion -T - -cf - | tar -C "$dest" -xf -
}
