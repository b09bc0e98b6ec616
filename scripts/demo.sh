#!/usr/bin/env bash
# The main job, end to end on this machine: installs what is missing, builds
# the gateway and the bundled upstream emulator, starts both on loopback
# (the emulator over HTTPS with a CA made for the run), and makes real
# grpcurl calls through them: a successful UpdateUserProfile that prints the
# user, then a failing one that shows the status details. Stops everything
# it started, whatever happens.
#
# With --tenants: two enterprises through one gateway instead. The emulator
# serves two tenants, each with its own key (--tenant), and the gateway gets
# a tenants file (--tenants_file) instead of one base URL and key; the calls
# go to each enterprise, then to one that no tenant serves.
#
# Usage: scripts/demo.sh [--tenants]
set -euo pipefail
tenants=false
[ "${1:-}" = "--tenants" ] && tenants=true
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
emulator_keys=(--api_key=emulator-key)
if $tenants; then
  emulator_keys=(--tenant=acme:acme-demo-key --tenant=globex:globex-demo-key)
fi
"$bin/tests/emulator/upstream_emulator" \
  --listen=127.0.0.1:0 --port_file="$work/emulator.port" \
  --users=tests/emulator/testdata/users.json "${emulator_keys[@]}" \
  --self_signed_tls_dir="$work/tls" >"$work/emulator.log" 2>&1 &
pids+=($!)
wait_for_file "$work/emulator.port" "the emulator" "${pids[-1]}"
origin="https://127.0.0.1:$(cat "$work/emulator.port")"
upstream="$origin/api"

upstream_flags=(--upstream_base_url="$upstream" --api_key_file="$work/api_key")
if $tenants; then
  # One key file per tenant (a Secret each), and the tenants file.
  echo "acme-demo-key" > "$work/acme.key"
  echo "globex-demo-key" > "$work/globex.key"
  cat > "$work/tenants.json" <<JSON
{"tenants": [
  {"name": "acme", "enterprise_id": "9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79",
   "base_url": "$origin/acme/api", "api_key_file": "$work/acme.key"},
  {"name": "globex", "enterprise_id": "e4b19c6d-8f27-4a53-9d0e-3c6a2f8b7d15",
   "base_url": "$origin/globex/api", "api_key_file": "$work/globex.key"}
]}
JSON
  upstream_flags=(--tenants_file="$work/tenants.json")
  upstream="$origin/{acme,globex}/api"
fi

"$bin/gateway/usergateway" \
  --listen=127.0.0.1:0 --port_file="$work/gateway.port" \
  "${upstream_flags[@]}" --ca_bundle="$work/tls/ca.pem" --drain_delay_ms=0 \
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
if $tenants; then
  for enterprise in 9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79 e4b19c6d-8f27-4a53-9d0e-3c6a2f8b7d15; do
    # The user's name fields only: the whole user is shown by the demo
    # without --tenants.
    run "$grpcurl" -plaintext -d "{\"enterprise_id\": \"$enterprise\", \"user_id\": \"3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d\", \"first_name\": \"Ada\"}" \
      "$gateway" usergateway.v1.UserProfileGateway/UpdateUserProfile |
      grep -E '^\$|^$|"(username|first_name|full_name)"'
  done
  run "$grpcurl" -plaintext -format-error -d '{"enterprise_id": "no-such-enterprise", "user_id": "3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d", "first_name": "Ada"}' \
    "$gateway" usergateway.v1.UserProfileGateway/UpdateUserProfile
  echo
  echo "demo: the PUTs the emulator received (each with its tenant's own key):"
  python3 - "$origin" "$work/tls/ca.pem" <<'PY'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
with urllib.request.urlopen(sys.argv[1] + "/_emulator/requests", context=ctx) as r:
    for req in json.load(r):
        print(req["method"], req["path"])
PY
  echo
  echo "demo: gateway log (one JSON line per call):"
  grep '"grpc_code"' "$work/gateway.log" || true
  exit 0
fi
run "$grpcurl" -plaintext "$gateway" list
run "$grpcurl" -plaintext -d '{"enterprise_id": "9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79", "user_id": "3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d", "first_name": "Ada"}' \
  "$gateway" usergateway.v1.UserProfileGateway/UpdateUserProfile
run "$grpcurl" -plaintext -format-error -d '{"enterprise_id": "9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79", "user_id": "no-such-user", "first_name": "Ada"}' \
  "$gateway" usergateway.v1.UserProfileGateway/UpdateUserProfile
echo
echo "demo: gateway log (one JSON line per call):"
grep '"grpc_code"' "$work/gateway.log" || true
