#!/usr/bin/env bash
# End-to-end test of the gateway's metrics with a real Prometheus: the built
# gateway (//gateway:usergateway, --admin_listen on a port the kernel picks,
# reported through --admin_port_file) in front of the built upstream
# emulator, Debian's Prometheus server scraping the admin port every second,
# and grpcurl making the calls. Checks what an operator would: the admin
# endpoints, that Prometheus counts exactly the calls made (by code and
# reason) and computes a latency quantile from the histogram, that
# `promtool check metrics` accepts a scrape, and that a SIGTERM drain shows
# in /readyz and in Prometheus.
#
# Needs GRPCURL (path to the binary) in the test environment, and
# /usr/bin/prometheus and /usr/bin/promtool (Debian's `prometheus` package,
# which scripts/setup.sh installs; PROMETHEUS and PROMTOOL override the
# paths). Fails, never skips, without them. Also needs python3 (HTTP and
# JSON).
#
# Ports: the emulator and the gateway bind port 0 and write the port they
# got to a file. Prometheus cannot report a port it picked, so the script
# asks the kernel for a free loopback port (bind 0, read it, close), starts
# Prometheus on it, and tries again with another port (up to 5 times) when
# Prometheus exits because the port was taken in between.
#
# Each check is one JUnit <testcase> in $XML_OUTPUT_FILE; a line per check on
# stdout (the Prometheus query results included); the exit status is
# non-zero when any check failed.
set -u
set -o pipefail

# --- Environment -------------------------------------------------------------

RUNFILES="${TEST_SRCDIR:-$0.runfiles}/${TEST_WORKSPACE:-user_profile_gateway}"
GATEWAY_BIN="$RUNFILES/gateway/usergateway"
EMULATOR_BIN="$RUNFILES/tests/emulator/upstream_emulator"
FIXTURE="$RUNFILES/tests/emulator/testdata/users.json"
WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/prometheus_e2e.XXXXXX")"
XML_OUT="${XML_OUTPUT_FILE:-$WORK/test.xml}"

for name in $(compgen -e); do
  case "$name" in
    GATEWAY_* | EMULATOR_* | http_proxy | https_proxy | HTTP_PROXY | \
      HTTPS_PROXY | all_proxy | ALL_PROXY | grpc_proxy | no_grpc_proxy)
      unset "$name"
      ;;
  esac
done

readonly VALID_KEY="prom-e2e-key-71d3c9a0e5b2"
readonly ADA_USER_ID="3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d"
readonly ADA_ENTERPRISE_ID="9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79"
readonly UNKNOWN_USER_ID="00000000-0000-4000-8000-00000000e2e9"
readonly METHOD="usergateway.v1.UserProfileGateway/UpdateUserProfile"
readonly GRPCURL_NOT_FOUND=69
# The calls check 02 makes: OK_CALLS successes and NOT_FOUND_CALLS unknown
# users; Prometheus must count exactly their sum.
readonly OK_CALLS=5 NOT_FOUND_CALLS=2
readonly CALLS=$((OK_CALLS + NOT_FOUND_CALLS))
# The gateway's drain delay: long enough for a 1 s scrape to see it.
readonly DRAIN_DELAY_MS=5000
readonly START_TIMEOUT_MS=60000
readonly STOP_TIMEOUT_MS=30000
# How long Prometheus may take to show what the gateway counted (a few
# 1 s scrapes; generous for sanitizer builds).
readonly QUERY_TIMEOUT_S=30

PROMETHEUS="${PROMETHEUS:-/usr/bin/prometheus}"
PROMTOOL="${PROMTOOL:-/usr/bin/promtool}"
TOOLS_ERROR=""
if [ -z "${GRPCURL:-}" ]; then
  TOOLS_ERROR+="GRPCURL is not set (pass --test_env=GRPCURL=<path>; "
  TOOLS_ERROR+="scripts/test.sh does). "
elif [ ! -x "$GRPCURL" ]; then
  TOOLS_ERROR+="GRPCURL=$GRPCURL is not an executable file. "
