#!/usr/bin/env bash
# The gateway's benchmark, in one run (issue 3): builds with --config=opt,
# starts nginx (Debian's, configured here) as a fast real upstream and the
# gateway on loopback, drives them with ghz and wrk, reads CPU, memory,
# threads and connections from /proc, runs the parser's Google Benchmark,
# prints one table and writes it to BENCHMARKS.md with each target marked
# met or not met. Stops every process it started, whatever happens.
#
# Usage: scripts/benchmark.sh [--smoke] [--keep]
#   --smoke  every step with tiny counts (seconds); judges no targets and
#            leaves BENCHMARKS.md alone. CI runs this.
#   --keep   keep the work directory (logs, raw ghz/wrk JSON) for a look.
# Exits non-zero when a step fails (a tool, a process, or any call that did
# not succeed). Missed targets are reported, not failures.
#
# Environment (optional): USERGATEWAY_BIN, PARSER_BENCHMARK_BIN: use these
# binaries instead of building; GHZ: the ghz binary (then setup is skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
load="$repo/tests/benchmarks/load"
started_at=$(date +%s)

smoke=0 keep=0
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "benchmark: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

# Counts. Full: enough calls for stable percentiles within the 10-minute
# budget on 2 cores. Smoke: just enough to exercise every tool.
if [ "$smoke" = 1 ]; then
  lat_warmup=20 lat_rounds=1 lat_calls=200 wrk_seconds=1
  rate_calls=300 sat_seconds=1 shard_rounds=1 shard_seconds=1
  metrics_rounds=1 metrics_calls=300
  hold_calls=200 hold_connections=10 hold_seconds=0.5
  parser_args=(--benchmark_min_time=0.01)
else
  lat_warmup=500 lat_rounds=5 lat_calls=2000 wrk_seconds=2
  rate_calls=10000 sat_seconds=10 shard_rounds=3 shard_seconds=5
  metrics_rounds=4 metrics_calls=5000
  hold_calls=10000 hold_connections=50 hold_seconds=2
  parser_args=(--benchmark_repetitions=5 --benchmark_report_aggregates_only=true)
fi
rate=1000 sat_concurrency=64 sat_connections=2

log() { echo "benchmark: [$(($(date +%s) - started_at)) s] $*" >&2; }
failures=()
fail_step() { log "FAILED: $*"; failures+=("$*"); }
die() { log "ERROR: $*"; exit 1; }
# stop_pid, wait_for_file, find_ghz, finish, trap_cleanup.
source "$repo/scripts/lib/processes.sh"

# --- processes and cleanup -------------------------------------------------
work="$(mktemp -d -t usergateway-bench.XXXXXX)"
results="$work/results"
mkdir -p "$results"
pids=()     # long-running servers started here, stopped on exit
fg_pid=""   # the load generator running now, if any

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$fg_pid" ]; then stop_pid "$fg_pid"; fi
  local pid
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  finish "$status"
}
trap_cleanup

# Runs a command in the background and waits for it, so that a signal to
# this script interrupts the wait and cleanup stops the command.
run_fg() {
  "$@" &
  fg_pid=$!
  local rc=0
  wait "$fg_pid" || rc=$?
  fg_pid=""
  return "$rc"
}

# Stops one server started earlier and forgets it.
stop_server() {
  local pid="$1" kept=() p
  stop_pid "$pid"
  for p in "${pids[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  pids=("${kept[@]}")
}

# --- 1. tools --------------------------------------------------------------
find_ghz
for tool in nginx wrk openssl python3; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
    die "$tool not found (scripts/setup.sh installs it)"
done
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
echo_module=/usr/lib/nginx/modules/ngx_http_echo_module.so
[ -f "$echo_module" ] ||
  die "nginx echo module missing ($echo_module): apt-get install libnginx-mod-http-echo"

# File descriptors: 10,000 held HTTP/1.1 calls are 10,000 upstream sockets
# in the gateway and as many in nginx. Raise the limit here, not by hand.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile="$(ulimit -n)"
[ "$nofile" = unlimited ] && nofile=65536
need_fds=$((hold_calls + 2000))
if [ "$nofile" -lt "$need_fds" ]; then
  die "open-file limit is $nofile (hard $(ulimit -Hn)); $need_fds are needed for $hold_calls held calls. Raise the hard limit (root, or limits.conf) and rerun"
fi

