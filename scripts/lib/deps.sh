# Installs, with apt, the Debian packages gilrace needs to build, test and run,
# when they are missing. Sourced by run.sh and test.sh; safe to run again.

# What building and running gilrace needs (scripts/run.sh, support-table.sh, users' CI).
GILRACE_DEPS=(cmake ninja-build g++ pkg-config libcli11-dev libfmt-dev catch2 nlohmann-json3-dev
  python3-dev gdb ccache)
# What only the tests and benchmarks need (scripts/test.sh, bench.sh): `gilrace replay --rr`
# (it says so where the machine has no performance counters), headless Chromium to render
# the HTML report and PyYAML to check ci/'s YAML in the nightly tests, hyperfine for bench.sh.
GILRACE_TEST_DEPS=("${GILRACE_DEPS[@]}" rr chromium python3-yaml hyperfine)

gilrace_missing_packages() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  printf '%s\n' "${missing[@]}"
}

gilrace_ensure_packages() {
  local missing sudo=()
  mapfile -t missing < <(gilrace_missing_packages "$@" | sed '/^$/d')
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  echo "installing: ${missing[*]}" >&2
  # apt's lists may be absent on a fresh machine; update only when needed.
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >&2; then
    "${sudo[@]}" apt-get update -q >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${missing[@]}" >&2
  fi
}
