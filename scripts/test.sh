#!/usr/bin/env bash
# Installs what is missing, builds the CPython flavours the tests need (cached
# outside the checkout, in ${GILRACE_CACHE:-~/.cache/gilrace}), builds gilrace
# against each, and runs the test suite against each build:
#
#   1. the system python3 (GIL)                       every test
#   2. free-threaded 3.13 (Debian's source package)   every test
#   3. the build scripts' own tests
#   4. free-threaded 3.13 with gh-132713's fix taken out: the list-union-repr test
#   5. free-threaded 3.13 under ThreadSanitizer (gilrace built with clang
#      -fsanitize=thread too): the tests labelled tsan. GILRACE_TSAN=0 skips it.
#
# Safe to run again: nothing cached is rebuilt. Ends with "N passed, N failed".
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. scripts/lib/deps.sh

passed=0
failed=0
failed_suites=()
started=$SECONDS

stage() { printf '\n=== %s (at %ds)\n' "$*" $((SECONDS - started)); }

# run_ctest NAME BUILD_DIR [ctest args...]: runs CTest, adds its counts to the totals.
run_ctest() {
  local name=$1 dir=$2 log
  shift 2
  log=$(mktemp)
  stage "tests: $name"
  set +e
  ctest --test-dir "$dir" -j "$(nproc)" --output-on-failure --timeout 1500 "$@" 2>&1 | tee "$log"
  set -e
  local line total bad
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -n 1 || true)
  if [[ -z $line ]]; then
    if grep -q "No tests were found" "$log"; then
      echo "$name: no tests matched" >&2
    else
      failed=$((failed + 1))
      failed_suites+=("$name (ctest did not finish)")
    fi
  else
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    bad=$(sed -E 's/.*tests passed, ([0-9]+) tests failed.*/\1/' <<<"$line")
    passed=$((passed + total - bad))
    failed=$((failed + bad))
    [[ $bad -eq 0 ]] || failed_suites+=("$name")
  fi
  rm -f "$log"
}

# harness PYTHON [build-harness args...]: builds gilrace, prints its build dir.
harness() {
  local bin
  bin=$(scripts/build-harness.sh --python "$@" | tail -n 1)
  dirname "$bin"
}

stage "dependencies"
gilrace_ensure_packages "${GILRACE_DEPS[@]}"

stage "gilrace against the system python3"
dir=$(harness /usr/bin/python3)
run_ctest "system python3" "$dir"

stage "free-threaded CPython 3.13"
ft=$(scripts/build-cpython.sh --version 3.13 --free-threading | tail -n 1)
dir=$(harness "$ft")
run_ctest "free-threaded 3.13" "$dir"

stage "build scripts"
if tests/scripts/test-build-cpython.sh; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  failed_suites+=("build scripts")
fi

stage "free-threaded CPython 3.13 without the gh-132713 fix"
if [[ -f scripts/patches/revert-gh-132713.patch ]]; then
  unfixed=$(scripts/build-cpython.sh --version 3.13 --free-threading \
    --patch scripts/patches/revert-gh-132713.patch | tail -n 1)
  dir=$(harness "$unfixed" --build-dir "$ROOT/build/py3.13t-unfixed-132713")
  run_ctest "free-threaded 3.13, gh-132713 reverted" "$dir" -L list_union_repr
fi

if [[ ${GILRACE_TSAN:-1} != 0 ]]; then
  stage "free-threaded CPython 3.13 under ThreadSanitizer"
  tsan=$(scripts/build-cpython.sh --version 3.13 --free-threading --tsan | tail -n 1)
  dir=$(harness "$tsan" --sanitizer thread)
  run_ctest "free-threaded 3.13 + TSAN" "$dir" -L tsan
fi

stage "done"
if [[ ${#failed_suites[@]} -gt 0 ]]; then
  printf 'failed in: %s\n' "${failed_suites[@]}"
fi
echo "test.sh: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