# --- 2. build --------------------------------------------------------------
parser_target=//tests/benchmarks:parser_benchmark
parser_bin="${PARSER_BENCHMARK_BIN:-}"
parser_note=""
if [ -n "${USERGATEWAY_BIN:-}" ]; then
  gateway_bin="$USERGATEWAY_BIN"
  [ -n "$parser_bin" ] || parser_note="PARSER_BENCHMARK_BIN not given"
else
  log "bazel build --config=opt //gateway:usergateway"
  bazel build --config=opt //gateway:usergateway >&2 ||
    die "bazel build --config=opt //gateway:usergateway failed"
  bazel_bin="$(bazel info --config=opt bazel-bin 2>/dev/null)"
  gateway_bin="$bazel_bin/gateway/usergateway"
  # The parser's Google Benchmark lives in its own package; should the target
  # be missing, the table says so instead of failing the run.
  if [ -z "$parser_bin" ]; then
    if bazel query "$parser_target" >/dev/null 2>&1; then
      log "bazel build --config=opt $parser_target"
      if bazel build --config=opt "$parser_target" >&2; then
        parser_bin="$bazel_bin/tests/benchmarks/parser_benchmark"
      else
        fail_step "bazel build --config=opt $parser_target"
        parser_note="build failed"
      fi
    else
      parser_note="$parser_target does not exist yet"
      log "WARNING: $parser_note; the parser row stays empty"
    fi
  fi
fi
[ -x "$gateway_bin" ] || die "gateway binary not found: $gateway_bin"
measure_started_at=$(date +%s)
cp /proc/loadavg "$results/loadavg_start"

# --- 3. parser benchmark (first, while the machine is quiet) --------------
if [ -n "$parser_bin" ]; then
  log "parser benchmark"
  run_fg "$parser_bin" --benchmark_format=json "${parser_args[@]}" \
    >"$results/parser.json" 2>"$work/parser.log" ||
    { fail_step "parser benchmark (see $work/parser.log)"; rm -f "$results/parser.json"; }
fi
printf '%s' "$parser_note" >"$results/parser_note.txt"

# --- 4. nginx --------------------------------------------------------------
nginx_dir="$work/nginx"
mkdir -p "$nginx_dir"
mapfile -t ports < <(python3 "$load/free_ports.py" 3)
http_port="${ports[0]}" tls_port="${ports[1]}" tls_http1_port="${ports[2]}"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$nginx_dir/upstream.key" -out "$nginx_dir/upstream.pem" -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  >"$work/openssl.log" 2>&1 || die "openssl could not make the upstream certificate"
python3 "$load/render_nginx_conf.py" --dir "$nginx_dir" \
  --users "$repo/tests/emulator/testdata/users.json" \
  --http_port "$http_port" --tls_port "$tls_port" \
  --tls_http1_port "$tls_http1_port" \
  --nofile "$nofile" --connections $((nofile - 100)) \
  --hold_seconds "$hold_seconds" --echo_module "$echo_module"
"$nginx_bin" -p "$nginx_dir" -e "$nginx_dir/error.log" -c "$nginx_dir/nginx.conf" \
  >"$work/nginx.out" 2>&1 &
nginx_pid=$!
pids+=("$nginx_pid")
user_id="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["user_id"])' "$nginx_dir/request.json")"
python3 "$load/check_upstream.py" \
  "http://127.0.0.1:$http_port/api/authn2/v0/user/$user_id" "$nginx_dir/body.json" ||
  die "nginx (HTTP/1.1) does not serve the fixture body; see $nginx_dir/error.log"
python3 "$load/check_upstream.py" --cacert "$nginx_dir/upstream.pem" \
  "https://127.0.0.1:$tls_port/api/authn2/v0/user/$user_id" "$nginx_dir/body.json" ||
  die "nginx (TLS) does not serve the fixture body; see $nginx_dir/error.log"
python3 "$load/check_upstream.py" --cacert "$nginx_dir/upstream.pem" \
  "https://127.0.0.1:$tls_http1_port/api/authn2/v0/user/$user_id" "$nginx_dir/body.json" ||
  die "nginx (TLS, HTTP/1.1 only) does not serve the fixture body; see $nginx_dir/error.log"
log "nginx (pid $nginx_pid) on 127.0.0.1:$http_port (HTTP/1.1), :$tls_port (TLS, h2) and :$tls_http1_port (TLS, HTTP/1.1 only)"

