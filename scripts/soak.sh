#!/usr/bin/env bash
# The gateway's soak (issue 11): sustained load with a mix of faults against
# the real binaries, failing when the gateway's memory, descriptors or
# threads grow after warm-up, or when the mix did not happen as injected.
#
# Starts the upstream emulator (HTTPS, a CA made for the run) and the gateway
# on loopback ports the kernel picks, with short upstream connection
# lifetimes; drives the gateway with ghz for the whole run: successes,
# upstream 404/400/503, slow answers, connection resets, callers whose
# deadline passes and callers that cancel (they close their connection
# mid-call), plus faults queued in the emulator; rotates the API key a third
# of the way in (the emulator then refuses the old one). Samples the
# gateway's RSS, open fds and threads (/proc) and its counters (/metrics)
# every few seconds, prints a line per sample, a summary table, one line per
# check, and ends with `N passed, N failed`. Stops every process it started,
# whatever happens.
#
# Usage: scripts/soak.sh [--seconds N | --minutes N] [--keep] [--record]
#   --seconds N, --minutes N  load time, warm-up included (default 60 s;
#            60 s to 4 h). Setup, start and the quiet points add ~10 s.
#   --keep   keep the work directory (logs, samples, ghz reports).
#   --record write the figures to RELIABILITY.md (its "## Notes" are kept).
# Exits 1 when a check failed, 2 on a usage error.
#
# Environment (optional): USERGATEWAY_BIN, UPSTREAM_EMULATOR_BIN: use these
# binaries instead of building them (both or neither); GHZ: the ghz binary
# (then setup is skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
helper="$repo/tests/soak/soak.py"
started_at=$(date +%s)

seconds=60 keep=0 record=0
command_line="scripts/soak.sh $*"
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds|--minutes)
      [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "soak: $1 needs a whole number" >&2; exit 2; }
      seconds="$2"
      [ "$1" = --minutes ] && seconds=$((seconds * 60))
      shift 2 ;;
    --keep) keep=1; shift ;;
    --record) record=1; shift ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$seconds" -lt 60 ] || [ "$seconds" -gt 14400 ]; then
  echo "soak: the load time must be 60 s to 4 h (got $seconds s)" >&2
  exit 2
fi

# Phases: a warm-up (a quarter of the time, 10 to 60 s) with the full mix,
# a quiet point, the measured phase, a quiet point. A sample every 5 s
# (10 s from 20 minutes on).
warmup=$((seconds / 4))
[ "$warmup" -lt 10 ] && warmup=10
[ "$warmup" -gt 60 ] && warmup=60
main_seconds=$((seconds - warmup))
interval=5
[ "$seconds" -ge 1200 ] && interval=10
quiet=3
# The old key is refused from 1/3 of the measured phase plus 10 s on, so
# that the calls and retries which read it before the rotation are over.
rotate_at=$((main_seconds / 3))
revoke_at=$((rotate_at + 10))
# Short upstream connection lifetimes (whole seconds, the minimum).
connection_age_ms=1000

# The load (ghz --rps caps each stream):
#  plain  60/s, 4 workers, no fault header: Ada, Nadia, Zoe and an unknown
#         user in turn (OK, 404), plus the faults queued in the emulator at
#         every sample (503 x3 and a reset, retried and then answered; a 400).
#  mix    40/s, 32 workers, timeout 1 s, a fault header per call by request
#         number modulo 10: 0-2 none, 3 status 400, 4 status 404, 5 status 503
#         (every attempt), 6 reset (every attempt), 7-8 delay 300 ms, 9 delay
#         2 s (the caller's deadline passes: the gateway answers
#         DEADLINE_EXCEEDED just before it).
#  cancel 2-s ghz runs one after the other, 5/s, 10 workers, each call
#         delayed 3 s: every call is in flight when its run closes the
#         connection, so the gateway sees it cancelled.
plain_rps=60 mix_rps=40 cancel_rps=5
nominal_rate=$((plain_rps + mix_rps + cancel_rps))

