#!/usr/bin/env bash
# Runs `promtool check metrics` (Prometheus' parser and linter for the text
# exposition format) on the text of //tests/observability:expose_sample: a
# registry with every metric type and the escaping cases. Fails on any
# complaint, parse error or lint warning alike.
#
# Usage (by Bazel): promtool_test.sh path/to/expose_sample
# Needs /usr/bin/promtool, from Debian's `prometheus` package, which
# scripts/setup.sh installs; fails without it.
set -u
set -o pipefail

readonly PROMTOOL=/usr/bin/promtool
readonly SAMPLE_BIN="$1"
WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/promtool.XXXXXX")"
readonly WORK

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

if [ ! -x "$PROMTOOL" ]; then
  echo "FAIL: promtool not found: run scripts/setup.sh (expected $PROMTOOL)"
  exit 1
fi
"$PROMTOOL" --version 2>&1 | head -n 1

# check_metrics FILE: runs promtool on FILE (stdin); leaves its exit status
# in $check_status and everything it printed in $check_output.
check_metrics() {
  check_output="$("$PROMTOOL" check metrics <"$1" 2>&1)"
  check_status=$?
}

# --- Controls: this promtool does complain ------------------------------------
# Without these, a promtool that accepts anything would pass the test.
printf 'calls_total{code="OK} 1\n' >"$WORK/malformed.txt"
check_metrics "$WORK/malformed.txt"
if [ "$check_status" -eq 0 ] || [ -z "$check_output" ]; then
  fail "control: promtool accepted a malformed line (status $check_status)"
fi
printf '# HELP calls Calls.\n# TYPE calls counter\ncalls 1\n' \
  >"$WORK/lint.txt"
check_metrics "$WORK/lint.txt"
if [ "$check_status" -eq 0 ] || ! grep -q '_total' <<<"$check_output"; then
  fail "control: promtool did not flag a counter without _total" \
    "(status $check_status): $check_output"
fi

# --- The registry's text ------------------------------------------------------
if ! "$SAMPLE_BIN" >"$WORK/metrics.txt"; then
  fail "expose_sample exited with status $?"
fi

# The sample holds what it is meant to check (so that an empty or truncated
# text cannot pass): each type, escaping, the +Inf bucket, an empty family.
expected_lines=(
  '# TYPE usergateway_calls_total counter'
  '# HELP usergateway_calls_total Calls answered, by gRPC code and reason. Help with a \\ backslash,\na newline and "quotes".'
  'usergateway_calls_total{code="OK",reason=""} 41'
  'usergateway_calls_total{code="INVALID_ARGUMENT",reason="back\\slash \"quoted\"\nnewline"} 1'
  'usergateway_calls_total{code="UNKNOWN",reason="not UTF-8: '$'\xEF\xBF\xBD\xEF\xBF\xBD''"} 1'
  'usergateway_retries_total{reason="UPSTREAM_503"} 18446744073709551615'
  '# TYPE usergateway_in_flight_calls gauge'
  'usergateway_upstream_loop_queued_calls{loop="1"} -9223372036854775808'
  '# TYPE usergateway_call_duration_seconds histogram'
  'usergateway_call_duration_seconds_bucket{code="OK",le="0.00025"} 2'
  'usergateway_call_duration_seconds_bucket{code="OK",le="30"} 5'
  'usergateway_call_duration_seconds_bucket{code="OK",le="+Inf"} 6'
  'usergateway_call_duration_seconds_sum{code="OK"} 61.30095'
  'usergateway_call_duration_seconds_count{code="OK"} 6'
  'usergateway_call_duration_seconds_count{code="a \"quoted\\\" code\n"} 0'
  'usergateway_response_size_bytes_bucket{le="1e+06"} 1'
  'usergateway_response_size_bytes_bucket{le="1.5e+09"} 2'
  'usergateway_response_size_bytes_sum 1.24456789e+08'
  '# TYPE usergateway_upstream_attempt_duration_seconds histogram'
  '# TYPE usergateway_refusals_total counter'
)
for line in "${expected_lines[@]}"; do
  if ! grep -qxF -- "$line" "$WORK/metrics.txt"; then
    fail "expected line missing from the sample: $line"
  fi
done

check_metrics "$WORK/metrics.txt"
if [ "$check_status" -ne 0 ] || [ -n "$check_output" ]; then
  fail "promtool check metrics: status $check_status, output:"
  echo "$check_output"
  echo "--- the text checked:"
  cat "$WORK/metrics.txt"
else
  lines="$(wc -l <"$WORK/metrics.txt")"
  echo "promtool check metrics: no complaint ($lines lines)"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "PASS"