# --- 5. the gateway ----------------------------------------------------------
echo "benchmark-key" >"$work/api_key"
gateway_pid=""
start_gateway() {  # name, base URL, extra flags...
  local name="$1" url="$2"
  shift 2
  rm -f "$work/$name.port"
  "$gateway_bin" --listen=127.0.0.1:0 --port_file="$work/$name.port" \
    --upstream_base_url="$url" --api_key_file="$work/api_key" \
    --log_calls=false --drain_delay_ms=0 --drain_grace_ms=2000 \
    --max_in_flight=$((hold_calls * 2)) "$@" \
    >"$work/$name.out" 2>"$work/$name.log" &
  gateway_pid=$!
  pids+=("$gateway_pid")
  wait_for_file "$work/$name.port" "the gateway ($name)" "$gateway_pid"
  gateway_addr="127.0.0.1:$(cat "$work/$name.port")"
  log "gateway $name (pid $gateway_pid) at $gateway_addr -> $url"
}

ghz_common=(--insecure --disable-template-functions --disable-template-data
  -O json)
ghz_update=("${ghz_common[@]}"
  --proto "$repo/proto/usergateway/v1/user_profile.proto" -i "$repo/proto"
  --call usergateway.v1.UserProfileGateway/UpdateUserProfile
  -D "$nginx_dir/request.json")
ghz_health=("${ghz_common[@]}"
  --proto /usr/share/grpc-proto/grpc/health/v1/health.proto
  -i /usr/share/grpc-proto --call grpc.health.v1.Health/Check -d '{}')
[ -f /usr/share/grpc-proto/grpc/health/v1/health.proto ] ||
  die "health.proto missing (Debian package grpc-proto; scripts/setup.sh installs it)"

# Runs ghz under measure.py. name, then measure flags up to "--", then ghz
# flags; the ghz report goes to results/NAME.ghz.json.
measured_ghz() {
  local name="$1" measure_flags=()
  shift
  while [ "$1" != "--" ]; do measure_flags+=("$1"); shift; done
  shift
  run_fg python3 "$load/measure.py" run --out "$results/$name.measure.json" \
    "${measure_flags[@]}" -- "$ghz" "$@" -o "$results/$name.ghz.json" ||
    fail_step "$name: ghz exited non-zero"
}

start_gateway main "http://127.0.0.1:$http_port/api" --allow_insecure_http
main_pid="$gateway_pid" main_addr="$gateway_addr"
python3 "$load/measure.py" snapshot --pid "$main_pid" --upstream_port "$http_port" \
  --out "$results/idle_start.json"

# Latency at concurrency 1: through the gateway, bare gRPC (Health/Check on
# the same process), and the direct PUT to nginx. Interleaved in rounds so
# that other load on the machine falls on all three alike; the report pools
# the rounds.
log "latency at concurrency 1 ($lat_rounds rounds of $lat_calls calls each)"
run_fg "$ghz" "${ghz_update[@]}" -c 1 -n "$lat_warmup" -o "$work/warmup.json" "$main_addr" ||
  fail_step "warm-up: ghz exited non-zero"
run_fg "$ghz" "${ghz_health[@]}" -c 1 -n "$lat_warmup" -o "$work/warmup_health.json" "$main_addr" ||
  fail_step "warm-up (health): ghz exited non-zero"
python3 "$load/measure.py" snapshot --pid "$main_pid" --upstream_port "$http_port" \
  --out "$results/idle_warm.json"
for round in $(seq 1 "$lat_rounds"); do
  run_fg "$ghz" "${ghz_update[@]}" -c 1 -n "$lat_calls" \
    -o "$results/lat_gateway.$round.ghz.json" "$main_addr" ||
    fail_step "latency round $round: ghz exited non-zero"
  run_fg "$ghz" "${ghz_health[@]}" -c 1 -n "$lat_calls" \
    -o "$results/lat_health.$round.ghz.json" "$main_addr" ||
    fail_step "latency round $round (health): ghz exited non-zero"
  WRK_RESULT="$results/lat_direct.$round.wrk.json" run_fg wrk -t1 -c1 \
    -d"${wrk_seconds}s" -s "$load/wrk_put.lua" \
    "http://127.0.0.1:$http_port/api/authn2/v0/user/$user_id" \
    >"$work/wrk.$round.out" 2>&1 || fail_step "wrk exited non-zero (see $work/wrk.$round.out)"
done

