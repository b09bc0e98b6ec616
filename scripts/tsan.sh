#!/usr/bin/env bash
# Runs every Bazel test that links no gRPC under ThreadSanitizer
# (`bazel test --config=tsan`), and counts its test cases.
#
# Which tests: `bazel query` picks every cc_test that does not depend on
# @system//:grpc++ (and is not tagged "no_tsan"), so that a new test joins
# by itself. Debian's gRPC and abseil are not built for TSan: a test that
# links gRPC gets false reports from gRPC's own threads (its synchronisation
# is invisible to TSan), so those tests are left to the ASan pass. The
# subset holds the upstream stage (the libcurl event loops, attempts,
# retries, retry and response budgets: gateway/upstream, whose locks are
# std::mutex so that TSan sees them), the stress test of those loops
# (tests/soak:upstream_stress_test), the metrics registry, the call log,
# the admin server, the API key source and the emulator. See README "Soak
# and sanitizers".
#
# One case is filtered out: CurlUpstreamClientTest.ManyHeldCallsCompleteTogether
# asserts that 500 calls held 300 ms by the server overlap (one connection
# each, all done within 3 s); under TSan's 5-15x slowdown starting them
# takes longer than the hold, so one connection is legitimately reused. It
# measures the loop's speed, not its thread safety.
#
# Usage: scripts/tsan.sh        Ends with `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
started_at=$(date +%s)

query='kind(cc_test, //...) except rdeps(//..., "@system//:grpc++") except attr(tags, "no_tsan", //...)'
excluded="CurlUpstreamClientTest.ManyHeldCallsCompleteTogether"

mapfile -t targets < <(bazel query "$query" 2>/dev/null)
if [ "${#targets[@]}" = 0 ]; then
  echo "tsan: bazel query found no test to run" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
echo "tsan: ${#targets[@]} test targets link no gRPC: ${targets[*]}" >&2

log="$(mktemp)"
view="$(mktemp -d)"
trap 'rm -rf "$log" "$view"' EXIT
status=0
# GTEST_FILTER rather than --gtest_filter: not every test is a gtest binary
# (the fuzzers' corpus replays take file arguments).
bazel test --config=tsan --keep_going "--test_env=GTEST_FILTER=-$excluded" \
  "${targets[@]}" 2>&1 | tee "$log" >&2
[ "${PIPESTATUS[0]}" = 0 ] || status=1

# Count only this run's targets: a tree of links to their test logs (the
# TSan testlogs directory may hold others run by hand).
testlogs="$(bazel info --config=tsan bazel-testlogs 2>/dev/null)"
for target in "${targets[@]}"; do
  package="${target#//}" && package="${package%%:*}"
  mkdir -p "$view/$package"
  [ -e "$testlogs/$package/${target##*:}" ] &&
    ln -s "$testlogs/$package/${target##*:}" "$view/$package/${target##*:}"
done
read -r passed failed skipped < <(python3 scripts/summarize_tests.py "$view" "$log")
if [ "$status" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
echo "tsan: ${#targets[@]} targets in $(($(date +%s) - started_at)) s" >&2
if [ "$skipped" != 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ] && [ "$status" = 0 ]