log() { echo "soak: [$(($(date +%s) - started_at)) s] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# stop_pid, wait_for_file, find_ghz, finish, trap_cleanup.
source "$repo/scripts/lib/processes.sh"

# --- processes and cleanup -------------------------------------------------
work="$(mktemp -d -t usergateway-soak.XXXXXX)"
mkdir -p "$work/ghz"
pids=()  # every process started here, stopped on exit

forget_pid() {
  local kept=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
  pids=("${kept[@]}")
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local i
  # Load generators first, servers last (reverse order of start).
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[$i]}"; done
  finish "$status"
}
trap_cleanup

event() { echo "$1" >>"$work/events.jsonl"; }

# --- 1. tools and binaries ---------------------------------------------------
find_ghz
command -v python3 >/dev/null || die "python3 not found (scripts/setup.sh installs it)"

if [ -n "${USERGATEWAY_BIN:-}" ] || [ -n "${UPSTREAM_EMULATOR_BIN:-}" ]; then
  gateway_bin="${USERGATEWAY_BIN:-}" emulator_bin="${UPSTREAM_EMULATOR_BIN:-}"
  [ -n "$gateway_bin" ] && [ -n "$emulator_bin" ] ||
    die "set both USERGATEWAY_BIN and UPSTREAM_EMULATOR_BIN, or neither"
  build="given binaries"
else
  log "bazel build //gateway:usergateway //tests/emulator:upstream_emulator"
  bazel build //gateway:usergateway //tests/emulator:upstream_emulator >&2 ||
    die "bazel build failed"
  bazel_bin="$(bazel info bazel-bin 2>/dev/null)"
  gateway_bin="$bazel_bin/gateway/usergateway"
  emulator_bin="$bazel_bin/tests/emulator/upstream_emulator"
  build="default (fastbuild)"
fi
[ -x "$gateway_bin" ] || die "gateway binary not found: $gateway_bin"
[ -x "$emulator_bin" ] || die "emulator binary not found: $emulator_bin"

# --- 2. the emulator and the gateway -----------------------------------------
# Keys made for this run; they stay in files and in the emulator's
# environment, never in argv or output.
umask 077
python3 -c 'import secrets; print("soak-old-" + secrets.token_hex(12))' >"$work/old_key"
python3 -c 'import secrets; print("soak-new-" + secrets.token_hex(12))' >"$work/new_key"
cat "$work/old_key" "$work/new_key" >"$work/both_keys"
cp "$work/old_key" "$work/api_key"

EMULATOR_API_KEY="$(cat "$work/old_key")" "$emulator_bin" --listen=127.0.0.1:0 \
  --port_file="$work/emulator.port" --self_signed_tls_dir="$work/tls" \
  --threads=256 --log_requests=false >"$work/emulator.out" 2>"$work/emulator.log" &
emulator_pid=$!
pids+=("$emulator_pid")
wait_for_file "$work/emulator.port" "the emulator" "$emulator_pid" 30
origin="https://127.0.0.1:$(cat "$work/emulator.port")"
cacert="$work/tls/ca.pem"
log "emulator (pid $emulator_pid) at $origin"

"$gateway_bin" --listen=127.0.0.1:0 --port_file="$work/gateway.port" \
  --upstream_base_url="$origin/api" --ca_bundle="$cacert" \
  --api_key_file="$work/api_key" --api_key_reload_ms=500 \
  --admin_listen=127.0.0.1:0 --admin_port_file="$work/admin.port" \
  --forward_metadata=x-emulator-fault \
  --upstream_max_connection_age_ms="$connection_age_ms" \
  --drain_delay_ms=0 --drain_grace_ms=2000 --log_calls=true \
  >"$work/gateway.out" 2>"$work/gateway.log" &
gateway_pid=$!
pids+=("$gateway_pid")
wait_for_file "$work/gateway.port" "the gateway" "$gateway_pid" 30
wait_for_file "$work/admin.port" "the gateway's admin listener" "$gateway_pid" 30
gateway_addr="127.0.0.1:$(cat "$work/gateway.port")"
admin_port="$(cat "$work/admin.port")"
log "gateway (pid $gateway_pid) at $gateway_addr, admin port $admin_port"

