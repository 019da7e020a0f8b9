# shellcheck shell=bash
# What the CI scripts share: the CPython flavours the workflows name, and how
# to get a gilrace built against each. Sourced by ci/*.sh.
#
#   system        the machine's /usr/bin/python3 (Debian 12: 3.11, with the GIL)
#   3.13          CPython 3.13 with the GIL             (scripts/build-cpython.sh, cached)
#   3.13t         free-threaded CPython 3.13            (idem)
#   3.13t-debug   free-threaded CPython 3.13, --with-pydebug
#   3.13t-tsan    free-threaded CPython 3.13 under ThreadSanitizer (gilrace built with it too)

CI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

ci_die() { # one line on stderr, exit 2
  printf '%s: error: %s\n' "${PROG:-ci}" "$*" >&2
  exit 2
}
ci_log() { printf '%s: %s\n' "${PROG:-ci}" "$*" >&2; }

# ci_python FLAVOUR: the interpreter or install prefix of that flavour (built when missing).
ci_python() {
  local build=("$CI_ROOT/scripts/build-cpython.sh" --version 3.13)
  case $1 in
  system) echo /usr/bin/python3 ;;
  3.13) "${build[@]}" | tail -n 1 ;;
  3.13t) "${build[@]}" --free-threading | tail -n 1 ;;
  3.13t-debug) "${build[@]}" --free-threading --debug | tail -n 1 ;;
  3.13t-tsan) "${build[@]}" --free-threading --tsan | tail -n 1 ;;
  *)
    printf '%s: error: unknown flavour %s (system, 3.13, 3.13t, 3.13t-debug, 3.13t-tsan)\n' \
      "${PROG:-ci}" "'$1'" >&2
    return 2
    ;;
  esac
}

# ci_gilrace FLAVOUR: builds gilrace against that flavour (incrementally) and prints the binary.
ci_gilrace() {
  local python
  python=$(ci_python "$1") || return
  "$CI_ROOT/scripts/build-harness.sh" --python "$python" | tail -n 1
}
