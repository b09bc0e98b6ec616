#!/usr/bin/env bash
# Installs what is missing, then runs every test: the whole Bazel suite
# (unit, integration against the upstream emulator, end to end with the
# built binaries, grpcurl and grpc-health-probe), once normally and once
# under AddressSanitizer + UBSan; then the suites outside Bazel (run_step
# below), each on the binaries the first pass built: the benchmark's smoke
# run (scripts/benchmark.sh --smoke, seconds, no targets judged, one test, so
# that it never rots); a 60-s soak (scripts/soak.sh, one test per check);
# the Python and Go clients' tests against the built gateway and emulator
# (client/*/run_tests.sh); `buf lint` and `buf breaking` on the contract;
# the container image built and run with podman (tests/deploy/image_test.sh,
# which builds the gateway with --config=opt); the Kubernetes manifests
# rendered, linted and dry-run applied to a kube-apiserver on loopback
# (tests/deploy/manifests_test.sh); every fuzzer for 60 s (scripts/fuzz.sh,
# one test per fuzzer, built with clang-14 in an output base of its own);
# and the tests that link no gRPC under ThreadSanitizer (scripts/tsan.sh).
# Ends with one line: `N passed, N failed` (and `, N skipped` when any).
#
# Usage: scripts/test.sh [--quick]   (--quick: skip the ASan and TSan passes)
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

# run_step NAME COMMAND...: runs one suite outside Bazel with its output on
# stderr. When its last line is `N passed, N failed` (`, N skipped` may
# follow) those counts are added; otherwise the step counts as one test,
# passed when it exits 0. A non-zero exit with no failure counted is one
# failure, so that nothing broken goes uncounted.
run_step() {
  local name="$1" out p f s rc line
  shift
  out="$(mktemp)"
  echo "test: $name" >&2
  "$@" 2>&1 | tee "$out" >&2
  rc="${PIPESTATUS[0]}"
  line="$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$out" |
    tail -n 1 || true)"
  rm -f "$out"
  p=0 f=0 s=0
  if [ -n "$line" ]; then
    line="${line#*: }"
    p="$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")"
    f="$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")"
    if [[ "$line" =~ ([0-9]+)\ skipped ]]; then s="${BASH_REMATCH[1]}"; fi
  elif [ "$rc" = 0 ]; then
    p=1
  fi
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
  echo "test: [$name] $p passed, $f failed, $s skipped" >&2
  [ "$f" = 0 ] || echo "FAILED: $name" >&2
  total_passed=$((total_passed + p))
  total_failed=$((total_failed + f))
  total_skipped=$((total_skipped + s))
}

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
done

# Suites outside Bazel, on the binaries the default pass built.
bin="$(bazel info bazel-bin 2>/dev/null)"
run_step "benchmark smoke (scripts/benchmark.sh --smoke)" \
  env USERGATEWAY_BIN="$bin/gateway/usergateway" \
  PARSER_BENCHMARK_BIN="$bin/tests/benchmarks/parser_benchmark" \
  GHZ="$tools/ghz" scripts/benchmark.sh --smoke
run_step "soak (60 s)" env USERGATEWAY_BIN="$bin/gateway/usergateway" UPSTREAM_EMULATOR_BIN="$bin/tests/emulator/upstream_emulator" GHZ="$tools/ghz" scripts/soak.sh --seconds 60
run_step "client/python (pytest)" env USERGATEWAY_BIN="$bin/gateway/usergateway" \
  EMULATOR_BIN="$bin/tests/emulator/upstream_emulator" \
  PYTHON="$(dirname "$tools")/client-venv/bin/python" client/python/run_tests.sh
run_step "client/go (go test)" env USERGATEWAY_BIN="$bin/gateway/usergateway" \
  EMULATOR_BIN="$bin/tests/emulator/upstream_emulator" TOOLS="$tools" \
  client/go/run_tests.sh
run_step "buf lint (proto/, buf.yaml)" "$tools/buf" lint
run_step "buf breaking (proto/ against contract/usergateway_v1.json)" \
  "$tools/buf" breaking --against contract/usergateway_v1.json
run_step "container image (tests/deploy/image_test.sh)" \
  env TOOLS="$tools" tests/deploy/image_test.sh
run_step "Kubernetes manifests (tests/deploy/manifests_test.sh)" \
  env TOOLS="$tools" tests/deploy/manifests_test.sh
run_step "fuzzers (60 s each)" scripts/fuzz.sh --seconds 60
[ "${1:-}" = "--quick" ] || run_step "ThreadSanitizer (scripts/tsan.sh)" scripts/tsan.sh

[ "$total_failed" = 0 ] || status=1
if [ "$total_passed" = 0 ]; then status=1; fi
if [ "$total_skipped" != 0 ]; then
  echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
else
  echo "$total_passed passed, $total_failed failed"
fi
exit "$status"