load_text="plain ${plain_rps}/s (OK, 404, queued 503/reset/400), mix ${mix_rps}/s (400, 404, 503, reset, 300 ms, 2 s past a 1 s deadline), cancel ${cancel_rps}/s (closed mid-call); key rotated at ${rotate_at} s after warm-up; --upstream_max_connection_age_ms=$connection_age_ms"
event "{\"event\":\"config\",\"warmup_seconds\":$warmup,\"main_seconds\":$main_seconds,\"sample_seconds\":$interval,\"nominal_rate\":$nominal_rate,\"connection_age_ms\":$connection_age_ms,\"build\":\"$build\",\"load\":\"$load_text\"}"

# --- 3. the load ---------------------------------------------------------------
cat >"$work/plain.json" <<'EOF'
[{"enterprise_id": "9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79", "user_id": "3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d", "first_name": "Ada"},
 {"enterprise_id": "9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79", "user_id": "b8e4d1f6-2a9c-4c37-8e15-7d0a3b6f9e42", "first_name": "Nadia"},
 {"enterprise_id": "e4b19c6d-8f27-4a53-9d0e-3c6a2f8b7d15", "user_id": "c05a7e93-4d2b-4f1e-a8c6-91b3e7d5f028", "first_name": "Zoë"},
 {"enterprise_id": "9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79", "user_id": "00000000-0000-4000-8000-00000000050a", "first_name": "Nobody"}]
EOF
# The mix's fault by request number (ghz templates with sprig's functions).
mix_metadata='{"x-emulator-fault": "{{ index (list `delay_ms=0` `delay_ms=0` `delay_ms=0` `status=400` `status=404` `status=503` `action=reset` `delay_ms=300` `delay_ms=300` `delay_ms=2000`) (mod .RequestNumber 10) }}"}'
ghz_base=(--insecure --proto "$repo/proto/usergateway/v1/user_profile.proto"
  -i "$repo/proto" --call usergateway.v1.UserProfileGateway/UpdateUserProfile
  -O json)
# Faults queued at every sample; the plain stream's calls take them.
queued_faults='[{"status": 503, "times": 3}, {"action": "reset"}, {"status": 400}]'

phase_pids=()
start_load() {  # phase name, seconds
  local phase="$1" length="$2"
  "$ghz" "${ghz_base[@]}" --disable-template-functions --disable-template-data \
    -D "$work/plain.json" --rps "$plain_rps" -c 4 -t 5s \
    -z "${length}s" --duration-stop=wait -o "$work/ghz/plain_$phase.json" \
    "$gateway_addr" >"$work/ghz_plain_$phase.log" 2>&1 &
  phase_pids+=($!) && pids+=($!)
  "$ghz" "${ghz_base[@]}" -D "$work/plain.json" -m "$mix_metadata" \
    --rps "$mix_rps" -c 32 -t 1s \
    -z "${length}s" --duration-stop=wait -o "$work/ghz/mix_$phase.json" \
    "$gateway_addr" >"$work/ghz_mix_$phase.log" 2>&1 &
  phase_pids+=($!) && pids+=($!)
  python3 "$helper" cancel_loop --ghz "$ghz" --seconds "$length" \
    --out_dir "$work/ghz/cancel/$phase" -- "${ghz_base[@]}" \
    --disable-template-functions --disable-template-data \
    -D "$work/plain.json" -m '{"x-emulator-fault": "delay_ms=3000"}' \
    --rps "$cancel_rps" -c 10 "$gateway_addr" \
    >"$work/cancel_$phase.log" 2>&1 &
  phase_pids+=($!) && pids+=($!)
}

wait_load() {  # phase name: waits for the phase's load generators
  local pid rc=0
  for pid in "${phase_pids[@]}"; do
    wait "$pid" || { rc=$?; log "a load generator of the $1 phase exited $rc (see $work/*_$1.log)"; }
    forget_pid "$pid"
  done
  phase_pids=()
  [ "$rc" = 0 ] || die "load generator failed in the $1 phase"
}

