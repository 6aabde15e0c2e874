#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every
# test twice — in the normal build and in the ASan + UBSan build.
#
# With CI=true a skipped test is a failure: CI must exercise every feature.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

run_suite() {
  local build_dir=$1
  local log="$build_dir/ctest.log"
  echo "[test] running the suite in $build_dir"
  local status=0
  # Tests are independent and bind ephemeral ports, so they can run in parallel; two more than
  # the cores, since the integration tests spend most of their time waiting on the processes
  # they drive (the longest take as long under ASan as without it).
  ctest --test-dir "$build_dir" --output-on-failure -j "$(( $(nproc 2>/dev/null || echo 2) + 2 ))" \
    --timeout 300 2>&1 | tee "$log" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "[test] FAILED in $build_dir" >&2
    return "$status"
  fi
  if [ "${CI:-}" = "true" ] && grep -qE '\(Skipped\)|Not Run' "$log"; then
    echo "[test] tests were skipped in $build_dir, which CI does not allow:" >&2
    grep -E '\(Skipped\)|Not Run' "$log" >&2
    return 1
  fi
}

bash scripts/build.sh
run_suite build

# The sanitizer build reports memory errors, leaks and undefined behaviour as test failures.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
bash scripts/build.sh --sanitize
run_suite build-asan

echo "[test] all suites passed (normal and ASan + UBSan builds)"
