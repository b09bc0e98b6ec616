#!/usr/bin/env bash
# Installs what is missing, then runs every test: the whole Bazel suite
# (unit, integration against the upstream emulator, end to end with the
# built binaries, grpcurl and grpc-health-probe), once normally and once
# under AddressSanitizer + UBSan; and the benchmark's smoke run
# (scripts/benchmark.sh --smoke, seconds, no targets judged) on the binaries
# the first pass built, counted as one test, so that it never rots.
# Ends with one line: `N passed, N failed` (and `, N skipped` when any).
#
# Usage: scripts/test.sh [--quick]   (--quick: skip the ASan pass)
set -uo pipefail
cd "$(dirname "$0")/.."

tools="$(scripts/setup.sh | sed -n 's/^tools: //p')" || true
if [ -z "$tools" ]; then
  echo "test: setup failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

configs=("default")
[ "${1:-}" = "--quick" ] || configs+=("asan")

test_env=(
  "--test_env=GRPCURL=$tools/grpcurl"
  "--test_env=GRPC_HEALTH_PROBE=$tools/grpc-health-probe"
  "--test_env=GHZ=$tools/ghz"
)

total_passed=0 total_failed=0 total_skipped=0 status=0
for config in "${configs[@]}"; do
  flags=()
  [ "$config" = "default" ] || flags=("--config=$config")
  log="$(mktemp)"
  echo "test: bazel test ${flags[*]} //..." >&2
  bazel test "${flags[@]}" "${test_env[@]}" --keep_going //... 2>&1 | tee "$log" >&2
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  testlogs="$(bazel info "${flags[@]}" bazel-testlogs 2>/dev/null)"
  read -r p f s < <(python3 scripts/summarize_tests.py "$testlogs" "$log")
  echo "test: [$config] $p passed, $f failed, $s skipped" >&2
  total_passed=$((total_passed + p))
  total_failed=$((total_failed + f))
  total_skipped=$((total_skipped + s))
  rm -f "$log"

  if [ "$config" = "default" ]; then
    bin="$(bazel info bazel-bin 2>/dev/null)"
    echo "test: scripts/benchmark.sh --smoke" >&2
    if USERGATEWAY_BIN="$bin/gateway/usergateway" \
       PARSER_BENCHMARK_BIN="$bin/tests/benchmarks/parser_benchmark" \
       GHZ="$tools/ghz" scripts/benchmark.sh --smoke >&2; then
      echo "test: [benchmark smoke] passed" >&2
      total_passed=$((total_passed + 1))
    else
      echo "FAILED: benchmark smoke run (scripts/benchmark.sh --smoke)" >&2
      total_failed=$((total_failed + 1))
    fi
  fi
done

[ "$total_failed" = 0 ] || status=1
if [ "$total_passed" = 0 ]; then status=1; fi
if [ "$total_skipped" != 0 ]; then
  echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
else
  echo "$total_passed passed, $total_failed failed"
fi
exit "$status"