sample() {  # phase [metrics file]
  local extra=()
  [ -n "${2:-}" ] && extra=(--metrics_out "$work/$2")
  kill -0 "$gateway_pid" 2>/dev/null || die "the gateway died; see $work/gateway.log"
  python3 "$helper" sample --pid "$gateway_pid" --admin_port "$admin_port" \
    --phase "$1" --t $(($(date +%s) - load_started)) \
    --upstream_port "$(cat "$work/emulator.port")" \
    --out "$work/samples.jsonl" "${extra[@]}"
}

emulator_ctl() { python3 "$helper" emulator --origin "$origin" --cacert "$cacert" "$@"; }

ok_calls() {  # OK calls so far, from /metrics
  python3 -c 'import sys, urllib.request
for line in urllib.request.urlopen(sys.argv[1], timeout=10).read().decode().splitlines():
    if line.startswith("usergateway_calls_total{code=\"OK\""): print(int(float(line.split()[-1]))); break
else: print(0)' \
    "http://127.0.0.1:$admin_port/metrics"
}

# Runs one loaded phase: samples, queued faults and, in the main phase, the
# key rotation at its times.
run_phase() {  # phase, seconds
  local phase="$1" length="$2" phase_start now next rotated=0 revoked=0
  phase_start=$(date +%s)
  start_load "$phase" "$length"
  next=$((phase_start + interval))
  while :; do
    now=$(date +%s)
    [ "$now" -ge $((phase_start + length)) ] && break
    if [ "$now" -lt "$next" ]; then sleep 0.2; continue; fi
    next=$((next + interval))
    sample "$phase"
    emulator_ctl --faults "$queued_faults"
    emulator_ctl --forget_requests
    [ "$phase" = main ] || continue
    if [ "$rotated" = 0 ] && [ "$now" -ge $((phase_start + rotate_at)) ]; then
      rotated=1
      # The emulator takes both keys, then the file changes in one step.
      emulator_ctl --keys_file "$work/both_keys"
      cp "$work/new_key" "$work/api_key.tmp" && mv "$work/api_key.tmp" "$work/api_key"
      python3 "$helper" wait_metric --admin_port "$admin_port" \
        --name usergateway_api_key_reloads_total --labels result=ok --min 1 \
        --timeout 10 || die "the gateway did not reload the rotated key within 10 s"
      log "key rotated: the gateway reloaded the key file"
    fi
    if [ "$rotated" = 1 ] && [ "$revoked" = 0 ] && [ "$now" -ge $((phase_start + revoke_at)) ]; then
      revoked=1
      emulator_ctl --keys_file "$work/new_key"
      event "{\"event\":\"old_key_revoked\",\"ok_calls\":$(ok_calls)}"
      log "the emulator now refuses the old key"
    fi
  done
  wait_load "$phase"
}

quiet_point() {  # name
  sleep "$quiet"
  sample "$1" "metrics_$1.txt"
}

load_started=$(date +%s)
log "warm-up: ${warmup} s of load ($load_text)"
run_phase warm "$warmup"
quiet_point warm
log "measured phase: ${main_seconds} s"
run_phase main "$main_seconds"
quiet_point end

# --- 4. drain, then judge ----------------------------------------------------
kill -TERM "$gateway_pid"
gateway_rc=0
for _ in $(seq 1 200); do
  kill -0 "$gateway_pid" 2>/dev/null || break
  sleep 0.05
done
if kill -0 "$gateway_pid" 2>/dev/null; then
  log "the gateway did not exit within 10 s of SIGTERM"
  gateway_rc=timeout
else
  wait "$gateway_pid" || gateway_rc=$?
fi
forget_pid "$gateway_pid"
event "{\"event\":\"gateway_exit\",\"code\":$([ "$gateway_rc" = timeout ] && echo null || echo "$gateway_rc")}"

report_flags=(--work "$work")
[ "$record" = 1 ] && report_flags+=(--markdown "$repo/RELIABILITY.md" --command "$command_line")
log "report"
python3 "$helper" report "${report_flags[@]}"
