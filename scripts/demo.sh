#!/usr/bin/env bash
# The main job, end to end on this machine: installs what is missing, builds
# the gateway and the bundled upstream emulator, starts both on loopback
# (the emulator over HTTPS with a CA made for the run), and makes real
# grpcurl calls through them: a successful UpdateUserProfile that prints the
# user, then a failing one that shows the status details. Stops everything
# it started, whatever happens.
#
# Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

tools="$(scripts/setup.sh | sed -n 's/^tools: //p')"
grpcurl="$tools/grpcurl"

echo "demo: building (first build takes a few minutes)" >&2
bazel build //gateway:usergateway //tests/emulator:upstream_emulator >&2
bin="$(bazel info bazel-bin 2>/dev/null)"

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

wait_for_file() {  # path, what, pid
  for _ in $(seq 1 200); do
    [ -s "$1" ] && return 0
    kill -0 "$3" 2>/dev/null || { echo "demo: $2 exited; see $work" >&2; return 1; }
    sleep 0.05
  done
  echo "demo: $2 did not start" >&2
  return 1
}

echo "emulator-key" > "$work/api_key"
"$bin/tests/emulator/upstream_emulator" \
  --listen=127.0.0.1:0 --port_file="$work/emulator.port" \
  --users=tests/emulator/testdata/users.json --api_key=emulator-key \
  --self_signed_tls_dir="$work/tls" >"$work/emulator.log" 2>&1 &
pids+=($!)
wait_for_file "$work/emulator.port" "the emulator" "${pids[-1]}"
upstream="https://127.0.0.1:$(cat "$work/emulator.port")/api"

"$bin/gateway/usergateway" \
  --listen=127.0.0.1:0 --port_file="$work/gateway.port" \
  --upstream_base_url="$upstream" --ca_bundle="$work/tls/ca.pem" \
  --api_key_file="$work/api_key" --drain_delay_ms=0 \
  >"$work/gateway.out" 2>"$work/gateway.log" &
pids+=($!)
wait_for_file "$work/gateway.port" "the gateway" "${pids[-1]}"
gateway="127.0.0.1:$(cat "$work/gateway.port")"
echo "demo: emulator at $upstream, gateway at $gateway" >&2

# Shows each command as one could paste it, then its output.
run() {
  local arg line="\$ grpcurl"
  for arg in "${@:2}"; do
    if [[ "$arg" =~ [^A-Za-z0-9_./:=-] ]]; then line+=" '$arg'"; else line+=" $arg"; fi
  done
  echo; echo "$line"; "$@" 2>&1 || true
}
run "$grpcurl" -plaintext "$gateway" list
run "$grpcurl" -plaintext -d '{"enterprise_id": "9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79", "user_id": "3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d", "first_name": "Ada"}' \
  "$gateway" usergateway.v1.UserProfileGateway/UpdateUserProfile
run "$grpcurl" -plaintext -format-error -d '{"enterprise_id": "9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79", "user_id": "no-such-user", "first_name": "Ada"}' \
  "$gateway" usergateway.v1.UserProfileGateway/UpdateUserProfile
echo
echo "demo: gateway log (one JSON line per call):"
grep '"grpc_code"' "$work/gateway.log" || true
