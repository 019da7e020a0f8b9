#!/usr/bin/env bash
# Installs what is missing, builds the CPython flavours the tests need (cached
# outside the checkout, in ${GILRACE_CACHE:-~/.cache/gilrace}), builds gilrace
# against each, and runs the test suite against each build:
#
#   1. the system python3 (GIL)                       every test
#   2. free-threaded 3.13 (Debian's source package)   every test
#   3. the build scripts' own checks, and scenario plugins end to end: gilrace installed
#      to a temporary prefix, examples/out-of-tree built against it, run, and refused
#      by the free-threaded gilrace (tests/scripts/test-plugin.sh)
#   4. free-threaded 3.13 with gh-132713's fix taken out: the list-union-repr tests
#   5. free-threaded 3.13 under ThreadSanitizer (gilrace built with clang
#      -fsanitize=thread too): the tests labelled tsan. GILRACE_TSAN=0 skips it.
#   6. each prefix (or interpreter) in GILRACE_EXTRA_PYTHONS="P1 P2 ...": every test,
#      for builds CI does not make (3.14, 3.15, debug, a bisect step). The tests
#      take their expectations from the build they run on (`gilrace info`, and
#      `gilrace list` for the CPython bugs of that version and flavour).
#
# Every test case counts once: CTest runs each on its own, and each build-script
# check is one. A test case that cannot run on a build is skipped (exit 77 and a
# "gilrace-skip: <reason>" line) and listed at the end with its reason. A stage
# that runs no test, a missing patch, a CPython or a gilrace that does not build
# are failures. The last line reads "test.sh: N passed, N failed, N skipped".
#
# Safe to run again: nothing cached is rebuilt.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. scripts/lib/deps.sh

passed=0
failed=0
skipped=0
failures=() # "stage: test (why)"
skips=()    # "stage: test: reason"
started=$SECONDS

stage() { printf '\n=== %s (at %ds)\n' "$*" $((SECONDS - started)); }
fail() {
  failed=$((failed + 1))
  failures+=("$1")
}
skip() {
  skipped=$((skipped + 1))
  skips+=("$1")
}

