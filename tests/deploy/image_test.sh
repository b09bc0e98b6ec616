#!/usr/bin/env bash
# The container image, built and run as an operator would: hadolint on both
# Dockerfiles; deploy/build_image.sh builds the gateway's image (podman,
# FROM scratch, no registry pull) and the emulator's; the gateway's image
# runs under podman (runc, host network) against the upstream emulator on a
# loopback port the kernel picks, with the API key mounted as a file, and:
#   - grpcurl gets a successful UpdateUserProfile and a NOT_FOUND with its
#     google.rpc.ErrorInfo details;
#   - grpc-health-probe says SERVING, the admin port's /readyz says 200;
#   - the process runs as uid/gid 65532, not root, and the image holds
#     nothing but the binary, its libraries, the CA bundle and passwd/group;
#   - `podman kill -s TERM` starts the drain (NOT_SERVING, /readyz 503
#     while the drain delay runs) and the container exits 0.
# Prints the image size. Removes every image and container it made.
#
# Usage: tests/deploy/image_test.sh   (as root; scripts/test.sh runs it)
# Environment (each optional):
#   USERGATEWAY_BIN, EMULATOR_BIN  binaries to use; default: built here with
#                                  bazel build --config=opt
#   TOOLS   the directory scripts/setup.sh prints on its last line (grpcurl,
#           grpc-health-probe, hadolint); default: runs scripts/setup.sh
# Ends with `N passed, N failed`; exits non-zero when a check failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/deploy/lib.sh

readonly PODMAN=(podman --runtime runc --cgroup-manager=cgroupfs)
readonly KEY="image-test-key-5e1d9c0a7b34"
readonly ADA_USER_ID="3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d"
readonly ADA_ENTERPRISE_ID="9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79"
readonly UNKNOWN_USER_ID="00000000-0000-4000-8000-00000000d0c1"
readonly METHOD="usergateway.v1.UserProfileGateway/UpdateUserProfile"
readonly DRAIN_DELAY_MS=3000
# grpcurl exits 64 + the gRPC status code; grpc-health-probe exits 4 on
# NOT_SERVING.
readonly GRPCURL_NOT_FOUND=69 PROBE_NOT_SERVING=4

work="$(mktemp -d)"
suffix="$$-$RANDOM"
image="localhost/usergateway-image-test:$suffix"
emulator_image="localhost/usergateway-emulator-image-test:$suffix"
container="usergateway-image-test-$suffix"
emulator_pid=""

