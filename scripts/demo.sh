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

echo "demo-api-key" > "$work/api_key"
"$bin/tests/emulator/upstream_emulator" \
  --listen=127.0.0.1:0 --port_file="$work/emulator.port" \
  --users=tests/emulator/testdata/users.json \
  --api_key=demo-api-key --read_only_key=demo-read-only-key \
  --generate_tls_dir="$work/tls" >"$work/emulator.log" 2>&1 &
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

run() { echo; echo "\$ $*"; "$@" || true; }
run "$grpcurl" -plaintext "$gateway" list
run "$grpcurl" -plaintext -d '{"enterprise_id": "5e6b6c4a-2f0e-4a8e-9b1e-6a1c3d2e4f50", "user_id": "0b7f3c2e-1a4d-4f6b-9c8e-2d5a7b9e1f30", "first_name": "Ada"}' \
  "$gateway" usergateway.v1.UserProfileGateway/UpdateUserProfile
run "$grpcurl" -plaintext -format-error -d '{"enterprise_id": "5e6b6c4a-2f0e-4a8e-9b1e-6a1c3d2e4f50", "user_id": "no-such-user", "first_name": "Ada"}' \
  "$gateway" usergateway.v1.UserProfileGateway/UpdateUserProfile
echo
echo "demo: gateway log (one JSON line per call):"
grep '"grpc_code"' "$work/gateway.log" || true