fi
for tool in "$PROMETHEUS" "$PROMTOOL"; do
  if [ ! -x "$tool" ]; then
    TOOLS_ERROR+="$tool is missing: run scripts/setup.sh (it installs "
    TOOLS_ERROR+="Debian's prometheus package). "
  fi
done
command -v python3 >/dev/null ||
  TOOLS_ERROR+="python3 is missing: run scripts/setup.sh. "
[ -z "$TOOLS_ERROR" ] || echo "prometheus_e2e_test: $TOOLS_ERROR" >&2

# --- Processes -----------------------------------------------------------------

PIDS=()
declare -A PID_OF
declare -A REAPED

now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }

kill_all() {
  local pid deadline
  for pid in "${PIDS[@]}"; do
    [ -n "${REAPED[$pid]:-}" ] || kill -TERM "$pid" 2>/dev/null
  done
  deadline=$(( $(now_ms) + STOP_TIMEOUT_MS ))
  for pid in "${PIDS[@]}"; do
    [ -n "${REAPED[$pid]:-}" ] && continue
    while kill -0 "$pid" 2>/dev/null && (( $(now_ms) < deadline )); do
      sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  PIDS=()
}

on_exit() {
  kill_all
  if [ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]; then
    cp "$WORK"/*.out "$WORK"/*.err "$WORK"/check-*.log "$WORK"/*.yml \
      "$TEST_UNDECLARED_OUTPUTS_DIR"/ 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

start_process() {  # NAME COMMAND...: output in $WORK/NAME.out and .err
  local name="$1"
  shift
  echo "+ start $name: $*"
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=("$!")
  PID_OF[$name]=$!
}

# Waits until FILE is non-empty while NAME runs; prints its contents.
wait_port_file() {
  local name="$1" file="$2" deadline
  deadline=$(( $(now_ms) + START_TIMEOUT_MS ))
  until [ -s "$file" ]; do
    if ! kill -0 "${PID_OF[$name]}" 2>/dev/null; then
      echo "FAILED: $name exited before writing $file; its stderr:" >&2
      tail -n 40 "$WORK/$name.err" >&2
      return 1
    fi
    if (( $(now_ms) >= deadline )); then
      echo "FAILED: $name wrote no $file within ${START_TIMEOUT_MS} ms" >&2
      return 1
    fi
    sleep 0.05
  done
  cat "$file"
}

EXIT_RC=""
wait_exit() {  # PID TIMEOUT_MS: sets EXIT_RC; returns 1 on timeout
  local pid="$1" deadline
  deadline=$(( $(now_ms) + $2 ))
  while kill -0 "$pid" 2>/dev/null; do
    (( $(now_ms) < deadline )) || return 1
    sleep 0.02
  done
  wait "$pid"
  EXIT_RC=$?
  REAPED[$pid]=1
  return 0
}

# --- Assertions ------------------------------------------------------------------

CHECK_FAILED=0
fail() {
  echo "FAILED: $*"
  CHECK_FAILED=1
}

RC=""
run() {  # OUT COMMAND...: stdout in $WORK/OUT.out, stderr in .err; sets RC
  local out="$1"
  shift
  echo "+ $*"
  "$@" >"$WORK/$out.out" 2>"$WORK/$out.err"
  RC=$?
  awk '{ print "  | " $0 }' "$WORK/$out.out" "$WORK/$out.err" | head -n 200
  echo "  (exit status $RC)"
}

expect_rc() {
  [ "$RC" = "$1" ] || fail "exit status $RC, want $1"
}

# --- HTTP and the Prometheus API (python3) -----------------------------------------

cat >"$WORK/prom_http.py" <<'PYTHON'
"""HTTP helpers for prometheus_e2e_test.sh.

  get URL                  prints "STATUS BODY" (exit 0 on any response,
                           1 when there was none)
  expect URL STATUS BODY   exit 1 (printing why) unless the reply matches
  free_port                prints a loopback port that was free just now
  wait_ready URL PID S     waits for 200 from URL while PID lives
                           (exit 1 if it died, 2 on timeout)
  wait_query PORT EXPR OP WANT S
                           queries Prometheus's HTTP API until the instant
                           vector EXPR has one sample whose value OP
                           (eq, gt) WANT, for at most S seconds; prints the
                           API's last answer; exit 1 on timeout
"""
import http.client
import json
import math
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url, timeout=5):
    """Returns (status, body); raises OSError when no HTTP reply came."""
    try:
        with OPENER.open(url, timeout=timeout) as reply:
            return reply.status, reply.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")
    except http.client.HTTPException as error:  # not HTTP/1.x at all
        raise OSError(f"not an HTTP/1.x reply: {error!r}") from error


def main():
    command = sys.argv[1]
    if command == "get":
        try:
            status, body = get(sys.argv[2])
        except OSError as error:
            print(f"no response: {error}")
            sys.exit(1)
        print(status, body, end="")
    elif command == "expect":
        url, want_status, want_body = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        try:
            status, body = get(url)
        except OSError as error:
            print(f"FAILED: GET {url}: no response: {error}")
            sys.exit(1)
        print(f"GET {url} -> {status} {body!r}")
        if status != want_status or body != want_body:
            print(f"FAILED: GET {url}: got {status} {body!r}, "
                  f"want {want_status} {want_body!r}")
            sys.exit(1)
    elif command == "free_port":
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            print(s.getsockname()[1])
    elif command == "wait_ready":
        url, pid, seconds = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
        deadline = time.monotonic() + seconds
        while True:
            try:
                os.kill(pid, 0)
            except OSError:
                sys.exit(1)
            try:
                if get(url, timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                sys.exit(2)
            time.sleep(0.1)
    elif command == "wait_query":
        port, expr, op = sys.argv[2], sys.argv[3], sys.argv[4]
        want, seconds = float(sys.argv[5]), float(sys.argv[6])
        url = (f"http://127.0.0.1:{port}/api/v1/query?"
               + urllib.parse.urlencode({"query": expr}))
        deadline = time.monotonic() + seconds
        last = None
        while True:
            try:
                status, body = get(url)
                last = f"HTTP {status}: {body}"
                answer = json.loads(body)
                result = answer.get("data", {}).get("result", [])
                if answer.get("status") == "success" and len(result) == 1:
                    value = float(result[0]["value"][1])
                    if not math.isnan(value) and (
                            (op == "eq" and value == want) or
                            (op == "gt" and value > want)):
                        print(f"query {expr}")
                        print(f"  -> {body}")
                        return
            except (OSError, ValueError, KeyError) as error:
                last = f"error: {error}"
            if time.monotonic() >= deadline:
                print(f"FAILED: within {seconds} s, Prometheus never "
                      f"answered {expr} with one sample {op} {want}; its "
                      f"last answer: {last}")
                sys.exit(1)
            time.sleep(0.25)


main()
PYTHON

http() { python3 "$WORK/prom_http.py" "$@"; }

expect_http() {  # URL STATUS BODY: the check fails unless the reply matches
  http expect "$@" 2>&1 | awk '{ print "  | " $0 }'
  [ "${PIPESTATUS[0]}" = 0 ] || CHECK_FAILED=1
}

expect_query() {  # EXPR OP WANT: Prometheus answers it within the timeout
  echo "+ Prometheus: $1 ($2 $3)"
  http wait_query "$PROM_PORT" "$1" "$2" "$3" "$QUERY_TIMEOUT_S" 2>&1 |
    awk '{ print "  | " $0 }'
  [ "${PIPESTATUS[0]}" = 0 ] || CHECK_FAILED=1
}

update_request() {  # USER_ID FIRST_NAME -> the request as JSON
  printf '{"enterprise_id":"%s","user_id":"%s","first_name":"%s"}' \
    "$ADA_ENTERPRISE_ID" "$1" "$2"
}

grpcurl_cmd() {
  "$GRPCURL" -plaintext -connect-timeout 10 -max-time 30 "$@"
}

# --- The stack: emulator, gateway (with its admin listener), Prometheus -------

EMULATOR_PORT="" GRPC_ADDR="" ADMIN_PORT="" PROM_PORT="" STACK_ERROR=""

start_prometheus() {
  cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: usergateway
    static_configs:
      - targets: ["127.0.0.1:$ADMIN_PORT"]
EOF
  echo "+ prometheus.yml:"
  sed 's/^/  | /' "$WORK/prometheus.yml"
  local try port rc
  for try in 1 2 3 4 5; do
    port="$(http free_port)" || return 1
    rm -rf "$WORK/tsdb"
    start_process prometheus "$PROMETHEUS" \
      --config.file="$WORK/prometheus.yml" \
      --storage.tsdb.path="$WORK/tsdb" \
      --web.listen-address="127.0.0.1:$port"
    http wait_ready "http://127.0.0.1:$port/-/ready" \
      "${PID_OF[prometheus]}" $((START_TIMEOUT_MS / 1000))
    rc=$?
    if [ "$rc" = 0 ]; then
      PROM_PORT="$port"
      echo "Prometheus ready on 127.0.0.1:$PROM_PORT (try $try)"
      return 0
    fi
    if [ "$rc" = 1 ] && grep -q "address already in use" "$WORK/prometheus.err"; then
      echo "port $port was taken before Prometheus bound it; another try"
      wait "${PID_OF[prometheus]}" 2>/dev/null
      REAPED[${PID_OF[prometheus]}]=1
      continue
    fi
    echo "Prometheus did not become ready (status $rc); its log:"
    tail -n 40 "$WORK/prometheus.err"
    return 1
  done
  echo "no free port for Prometheus in 5 tries"
  return 1
}

need_stack() {
  if [ -n "$TOOLS_ERROR" ]; then
    fail "$TOOLS_ERROR"
    return 1
  fi
  if [ -n "$STACK_ERROR" ]; then
    fail "the stack did not start: $STACK_ERROR"
    return 1
  fi
  [ -n "$PROM_PORT" ] && return 0
  start_process emulator "$EMULATOR_BIN" --listen=127.0.0.1:0 \
    --port_file="$WORK/emulator.port" --users="$FIXTURE" \
    --api_key="$VALID_KEY"
  if ! EMULATOR_PORT="$(wait_port_file emulator "$WORK/emulator.port")"; then
    STACK_ERROR="upstream_emulator did not start"
    fail "$STACK_ERROR"
    return 1
  fi
  printf '%s' "$VALID_KEY" >"$WORK/valid.key"
  start_process gateway "$GATEWAY_BIN" --listen=127.0.0.1:0 \
    --port_file="$WORK/gateway.port" \
    --admin_listen=127.0.0.1:0 --admin_port_file="$WORK/admin.port" \
    --upstream_base_url="http://127.0.0.1:$EMULATOR_PORT/api" \
    --allow_insecure_http --api_key_file="$WORK/valid.key" \
    --drain_delay_ms="$DRAIN_DELAY_MS" --drain_grace_ms=5000
  local port
  if ! port="$(wait_port_file gateway "$WORK/gateway.port")" ||
     ! ADMIN_PORT="$(wait_port_file gateway "$WORK/admin.port")"; then
    STACK_ERROR="usergateway did not start: $(tail -n 20 "$WORK/gateway.err")"
    fail "$STACK_ERROR"
    return 1
  fi
  GRPC_ADDR="127.0.0.1:$port"
  echo "emulator on port $EMULATOR_PORT, gateway on $GRPC_ADDR, admin on port $ADMIN_PORT"
  if ! start_prometheus; then
    STACK_ERROR="prometheus did not start"
    fail "$STACK_ERROR"
    return 1
  fi
}

# --- Checks ------------------------------------------------------------------------

check_admin_endpoints() {
  need_stack || return 1
  local admin="http://127.0.0.1:$ADMIN_PORT"
  expect_http "$admin/healthz" 200 $'ok\n'
  expect_http "$admin/readyz" 200 $'ready\n'
  expect_http "$admin/nope" 404 $'not found\n'
  run metrics_head http get "$admin/metrics"
  expect_rc 0
  grep -q '^200 # HELP usergateway_' "$WORK/metrics_head.out" ||
    fail "/metrics did not answer 200 with the exposition"
  # The gRPC port is no HTTP/1.1 server (gRPC answers with h2 frames):
  # no exposition there.
  run grpc_port_http http get "http://$GRPC_ADDR/metrics"
  if [ "$RC" = 0 ] || grep -q "usergateway_" "$WORK/grpc_port_http.out"; then
    fail "the gRPC port answered HTTP/1.1"
  fi
}

check_prometheus_counts_calls() {
  need_stack || return 1
  # Calls must come after Prometheus's first scrape of the gateway, so that
  # rate() sees the histogram grow rather than start at its final value.
  expect_query 'up{job="usergateway"}' eq 1
  [ "$CHECK_FAILED" = 0 ] || return 1
  local i
  for ((i = 0; i < OK_CALLS; i++)); do
    run "ok_call_$i" grpcurl_cmd -d "$(update_request "$ADA_USER_ID" "Ada$i")" \
      "$GRPC_ADDR" "$METHOD"
    expect_rc 0
  done
  for ((i = 0; i < NOT_FOUND_CALLS; i++)); do
    run "not_found_call_$i" grpcurl_cmd \
      -d "$(update_request "$UNKNOWN_USER_ID" "Nobody")" "$GRPC_ADDR" "$METHOD"
    expect_rc "$GRPCURL_NOT_FOUND"
  done
  expect_query 'sum(usergateway_calls_total)' eq "$CALLS"
  # The rest reads the same scrapes: no use waiting for them in vain.
  [ "$CHECK_FAILED" = 0 ] || return 1
  expect_query 'sum(usergateway_calls_total{code="OK",reason=""})' eq \
    "$OK_CALLS"
  expect_query \
    'sum(usergateway_calls_total{code="NOT_FOUND",reason="UPSTREAM_NOT_FOUND"})' \
    eq "$NOT_FOUND_CALLS"
  expect_query \
    'histogram_quantile(0.5, sum(rate(usergateway_call_duration_seconds_bucket[1m])) by (le))' \
    gt 0
  expect_query 'sum(usergateway_call_duration_seconds_count)' eq "$CALLS"
}

check_promtool_check_metrics() {
  need_stack || return 1
  run scrape http get "http://127.0.0.1:$ADMIN_PORT/metrics"
  expect_rc 0
  # The body without the status that `get` puts in front of it.
  sed '1s/^200 //' "$WORK/scrape.out" >"$WORK/scrape.txt"
  run promtool "$PROMTOOL" check metrics <"$WORK/scrape.txt"
  expect_rc 0
  local series
  series="$(grep -c '^usergateway_' "$WORK/scrape.txt")"
  echo "the scrape has $series samples"
  (( series >= 10 )) || fail "the scrape has only $series samples"
}

check_drain_seen() {
  need_stack || return 1
  local admin="http://127.0.0.1:$ADMIN_PORT" term_ms
  echo "+ kill -TERM gateway"
  term_ms="$(now_ms)"
  kill -TERM "${PID_OF[gateway]}"
  local deadline=$(( term_ms + DRAIN_DELAY_MS )) seen=""
  while (( $(now_ms) < deadline )); do
    if [ "$(http get "$admin/readyz")" = $'503 draining' ]; then
      seen=yes
      break
    fi
    sleep 0.05
  done
  if [ -z "$seen" ]; then
    fail "/readyz did not say 503 draining within the ${DRAIN_DELAY_MS} ms drain delay"
  else
    echo "/readyz 503 draining after $(( $(now_ms) - term_ms )) ms"
  fi
  expect_http "$admin/healthz" 200 $'ok\n'
  echo "+ Prometheus: usergateway_draining (eq 1) within the drain delay"
  http wait_query "$PROM_PORT" 'usergateway_draining' eq 1 \
    $((DRAIN_DELAY_MS / 1000)) 2>&1 | awk '{ print "  | " $0 }'
  [ "${PIPESTATUS[0]}" = 0 ] || CHECK_FAILED=1
  if wait_exit "${PID_OF[gateway]}" $((DRAIN_DELAY_MS + STOP_TIMEOUT_MS)); then
    [ "$EXIT_RC" = 0 ] || fail "the gateway exited with $EXIT_RC after SIGTERM"
  else
    fail "the gateway still runs long after SIGTERM"
  fi
  # Gone: Prometheus marks the target down.
  expect_query 'up{job="usergateway"}' eq 0
}

check_clean_shutdown() {
  need_stack || return 1
  local name
  for name in prometheus emulator; do
    kill -TERM "${PID_OF[$name]}"
    if wait_exit "${PID_OF[$name]}" "$STOP_TIMEOUT_MS"; then
      [ "$EXIT_RC" = 0 ] || fail "$name exit status $EXIT_RC after SIGTERM"
    else
      fail "$name still running ${STOP_TIMEOUT_MS} ms after SIGTERM"
    fi
  done
  local file
  for file in "$WORK"/gateway.err "$WORK"/emulator.err; do
    if grep -E -q 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$file"; then
      fail "sanitizer report in $(basename "$file"):"
      head -n 60 "$file"
    fi
  done
  if grep -q -F "$VALID_KEY" "$WORK"/gateway.* "$WORK/scrape.txt" 2>/dev/null; then
    fail "the API key appears in the gateway's output or metrics"
  fi
}

# --- Runner and report ---------------------------------------------------------------

CASES_XML="" FAILED=0 TOTAL=0

xml_escape() {
  tr -d '\000-\010\013\014\016-\037' | sed -e 's/&/\&amp;/g' \
    -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'
}

run_check() {
  local name="$1" func="$2" log="$WORK/check-$1.log" start rc ms seconds
  CHECK_FAILED=0
  start="$(now_ms)"
  "$func" >"$log" 2>&1
  rc=$?
  [ "$rc" = 0 ] || CHECK_FAILED=1
  ms=$(( $(now_ms) - start ))
  seconds="$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  TOTAL=$((TOTAL + 1))
  if [ "$CHECK_FAILED" = 0 ]; then
    echo "PASS $name (${seconds}s)"
    sed 's/^/    /' "$log"
    CASES_XML+="  <testcase name=\"$name\" classname=\"prometheus_e2e\" time=\"$seconds\"/>"$'\n'
  else
    FAILED=$((FAILED + 1))
    echo "FAIL $name (${seconds}s)"
    sed 's/^/    /' "$log"
    local message
    message="$(grep -m1 '^ *|* *FAILED: ' "$log" | sed 's/^.*FAILED: //' | xml_escape)"
    CASES_XML+="  <testcase name=\"$name\" classname=\"prometheus_e2e\" time=\"$seconds\">"
    CASES_XML+="<failure message=\"${message:-failed}\">"
    CASES_XML+="$(tail -c 65536 "$log" | xml_escape)</failure></testcase>"$'\n'
  fi
}

SUITE_START="$(now_ms)"
run_check 01_admin_endpoints check_admin_endpoints
run_check 02_prometheus_counts_calls check_prometheus_counts_calls
run_check 03_promtool_check_metrics check_promtool_check_metrics
run_check 04_drain_seen check_drain_seen
run_check 05_clean_shutdown check_clean_shutdown

suite_ms=$(( $(now_ms) - SUITE_START ))
{
  echo '<?xml version="1.0" encoding="UTF-8"?>'
  echo '<testsuites>'
  printf '<testsuite name="%s" tests="%d" failures="%d" errors="0" time="%d.%03d">\n' \
    "${TEST_TARGET:-//tests/e2e:prometheus_e2e_test}" "$TOTAL" "$FAILED" \
    $((suite_ms / 1000)) $((suite_ms % 1000))
  printf '%s' "$CASES_XML"
  echo '</testsuite>'
  echo '</testsuites>'
} >"$XML_OUT"

echo "$((TOTAL - FAILED)) of $TOTAL checks passed"
[ "$FAILED" = 0 ]