cleanup() {
  "${PODMAN[@]}" rm -f -t 0 "$container" >/dev/null 2>&1
  podman rmi -f "$image" "$emulator_image" >/dev/null 2>&1
  [ -z "$emulator_pid" ] || stop_pid "$emulator_pid"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_file FILE PID: waits (60 s at most) until FILE is non-empty while PID
# (or the container, when PID is "container") runs.
wait_file() {
  local deadline=$(( $(now_ms) + 60000 ))
  until [ -s "$1" ]; do
    if [ "$2" = container ]; then
      [ "$("${PODMAN[@]}" inspect -f '{{.State.Running}}' "$container" \
        2>/dev/null)" = true ] || return 1
    else
      kill -0 "$2" 2>/dev/null || return 1
    fi
    (( $(now_ms) < deadline )) || return 1
    sleep 0.05
  done
}

# --- Tools and binaries --------------------------------------------------------

tools="$(tools_dir)"
require_tools "$tools/grpcurl" "$tools/grpc-health-probe" "$tools/hadolint" \
  /usr/bin/podman /usr/bin/buildah /usr/sbin/runc

if [ -z "${USERGATEWAY_BIN:-}" ] || [ -z "${EMULATOR_BIN:-}" ]; then
  echo "+ bazel build --config=opt //gateway:usergateway //tests/emulator:upstream_emulator"
  if ! bazel build --config=opt //gateway:usergateway \
    //tests/emulator:upstream_emulator; then
    fail "bazel build --config=opt"
    finish
  fi
  bin="$(bazel info --config=opt bazel-bin 2>/dev/null)"
  USERGATEWAY_BIN="${USERGATEWAY_BIN:-$bin/gateway/usergateway}"
  EMULATOR_BIN="${EMULATOR_BIN:-$bin/tests/emulator/upstream_emulator}"
fi
export USERGATEWAY_BIN EMULATOR_BIN

# --- Lint and build ------------------------------------------------------------

echo "+ hadolint $("$tools/hadolint" --version)"
check "hadolint deploy/Dockerfile deploy/emulator/Dockerfile" \
  "$tools/hadolint" deploy/Dockerfile deploy/emulator/Dockerfile

if ! deploy/build_image.sh "$image" >"$work/build.out" 2>"$work/build.err"; then
  cat "$work/build.err"
  fail "deploy/build_image.sh $image"
  finish
fi
pass "deploy/build_image.sh builds the gateway's image FROM scratch"
if deploy/build_image.sh --emulator "$emulator_image" >"$work/emulator_build.out" \
  2>"$work/emulator_build.err"; then
  pass "deploy/build_image.sh --emulator builds the emulator's image"
else
  cat "$work/emulator_build.err"
  fail "deploy/build_image.sh --emulator $emulator_image"
fi

size_bytes="$(podman image inspect -f '{{.Size}}' "$image")"
echo "image size: $size_bytes bytes ($(( size_bytes / 1000000 )) MB);" \
  "podman images: $(podman images --format '{{.Size}}' "$image")"

# Small: the binary and Debian's shared libraries come to about 39 MB; a
# base distribution or a second copy of anything would show here.
check "image is under 50 MB" [ "$size_bytes" -lt 50000000 ]

# The image's configuration: non-root user, both ports, nothing else.
inspect() { podman image inspect -f "$1" "$image"; }
check "image user is 65532:65532" [ "$(inspect '{{.Config.User}}')" = 65532:65532 ]
ports="$(inspect '{{range $p, $_ := .Config.ExposedPorts}}{{$p}} {{end}}')"
echo "exposed ports: $ports"
check "image exposes 50051/tcp and 9090/tcp" \
  [ "$ports" = "50051/tcp 9090/tcp " ]
env_vars="$(inspect '{{range .Config.Env}}{{.}} {{end}}')"
echo "image environment: $env_vars"
check "image defaults: gRPC on 0.0.0.0:50051, admin on 0.0.0.0:9090" \
  grep -q -E '(^| )GATEWAY_LISTEN=0\.0\.0\.0:50051 .*GATEWAY_ADMIN_LISTEN=0\.0\.0\.0:9090 ' \
  <<<"$env_vars"
check "image is one layer (FROM scratch, one COPY)" \
  [ "$(inspect '{{len .RootFS.Layers}}')" = 1 ]

# Its files: the binary, libraries, loader, CA bundle, passwd and group;
# no shell, no package manager.
mount_dir="$(podman image mount "$image")"
(cd "$mount_dir" && find . -type f | sort) >"$work/files"
podman image unmount "$image" >/dev/null
unexpected="$(grep -v -E '^\./(usr/local/bin/usergateway|lib/x86_64-linux-gnu/[^/]+\.so[.0-9]*|lib64/ld-linux-x86-64\.so\.2|etc/ssl/certs/ca-certificates\.crt|etc/passwd|etc/group)$' "$work/files")"
echo "image files: $(wc -l <"$work/files")"
if [ -z "$unexpected" ] && ! grep -q -E 'bin/(sh|bash|apt|dpkg)' "$work/files"; then
  pass "image holds only the binary, its libraries, loader, CA bundle, passwd, group"
else
  fail "unexpected files in the image: $unexpected"
fi

# --- Run -----------------------------------------------------------------------

"$EMULATOR_BIN" --listen=127.0.0.1:0 --port_file="$work/emulator.port" \
  --api_key="$KEY" >"$work/emulator.out" 2>"$work/emulator.err" &
emulator_pid=$!
if ! wait_file "$work/emulator.port" "$emulator_pid"; then
  cat "$work/emulator.err"
  fail "the upstream emulator did not start"
  finish
fi
emulator_port="$(cat "$work/emulator.port")"

# The key as a read-only file mount, as a Kubernetes Secret would be; a
# directory the container's user may write its port files to.
mkdir -p "$work/secret" "$work/run"
printf '%s' "$KEY" >"$work/secret/api-key"
chmod 755 "$work/secret"
chmod 644 "$work/secret/api-key"
chown 65532:65532 "$work/run"
echo "+ podman run $image (upstream http://127.0.0.1:$emulator_port/api)"
if ! "${PODMAN[@]}" run -d --name "$container" \
  --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 --network host \
  --read-only \
  -v "$work/secret:/var/run/secrets/usergateway:ro" \
  -v "$work/run:/run/usergateway" \
  "$image" \
  --listen=127.0.0.1:0 --port_file=/run/usergateway/grpc.port \
  --admin_listen=127.0.0.1:0 --admin_port_file=/run/usergateway/admin.port \
  --upstream_base_url="http://127.0.0.1:$emulator_port/api" \
  --allow_insecure_http \
  --api_key_file=/var/run/secrets/usergateway/api-key \
  --drain_delay_ms="$DRAIN_DELAY_MS" --drain_grace_ms=5000 \
  >"$work/run.out" 2>"$work/run.err"; then
  cat "$work/run.err"
  fail "podman run"
  finish
fi
if ! wait_file "$work/run/grpc.port" container ||
  ! wait_file "$work/run/admin.port" container; then
  "${PODMAN[@]}" logs "$container"
  fail "the gateway in the container did not start"
  finish
fi
addr="127.0.0.1:$(cat "$work/run/grpc.port")"
admin="http://127.0.0.1:$(cat "$work/run/admin.port")"
pass "the container starts and listens ($addr, admin $admin)"

grpcurl() { "$tools/grpcurl" -plaintext "$@"; }
request() {  # USER_ID FIRST_NAME
  printf '{"enterprise_id":"%s","user_id":"%s","first_name":"%s"}' \
    "$ADA_ENTERPRISE_ID" "$1" "$2"
}

grpcurl -d "$(request "$ADA_USER_ID" "Augusta")" "$addr" "$METHOD" \
  >"$work/ok.out" 2>"$work/ok.err"
rc=$?
if [ "$rc" = 0 ] && grep -q '"first_name": "Augusta"' "$work/ok.out" &&
  grep -q '"username": "ada.lovelace"' "$work/ok.out"; then
  pass "grpcurl UpdateUserProfile succeeds through the container"
else
  cat "$work/ok.out" "$work/ok.err"
  fail "grpcurl UpdateUserProfile (exit status $rc)"
fi

grpcurl -d "$(request "$UNKNOWN_USER_ID" "Nobody")" "$addr" "$METHOD" \
  >"$work/nf.out" 2>"$work/nf.err"
rc=$?
if [ "$rc" = "$GRPCURL_NOT_FOUND" ] &&
  grep -q 'Code: NotFound' "$work/nf.err" &&
  grep -q 'google.rpc.ErrorInfo' "$work/nf.err" &&
  grep -q '"reason": "UPSTREAM_NOT_FOUND"' "$work/nf.err" &&
  grep -q '"http_status": "404"' "$work/nf.err"; then
  pass "an unknown user is NOT_FOUND with ErrorInfo UPSTREAM_NOT_FOUND, http_status 404"
else
  cat "$work/nf.out" "$work/nf.err"
  fail "NOT_FOUND with details (exit status $rc)"
fi

"$tools/grpc-health-probe" -addr="$addr" >"$work/health.out" 2>&1
rc=$?
cat "$work/health.out"
check "grpc-health-probe: SERVING" \
  grep -q -x 'status: SERVING' "$work/health.out"
[ "$rc" = 0 ] || fail "grpc-health-probe exit status $rc"
check "admin /readyz answers 200" [ "$(http_status "$admin/readyz")" = 200 ]

# Who the process runs as, seen from the host: /proc/PID/status lists the
# real, effective, saved and file-system ids.
pid="$("${PODMAN[@]}" inspect -f '{{.State.Pid}}' "$container")"
ids="$(awk '/^Uid:|^Gid:/ { print $1, $2, $3, $4, $5 }' "/proc/$pid/status")"
echo "$ids"
check "the gateway runs as uid and gid 65532 (not root)" \
  [ "$ids" = "$(printf 'Uid: 65532 65532 65532 65532\nGid: 65532 65532 65532 65532')" ]

if grep -q -F "$KEY" "$work/run.out" "$work/run.err" 2>/dev/null ||
  "${PODMAN[@]}" logs "$container" 2>&1 | grep -q -F "$KEY"; then
  fail "the API key appears in the container's output"
else
  pass "the API key appears in no container output"
fi

# --- Stop: SIGTERM drains, then exit 0 -------------------------------------------

term_ms="$(now_ms)"
"${PODMAN[@]}" kill -s TERM "$container" >/dev/null
seen_not_serving="" seen_503=""
while (( $(now_ms) < term_ms + DRAIN_DELAY_MS - 500 )); do
  [ -n "$seen_not_serving" ] || {
    "$tools/grpc-health-probe" -addr="$addr" >/dev/null 2>&1
    [ "$?" = "$PROBE_NOT_SERVING" ] && seen_not_serving=yes
  }
  [ -n "$seen_503" ] ||
    { [ "$(http_status "$admin/readyz")" = 503 ] && seen_503=yes; }
  [ -n "$seen_not_serving" ] && [ -n "$seen_503" ] && break
  sleep 0.05
done
check "after SIGTERM, health is NOT_SERVING during the drain delay" \
  [ -n "$seen_not_serving" ]
check "after SIGTERM, /readyz answers 503 during the drain delay" \
  [ -n "$seen_503" ]
exit_code="$("${PODMAN[@]}" wait "$container" 2>/dev/null)"
took=$(( $(now_ms) - term_ms ))
echo "container exited with status $exit_code ${took} ms after SIGTERM"
check "the container exits 0 after SIGTERM" [ "$exit_code" = 0 ]
check "it exits no sooner than the drain delay (${DRAIN_DELAY_MS} ms)" \
  [ "$took" -ge "$DRAIN_DELAY_MS" ]
"${PODMAN[@]}" logs "$container" >"$work/logs" 2>&1
tail -n 3 "$work/logs"
check "its log records the drain" grep -q 'signal 15: draining' "$work/logs"
check "its log records the stop" grep -q '"msg":"stopped"' "$work/logs"

echo "image size: $(( size_bytes / 1000000 )) MB ($size_bytes bytes)"
finish