# Where the latency goes, server side: the same calls at concurrency 1 on
# a gateway that logs each call (handler start to Finish, and the upstream
# attempt inside it). Logging costs a write per call, so these figures stay
# out of the target rows above.
start_gateway logged "http://127.0.0.1:$http_port/api" --allow_insecure_http \
  --log_calls=true
run_fg "$ghz" "${ghz_update[@]}" -c 1 -n "$lat_warmup" -o "$work/warmup_logged.json" \
  "$gateway_addr" || fail_step "warm-up (logged): ghz exited non-zero"
log_offset=$(stat -c %s "$work/logged.log")
log "latency breakdown from the call log ($lat_calls calls at concurrency 1)"
run_fg "$ghz" "${ghz_update[@]}" -c 1 -n "$lat_calls" \
  -o "$results/lat_logged.ghz.json" "$gateway_addr" ||
  fail_step "latency breakdown: ghz exited non-zero"
stop_server "$gateway_pid"
tail -c +$((log_offset + 1)) "$work/logged.log" >"$results/lat_logged.calls.log"

# CPU at a fixed rate, then throughput (and CPU) at saturation.
log "CPU at $rate calls/s ($rate_calls calls)"
measured_ghz cpu_rate --pid "gateway=$main_pid" --pid "nginx=$nginx_pid" -- \
  "${ghz_update[@]}" --rps "$rate" -c 16 -n "$rate_calls" "$main_addr"
# The same for Health/Check: what bare gRPC costs on this machine.
measured_ghz cpu_rate_health --pid "gateway=$main_pid" -- \
  "${ghz_health[@]}" --rps "$rate" -c 16 -n "$rate_calls" "$main_addr"
log "throughput at concurrency $sat_concurrency (${sat_seconds} s each)"
measured_ghz sat_gateway --pid "gateway=$main_pid" --pid "nginx=$nginx_pid" -- \
  "${ghz_update[@]}" -c "$sat_concurrency" --connections "$sat_connections" \
  -z "${sat_seconds}s" --duration-stop=wait "$main_addr"
measured_ghz sat_health --pid "gateway=$main_pid" -- \
  "${ghz_health[@]}" -c "$sat_concurrency" --connections "$sat_connections" \
  -z "${sat_seconds}s" --duration-stop=wait "$main_addr"
stop_server "$main_pid"
sed -n 's/.*(\([0-9]*\) upstream loops).*/\1/p' "$work/main.out" \
  >"$results/main.upstream_loops"

# Sharding: the same saturation load on a gateway with the default upstream
# loops (one per CPU) and on one with a single loop, in alternating rounds
# so that other load on the machine falls on both alike.
start_gateway many_loops "http://127.0.0.1:$http_port/api" --allow_insecure_http
many_pid="$gateway_pid" many_addr="$gateway_addr"
start_gateway one_loop "http://127.0.0.1:$http_port/api" --allow_insecure_http \
  --upstream_loops=1
one_pid="$gateway_pid" one_addr="$gateway_addr"
for addr in "$many_addr" "$one_addr"; do
  run_fg "$ghz" "${ghz_update[@]}" -c 1 -n "$lat_warmup" -o "$work/warmup_shard.json" \
    "$addr" || fail_step "warm-up (sharding): ghz exited non-zero"
done
log "sharding: $shard_rounds rounds of ${shard_seconds} s at concurrency $sat_concurrency, default loops vs one"
for round in $(seq 1 "$shard_rounds"); do
  measured_ghz "shard_many.$round" --pid "gateway=$many_pid" --pid "nginx=$nginx_pid" -- \
    "${ghz_update[@]}" -c "$sat_concurrency" --connections "$sat_connections" \
    -z "${shard_seconds}s" --duration-stop=wait "$many_addr"
  measured_ghz "shard_one.$round" --pid "gateway=$one_pid" --pid "nginx=$nginx_pid" -- \
    "${ghz_update[@]}" -c "$sat_concurrency" --connections "$sat_connections" \
    -z "${shard_seconds}s" --duration-stop=wait "$one_addr"
done
stop_server "$many_pid"
stop_server "$one_pid"

# Metrics on (--admin_listen: recorded, and scraped every round) vs off
# (nothing recorded), at the fixed rate, alternating rounds: the CPU and
# latency the metrics cost.
start_gateway metrics_on "http://127.0.0.1:$http_port/api" --allow_insecure_http \
  --admin_listen=127.0.0.1:0 --admin_port_file="$work/metrics_on.admin_port"