# count_ctest NAME LOG LASTTEST: adds one CTest run to the totals. LOG is what
# ctest printed; LASTTEST its Testing/Temporary/LastTest.log (every test's output,
# where a skipped test's "gilrace-skip: <reason>" line is).
count_ctest() {
  local name=$1 log=$2 lasttest=$3 line total bad ran=0 test reason reasons
  if grep -q "No tests were found" "$log"; then
    fail "$name: no test ran"
    return
  fi
  # "93% tests passed, 2 tests failed out of 30": skipped tests are among the "passed".
  line=$(grep -E "^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -n 1 || true)
  if [[ -z $line ]]; then
    fail "$name: ctest did not finish"
    return
  fi
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  bad=$(sed -E 's/.*tests passed, ([0-9]+) tests failed.*/\1/' <<<"$line")
  # Then "The following tests did not run:" with a line "<tab> 12 - NAME (Skipped)" each,
  # and "The following tests FAILED:" with "<tab> 13 - NAME (Failed)" each.
  reasons=$(awk '
    /^[0-9]+\/[0-9]+ Testing: / { sub(/^[0-9]+\/[0-9]+ Testing: /, ""); test = $0; next }
    /^gilrace-skip: / { sub(/^gilrace-skip: /, ""); print test "\t" $0 }' "$lasttest" 2>/dev/null || true)
  while IFS= read -r test; do
    [[ -n $test ]] || continue
    reason=$(awk -F'\t' -v t="$test" '$1 == t { print $2; exit }' <<<"$reasons")
    skip "$name: $test: ${reason:-no reason given (exit 77 without a gilrace-skip line)}"
    total=$((total - 1))
  done < <(sed -n '/^The following tests did not run:/,/^$/p' "$log" |
    sed -nE 's/^[[:space:]]+[0-9]+ - (.*) \((Skipped|Disabled)\)$/\1/p')
  while IFS= read -r test; do
    [[ -n $test ]] && failures+=("$name: $test")
  done < <(sed -n '/^The following tests FAILED:/,/^$/p' "$log" |
    sed -nE 's/^[[:space:]]+[0-9]+ - (.*)$/\1/p')
  ran=$((total - bad))
  passed=$((passed + ran))
  failed=$((failed + bad))
  if ((ran + bad == 0)); then fail "$name: every test was skipped, none ran"; fi
}

# run_ctest NAME BUILD_DIR [ctest args...]: runs CTest and counts what it did.
run_ctest() {
  local name=$1 dir=$2 log
  shift 2
  log=$(mktemp)
  set +e
  ctest --test-dir "$dir" -j "$(nproc)" --output-on-failure --timeout 1500 "$@" 2>&1 | tee "$log"
  set -e
  count_ctest "$name" "$log" "$dir/Testing/Temporary/LastTest.log"
  rm -f "$log"
}

# cpython ARGS...: builds a CPython with scripts/build-cpython.sh (cached) and
# prints its prefix; fails when it does not build.
cpython() {
  local prefix
  prefix=$(scripts/build-cpython.sh "$@" | tail -n 1) || return 1
  [[ -n $prefix ]] && echo "$prefix"
}

# suite NAME PYTHON [build-harness args...] [-- ctest args...]: one stage: builds
# gilrace against PYTHON (a prefix or an interpreter) and runs its tests. Sets
# SUITE_BIN to the gilrace it built ("" when it did not build).
suite() {
  local name=$1 python=$2 bin
  SUITE_BIN=
  shift 2
  local build_args=()
  while [[ $# -gt 0 && $1 != -- ]]; do
    build_args+=("$1")
    shift
  done
  [[ $# -gt 0 ]] && shift # the --
  stage "tests: $name"
  if ! bin=$(scripts/build-harness.sh --python "$python" "${build_args[@]}" | tail -n 1) ||
    [[ ! -x $bin ]]; then
    fail "$name: gilrace did not build against $python"
    return 0
  fi
  SUITE_BIN=$bin
  run_ctest "$name" "$(dirname "$bin")" "$@"
}

# script_checks NAME SCRIPT [ARGS...]: a tests/scripts/ script that prints "ok   ...",
# "FAIL ..." or "skip ..." per check and "N passed, M failed[, K skipped]" last.
script_checks() {
  local name=$1 log rc=0 ok bad sk last line
  shift
  stage "$name"
  log=$(mktemp)
  "$@" 2>&1 | tee "$log" || rc=$?
  ok=$(grep -c '^ok   ' "$log" || true)
  bad=$(grep -c '^FAIL ' "$log" || true)
  sk=$(grep -c '^skip ' "$log" || true)
  passed=$((passed + ok))
  failed=$((failed + bad))
  while IFS= read -r line; do failures+=("$name: ${line#FAIL }"); done < <(grep '^FAIL ' "$log")
  while IFS= read -r line; do skip "$name: ${line#skip }"; done < <(grep '^skip ' "$log")
  last=$(tail -n 1 "$log")
  if [[ ! $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)?$ ]] ||
    [[ ${BASH_REMATCH[1]} != "$ok" || ${BASH_REMATCH[2]} != "$bad" ||
      ${BASH_REMATCH[4]:-0} != "$sk" ]]; then
    fail "$name: did not finish, or its counts disagree with its lines (exit $rc, last line: $last)"
  elif ((rc != 0 && bad == 0)); then
    fail "$name: exit $rc without a failed check"
  elif ((ok + bad == 0)); then
    fail "$name: no check ran"
  fi
  rm -f "$log"
}

stage "dependencies"
gilrace_ensure_packages "${GILRACE_TEST_DEPS[@]}"

suite "system python3" /usr/bin/python3
system_bin=$SUITE_BIN

ft_bin=
if ft=$(cpython --version 3.13 --free-threading); then
  suite "free-threaded 3.13" "$ft"
  ft_bin=$SUITE_BIN
else
  fail "free-threaded 3.13: CPython did not build"
fi

script_checks "build scripts" tests/scripts/test-build-cpython.sh
if [[ -n $system_bin ]]; then
  script_checks "plugins" tests/scripts/test-plugin.sh "$(dirname "$system_bin")" "$ft_bin"
else
  fail "plugins: no gilrace against the system python3 to install"
fi

revert=scripts/patches/revert-gh-132713.patch
if [[ ! -f $revert ]]; then
  fail "free-threaded 3.13, gh-132713 reverted: $revert is missing"
elif unfixed=$(cpython --version 3.13 --free-threading --patch "$revert"); then
  suite "free-threaded 3.13, gh-132713 reverted" "$unfixed" \
    --build-dir "$ROOT/build/py3.13t-unfixed-132713" -- -L list_union_repr
else
  fail "free-threaded 3.13, gh-132713 reverted: CPython did not build"
fi

if [[ ${GILRACE_TSAN:-1} == 0 ]]; then
  skip "free-threaded 3.13 + TSAN: the whole stage (GILRACE_TSAN=0)"
elif tsan=$(cpython --version 3.13 --free-threading --tsan); then
  suite "free-threaded 3.13 + TSAN" "$tsan" --sanitizer thread -- -L tsan
else
  fail "free-threaded 3.13 + TSAN: CPython did not build"
fi

for extra in ${GILRACE_EXTRA_PYTHONS:-}; do
  if [[ ! -e $extra ]]; then
    fail "GILRACE_EXTRA_PYTHONS: $extra: no such prefix or interpreter"
    continue
  fi
  extra_args=()
  extra_py=$extra
  [[ -d $extra ]] && extra_py=$extra/bin/python3
  # A ThreadSanitizer CPython runs the tests labelled tsan, as stage 5 does.
  if [[ $("$extra_py" -c 'import sysconfig; print("--with-thread-sanitizer" in (sysconfig.get_config_var("CONFIG_ARGS") or ""))' 2>/dev/null) == True ]]; then
    extra_args=(-- -L tsan)
  fi
  suite "$(basename "$extra")" "$extra" "${extra_args[@]}"
done

stage "done"
for s in "${skips[@]}"; do printf 'skipped: %s\n' "$s"; done
for f in "${failures[@]}"; do printf 'FAILED: %s\n' "$f"; done
echo "test.sh: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