on_pid="$gateway_pid" on_addr="$gateway_addr"
start_gateway metrics_off "http://127.0.0.1:$http_port/api" --allow_insecure_http
off_pid="$gateway_pid" off_addr="$gateway_addr"
for addr in "$on_addr" "$off_addr"; do
  run_fg "$ghz" "${ghz_update[@]}" -c 1 -n "$lat_warmup" -o "$work/warmup_metrics.json" \
    "$addr" || fail_step "warm-up (metrics): ghz exited non-zero"
done
log "metrics: $metrics_rounds rounds of $metrics_calls calls at $rate calls/s, on vs off"
for round in $(seq 1 "$metrics_rounds"); do
  measured_ghz "metrics_on.$round" --pid "gateway=$on_pid" -- \
    "${ghz_update[@]}" --rps "$rate" -c 16 -n "$metrics_calls" "$on_addr"
  python3 -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=10).read())' \
    "http://127.0.0.1:$(cat "$work/metrics_on.admin_port")/metrics" \
    >"$results/metrics_scrape.txt" || fail_step "metrics: /metrics scrape failed"
  measured_ghz "metrics_off.$round" --pid "gateway=$off_pid" -- \
    "${ghz_update[@]}" --rps "$rate" -c 16 -n "$metrics_calls" "$off_addr"
done
stop_server "$on_pid"
stop_server "$off_pid"

# In-flight scale: hold_calls calls at once while nginx holds each for
# hold_seconds, once over HTTP/1.1 (a connection per call) and once over
# HTTP/2 with TLS (multiplexed). A fresh gateway each, warmed up with one
# held call per gRPC connection, so that "before" is a gateway that has
# served calls.
hold_run() {  # name, base URL, upstream port, extra gateway flags...
  local name="$1" url="$2" port="$3"
  shift 3
  start_gateway "$name" "$url" "$@"
  log "$hold_calls calls in flight, held ${hold_seconds} s ($name)"
  run_fg "$ghz" "${ghz_update[@]}" -c "$hold_connections" \
    --connections "$hold_connections" -n "$hold_connections" \
    -o "$work/$name.warmup.json" "$gateway_addr" ||
    fail_step "$name warm-up: ghz exited non-zero"
  measured_ghz "$name" --pid "gateway=$gateway_pid" --pid "nginx=$nginx_pid" \
    --sample "$gateway_pid" --upstream_port "$port" -- \
    "${ghz_update[@]}" -c "$hold_calls" --connections "$hold_connections" \
    -n "$hold_calls" "$gateway_addr"
  stop_server "$gateway_pid"
}
hold_run hold_http1 "http://127.0.0.1:$http_port/hold/api" "$http_port" \
  --allow_insecure_http
# The same with a single upstream loop: there the loop's work (10,000
# connects, sends and completions) is the limit, so this shows what the
# default sharding gains.
hold_run hold_http1_one_loop "http://127.0.0.1:$http_port/hold/api" "$http_port" \
  --allow_insecure_http --upstream_loops=1
# HTTP/2 over TLS with the default flags: the automatic host limit (one
# connection per 100 calls, libcurl's CURLMOPT_MAX_CONCURRENT_STREAMS) keeps
# a burst from opening a TLS connection per call while the first ones are
# still in their handshake.
hold_run hold_http2 "https://127.0.0.1:$tls_port/hold/api" "$tls_port" \
  --ca_bundle="$nginx_dir/upstream.pem"
# An https upstream that declines h2, default flags: the limit follows what
# was negotiated, so every call gets a connection as over http://.
hold_run hold_tls_http1 "https://127.0.0.1:$tls_http1_port/hold/api" \
  "$tls_http1_port" --ca_bundle="$nginx_dir/upstream.pem"

# --- 6. the report -----------------------------------------------------------
report_flags=(--results "$results" --seconds $(($(date +%s) - started_at))
  --measure_seconds $(($(date +%s) - measure_started_at))
  --hold_seconds "$hold_seconds" --ghz "$ghz" --nginx "$nginx_bin")
if [ "$smoke" = 1 ]; then
  report_flags+=(--smoke --command "scripts/benchmark.sh --smoke")
else
  report_flags+=(--markdown "$repo/BENCHMARKS.md" --command "scripts/benchmark.sh")
fi
for failure in "${failures[@]}"; do report_flags+=(--failure "$failure"); done
python3 "$load/report.py" "${report_flags[@]}" || exit 1
