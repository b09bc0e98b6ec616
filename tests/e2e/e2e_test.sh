#!/usr/bin/env bash
# End-to-end test of the built binaries: the upstream emulator
# (//tests/emulator:upstream_emulator) and the gateway (//gateway:usergateway)
# run as processes on loopback ports picked by the kernel, and real clients
# (grpcurl, grpc-health-probe) check what an operator would check: reflection,
# a successful update, error statuses with their google.rpc details, health,
# SIGTERM draining, mutual TLS, start-up validation and --help.
#
# Needs GRPCURL and GRPC_HEALTH_PROBE (paths to the binaries) in the test
# environment, e.g. `bazel test //tests/e2e:e2e_test
# --test_env=GRPCURL=... --test_env=GRPC_HEALTH_PROBE=...`; fails without them.
# Also needs python3 (a scripts/setup.sh package) to read JSON.
#
# Each check is one JUnit <testcase> in $XML_OUTPUT_FILE; a line per check on
# stdout; the exit status is non-zero when any check failed.
set -u
set -o pipefail

# --- Environment -------------------------------------------------------------

RUNFILES="${TEST_SRCDIR:-$0.runfiles}/${TEST_WORKSPACE:-user_profile_gateway}"
GATEWAY_BIN="$RUNFILES/gateway/usergateway"
EMULATOR_BIN="$RUNFILES/tests/emulator/upstream_emulator"
FIXTURE="$RUNFILES/tests/emulator/testdata/users.json"
WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/e2e.XXXXXX")"
XML_OUT="${XML_OUTPUT_FILE:-$WORK/test.xml}"

# Nothing from the caller's environment may configure the binaries or route
# loopback calls through a proxy: every setting below is explicit.
for name in $(compgen -e); do
  case "$name" in
    GATEWAY_* | EMULATOR_* | http_proxy | https_proxy | HTTP_PROXY | \
      HTTPS_PROXY | all_proxy | ALL_PROXY | grpc_proxy | no_grpc_proxy)
      unset "$name"
      ;;
  esac
done

# Keys made up for this test, so that a grep for them in the logs means
# something (the emulator's built-in default key would be too common).
readonly VALID_KEY="e2e-valid-key-4c8d1f06b2a9"
readonly WRONG_KEY="e2e-wrong-key-93e7a5d20c41"
# Ada Lovelace in testdata/users.json.
readonly ADA_USER_ID="3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d"
readonly ADA_ENTERPRISE_ID="9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79"
readonly UNKNOWN_USER_ID="00000000-0000-4000-8000-0000000e2e00"
readonly SERVICE="usergateway.v1.UserProfileGateway"
readonly METHOD="$SERVICE/UpdateUserProfile"
# grpcurl exits 64 + the gRPC status code for a non-OK status.
readonly GRPCURL_NOT_FOUND=69 GRPCURL_INVALID_ARGUMENT=67
readonly GRPCURL_UNAUTHENTICATED=80
# grpc-health-probe's exit status for a NOT_SERVING answer.
readonly PROBE_NOT_SERVING=4
# Bounds for the polls below (sanitizer builds start slowly on 2 cores).
readonly START_TIMEOUT_MS=60000
readonly STOP_TIMEOUT_MS=30000

TOOLS_ERROR=""
for var in GRPCURL GRPC_HEALTH_PROBE; do
  path="${!var:-}"
  if [ -z "$path" ]; then
    TOOLS_ERROR+="$var is not set. "
  elif [ ! -f "$path" ] || [ ! -x "$path" ]; then
    TOOLS_ERROR+="$var=$path is not an executable file. "
  fi
done
if [ -n "$TOOLS_ERROR" ]; then
  TOOLS_ERROR+="Run scripts/test.sh, or pass --test_env=GRPCURL=<path to "
  TOOLS_ERROR+="grpcurl> --test_env=GRPC_HEALTH_PROBE=<path to "
  TOOLS_ERROR+="grpc-health-probe> (scripts/setup.sh installs both)."
  echo "e2e_test: $TOOLS_ERROR" >&2
fi
GRPCURL="${GRPCURL:-grpcurl-not-set}"
GRPC_HEALTH_PROBE="${GRPC_HEALTH_PROBE:-grpc-health-probe-not-set}"

# --- Processes -----------------------------------------------------------------

PIDS=()            # every background process this script started
declare -A PID_OF  # process name -> pid
declare -A REAPED  # pid -> 1 once waited for (never signalled again)

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
    cp "$WORK"/*.out "$WORK"/*.err "$WORK"/check-*.log \
      "$TEST_UNDECLARED_OUTPUTS_DIR"/ 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# Starts NAME (the command after it) in the background with stdout and stderr
# in $WORK/NAME.out and $WORK/NAME.err.
start_process() {
  local name="$1"
  shift
  echo "+ start $name: $*"
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=("$!")
  PID_OF[$name]=$!
}

# Waits until FILE is non-empty (a port file, written atomically) while NAME
# runs. Prints the port; returns 1 if NAME died or the wait timed out.
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
      tail -n 40 "$WORK/$name.err" >&2
      return 1
    fi
    sleep 0.05
  done
  cat "$file"
}

# Waits up to TIMEOUT_MS for PID to exit; sets EXIT_RC. Returns 1 on timeout.
EXIT_RC=""
wait_exit() {
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
# A check prints what it runs and sees; the runner keeps that output and puts
# it in the report when the check fails.

CHECK_FAILED=0
fail() {
  echo "FAILED: $*"
  CHECK_FAILED=1
}

# Runs a command; its stdout goes to $WORK/OUT.out, stderr to $WORK/OUT.err
# and both into the check's output; sets RC.
RC=""
run() {
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

expect_contains() {  # FILE TEXT: FILE contains the literal TEXT
  grep -F -q -- "$2" "$1" || fail "$(basename "$1") does not contain: $2"
}

expect_not_contains() {  # FILE TEXT
  if grep -F -q -- "$2" "$1"; then
    fail "$(basename "$1") contains: $2"
  fi
}

expect_line() {  # FILE REGEX: a whole line matches REGEX
  grep -E -q -x -- "$2" "$1" || fail "$(basename "$1") has no line matching: $2"
}

# --- JSON helpers (python3) ------------------------------------------------------

cat >"$WORK/e2e_json.py" <<'PYTHON'
"""JSON assertions for e2e_test.sh. Prints FAILED: lines; exits 1 on any."""
import argparse
import json
import sys
import time
import urllib.request

problems = []


def expect(what, got, want):
    if got != want:
        problems.append(f"{what}: got {got!r}, want {want!r}")


def load(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def emulator_get(port, path):
    # No proxy, whatever the environment says: this is loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
        return json.loads(reply.read().decode("utf-8"))


def header(request, name):
    values = [h["value"] for h in request["headers"]
              if h["name"].lower() == name.lower()]
    return values[0] if values else None


def user(args):
    """The reply carries the fixture's user with first_name updated."""
    fixture = next(u for u in load(args.fixture)
                   if u["profile"]["authn_user_id"] == args.user_id)
    got = load(args.reply).get("user", {})
    # proto3 JSON writes int64 as strings.
    expect("user.id", got.get("id"), str(fixture["id"]))
    expect("user.first_name", got.get("first_name"), args.first_name)
    expect("user.full_name", got.get("full_name"),
           f"{args.first_name} {fixture['last_name']}")
    for key in ("username", "email", "last_name", "last_login", "token",
                "is_staff", "is_active", "is_email_verified"):
        expect(f"user.{key}", got.get(key), fixture[key])
    expect("user.has_emm", got.get("has_emm"), fixture["has_emm"])
    profile, want_profile = got.get("profile", {}), fixture["profile"]
    for key in ("authn_user_id", "enterprise", "role", "created_on",
                "is_customer"):
        expect(f"user.profile.{key}", profile.get(key), want_profile[key])
    expect("user.profile.id", profile.get("id"), str(want_profile["id"]))
    expect("user.profile.role_enum", profile.get("role_enum"),
           "ROLE_ENTERPRISE_ADMIN")
    expect("user.profile.groups",
           [(g.get("id"), g.get("name"), g.get("path"), g.get("device_count"))
            for g in profile.get("groups", [])],
           [(g["id"], g["name"], g["path"], str(g["device_count"]))
            for g in want_profile["groups"]])
    emm, want_emm = got.get("emm", {}), fixture["emm"]
    for key in ("id", "user", "google_enterprise"):
        expect(f"user.emm.{key}", emm.get(key), str(want_emm[key]))
    for key in ("account_identifier", "display_name", "is_active"):
        expect(f"user.emm.{key}", emm.get(key), want_emm[key])
    token = emm.get("authentication_token", {})
    want_token = want_emm["authentication_token"]
    expect("user.emm.authentication_token.id", token.get("id"),
           str(want_token["id"]))
    expect("user.emm.authentication_token.token", token.get("token"),
           want_token["token"])


def status(args):
    """A -format-error status: code, ErrorInfo and optional BadRequest."""
    got = load(args.reply)
    expect("code", got.get("code"), args.code)
    if not got.get("message"):
        problems.append("message: empty")
    details = got.get("details", [])
    infos = [d for d in details
             if d.get("@type") == "type.googleapis.com/google.rpc.ErrorInfo"]
    if len(infos) != 1:
        problems.append(f"details: {len(infos)} ErrorInfo, want 1")
    else:
        expect("ErrorInfo.reason", infos[0].get("reason"), args.reason)
        expect("ErrorInfo.domain", infos[0].get("domain"), "usergateway.v1")
        metadata = infos[0].get("metadata", {})
        if args.http_status is not None:
            expect("ErrorInfo.metadata.http_status",
                   metadata.get("http_status"), args.http_status)
        if args.attempts is not None:
            expect("ErrorInfo.metadata.attempts", metadata.get("attempts"),
                   args.attempts)
        if args.request_id is not None:
            expect("ErrorInfo.metadata.request_id",
                   metadata.get("request_id"), args.request_id)
    if args.violation is not None:
        bad = [d for d in details
               if d.get("@type") == "type.googleapis.com/google.rpc.BadRequest"]
        violations = [v for b in bad for v in b.get("field_violations", [])]
        expect("BadRequest.field_violations[].field",
               [v.get("field") for v in violations], [args.violation])
        if violations and not violations[0].get("description"):
            problems.append("BadRequest.field_violations[0].description: empty")


def request_count(args):
    print(emulator_get(args.port, "/_emulator/stats")["requests"])


def upstream(args):
    """Waits (bounded) for the emulator to record a request with this
    X-Request-Id, prints it, and checks what it was told to."""
    deadline = time.monotonic() + args.timeout_s
    found = None
    while found is None:
        for request in emulator_get(args.port, "/_emulator/requests"):
            if header(request, "X-Request-Id") == args.request_id:
                found = request
        if found is None:
            if time.monotonic() >= deadline:
                problems.append(f"the emulator received no request with "
                                f"X-Request-Id {args.request_id} within "
                                f"{args.timeout_s} s")
                return
            time.sleep(0.05)
    print(json.dumps(found, indent=1, ensure_ascii=False))
    expect("method", found["method"], "PUT")
    if args.target is not None:
        expect("target", found["target"], args.target)
    if args.body is not None:
        expect("body", json.loads(found["body"]), json.loads(args.body))
    if args.authorization is not None:
        expect("Authorization", header(found, "Authorization"),
               args.authorization)
    for spec in args.header:
        name, _, value = spec.partition(":")
        expect(name, header(found, name), value.strip())


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("user")
    p.add_argument("--fixture", required=True)
    p.add_argument("--reply", required=True)
    p.add_argument("--user_id", required=True)
    p.add_argument("--first_name", required=True)
    p.set_defaults(run=user)
    p = sub.add_parser("status")
    p.add_argument("--reply", required=True)
    p.add_argument("--code", type=int, required=True)
    p.add_argument("--reason", required=True)
    p.add_argument("--http_status")
    p.add_argument("--attempts")
    p.add_argument("--violation")
    p.add_argument("--request_id")
    p.set_defaults(run=status)
    p = sub.add_parser("request_count")
    p.add_argument("--port", required=True)
    p.set_defaults(run=request_count)
    p = sub.add_parser("upstream")
    p.add_argument("--port", required=True)
    p.add_argument("--request_id", required=True)
    p.add_argument("--timeout_s", type=float, default=30)
    p.add_argument("--target")
    p.add_argument("--body")
    p.add_argument("--authorization")
    p.add_argument("--header", action="append", default=[])
    p.set_defaults(run=upstream)
    args = parser.parse_args()
    args.run(args)
    for problem in problems:
        print(f"FAILED: {problem}")
    sys.exit(1 if problems else 0)


main()
PYTHON

json_check() {  # runs e2e_json.py; a non-zero exit fails the check
  echo "+ e2e_json.py $*"
  python3 "$WORK/e2e_json.py" "$@" 2>&1 | awk '{ print "  | " $0 }'
  [ "${PIPESTATUS[0]}" = 0 ] || CHECK_FAILED=1
}

# --- Clients ---------------------------------------------------------------------

grpcurl_cmd() {  # grpcurl with bounded connect and call times
  "$GRPCURL" -plaintext -connect-timeout 10 -max-time 30 "$@"
}

grpcurl_tls() {  # grpcurl over TLS (the caller adds -cacert, -cert, -key)
  "$GRPCURL" -connect-timeout 10 -max-time 30 "$@"
}

# Prints the lines grpcurl -v lists under "Response headers received:" in
# FILE (its stdout), one "name: value" each.
response_headers() {
  awk '/^Response headers received:$/ { on = 1; next }
       on && /^$/ { exit }
       on { print }' "$1"
}

update_request() {  # USER_ID FIRST_NAME -> the request as JSON
  printf '{"enterprise_id":"%s","user_id":"%s","first_name":"%s"}' \
    "$ADA_ENTERPRISE_ID" "$1" "$2"
}

# --- The stack: emulator and gateway A, started once by the first check ---------

EMULATOR_PORT=""
ADDR_A=""
STACK_ERROR=""

start_gateway() {  # NAME, then extra flags
  local name="$1"
  shift
  start_process "$name" "$GATEWAY_BIN" --listen=127.0.0.1:0 \
    --port_file="$WORK/$name.port" \
    --upstream_base_url="http://127.0.0.1:$EMULATOR_PORT/api" \
    --allow_insecure_http "$@"
}

need_tools() {
  if [ -n "$TOOLS_ERROR" ]; then
    fail "$TOOLS_ERROR"
    return 1
  fi
}

# Starts the emulator and gateway A unless done; returns 1 (with the reason)
# when they are not running.
need_stack() {
  need_tools || return 1
  if [ -n "$STACK_ERROR" ]; then
    fail "the emulator and gateway did not start: $STACK_ERROR"
    return 1
  fi
  [ -n "$ADDR_A" ] && return 0
  start_process emulator "$EMULATOR_BIN" --listen=127.0.0.1:0 \
    --port_file="$WORK/emulator.port" --users="$FIXTURE" \
    --api_key="$VALID_KEY" --log_requests=true
  if ! EMULATOR_PORT="$(wait_port_file emulator "$WORK/emulator.port")"; then
    STACK_ERROR="upstream_emulator: $(tail -n 20 "$WORK/emulator.err")"
    fail "$STACK_ERROR"
    return 1
  fi
  printf '%s' "$VALID_KEY" >"$WORK/valid.key"
  start_gateway gw_a --api_key_file="$WORK/valid.key" --drain_delay_ms=0 \
    --drain_grace_ms=5000
  local port
  if ! port="$(wait_port_file gw_a "$WORK/gw_a.port")"; then
    STACK_ERROR="usergateway: $(tail -n 20 "$WORK/gw_a.err")"
    fail "$STACK_ERROR"
    return 1
  fi
  ADDR_A="127.0.0.1:$port"
  echo "emulator on port $EMULATOR_PORT, gateway A on $ADDR_A"
}

# --- Checks ------------------------------------------------------------------------

check_list_services() {
  need_stack || return 1
  run list grpcurl_cmd "$ADDR_A" list
  expect_rc 0
  expect_line "$WORK/list.out" "$SERVICE"
  expect_line "$WORK/list.out" 'grpc\.health\.v1\.Health'
  expect_line "$WORK/list.out" 'grpc\.reflection\.v1(alpha)?\.ServerReflection'
}

check_describe() {
  need_stack || return 1
  run describe_service grpcurl_cmd "$ADDR_A" describe "$SERVICE"
  expect_rc 0
  expect_contains "$WORK/describe_service.out" \
    "rpc UpdateUserProfile ( .usergateway.v1.UpdateUserProfileRequest ) returns ( .usergateway.v1.UpdateUserProfileResponse )"
  run describe_request grpcurl_cmd "$ADDR_A" describe \
    usergateway.v1.UpdateUserProfileRequest
  expect_rc 0
  expect_contains "$WORK/describe_request.out" "string first_name = 3;"
  run describe_user grpcurl_cmd "$ADDR_A" describe usergateway.v1.User
  expect_rc 0
  expect_contains "$WORK/describe_user.out" "optional int64 id = 1;"
  expect_contains "$WORK/describe_user.out" "optional string email = 3;"
  expect_contains "$WORK/describe_user.out" \
    ".usergateway.v1.Profile profile = 10;"
  expect_contains "$WORK/describe_user.out" ".usergateway.v1.Emm emm = 11;"
}

check_update_succeeds() {
  need_stack || return 1
  local first_name="Augusta Ådå"
  run update grpcurl_cmd -H "x-request-id: e2e-update-ok" \
    -d "$(update_request "$ADA_USER_ID" "$first_name")" "$ADDR_A" "$METHOD"
  expect_rc 0
  json_check user --fixture="$FIXTURE" --reply="$WORK/update.out" \
    --user_id="$ADA_USER_ID" --first_name="$first_name"
  # What the REST API was sent: the PUT, the body, the bearer key.
  json_check upstream --port="$EMULATOR_PORT" --request_id=e2e-update-ok \
    --target="/api/authn2/v0/user/$ADA_USER_ID" \
    --body="{\"first_name\": \"$first_name\"}" \
    --authorization="Bearer $VALID_KEY"
  # The caller is told the call's request id: its own x-request-id comes
  # back as a response header, which grpcurl -v prints.
  run update_verbose grpcurl_cmd -v -H "x-request-id: e2e-update-verbose" \
    -d "$(update_request "$ADA_USER_ID" "$first_name")" "$ADDR_A" "$METHOD"
  expect_rc 0
  response_headers "$WORK/update_verbose.out" >"$WORK/update_verbose.headers"
  expect_line "$WORK/update_verbose.headers" 'x-request-id: e2e-update-verbose'
}

check_unknown_user_not_found() {
  need_stack || return 1
  local request
  request="$(update_request "$UNKNOWN_USER_ID" "Nobody")"
  run not_found grpcurl_cmd -d "$request" "$ADDR_A" "$METHOD"
  expect_rc "$GRPCURL_NOT_FOUND"
  expect_contains "$WORK/not_found.err" "Code: NotFound"
  expect_contains "$WORK/not_found.err" '"reason": "UPSTREAM_NOT_FOUND"'
  expect_contains "$WORK/not_found.err" '"domain": "usergateway.v1"'
  expect_contains "$WORK/not_found.err" '"http_status": "404"'
  run not_found_json grpcurl_cmd -format-error -d "$request" "$ADDR_A" \
    "$METHOD"
  expect_rc "$GRPCURL_NOT_FOUND"
  json_check status --reply="$WORK/not_found_json.err" --code=5 \
    --reason=UPSTREAM_NOT_FOUND --http_status=404 --attempts=1
  # An error quotes the request id twice: the response header x-request-id
  # (here a fresh UUID, the caller sent none) and ErrorInfo's request_id.
  run not_found_verbose grpcurl_cmd -v -format-error -d "$request" \
    "$ADDR_A" "$METHOD"
  expect_rc "$GRPCURL_NOT_FOUND"
  response_headers "$WORK/not_found_verbose.out" \
    >"$WORK/not_found_verbose.headers"
  local uuid='[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'
  expect_line "$WORK/not_found_verbose.headers" "x-request-id: $uuid"
  local request_id
  request_id="$(sed -n 's/^x-request-id: //p' \
    "$WORK/not_found_verbose.headers" | head -n 1)"
  [ -n "$request_id" ] || return 1  # (expect_line said why)
  json_check status --reply="$WORK/not_found_verbose.err" --code=5 \
    --reason=UPSTREAM_NOT_FOUND --request_id="$request_id"
  # ... and it is the X-Request-Id the REST API received.
  json_check upstream --port="$EMULATOR_PORT" --request_id="$request_id" \
    --target="/api/authn2/v0/user/$UNKNOWN_USER_ID"
}

check_invalid_request() {
  need_stack || return 1
  local before after
  before="$(python3 "$WORK/e2e_json.py" request_count --port="$EMULATOR_PORT")"
  run invalid grpcurl_cmd -d "$(update_request "$ADA_USER_ID" "")" \
    "$ADDR_A" "$METHOD"
  expect_rc "$GRPCURL_INVALID_ARGUMENT"
  expect_contains "$WORK/invalid.err" "Code: InvalidArgument"
  expect_contains "$WORK/invalid.err" "google.rpc.BadRequest"
  expect_contains "$WORK/invalid.err" '"field": "first_name"'
  run invalid_json grpcurl_cmd -format-error \
    -d "$(update_request "$ADA_USER_ID" "")" "$ADDR_A" "$METHOD"
  expect_rc "$GRPCURL_INVALID_ARGUMENT"
  json_check status --reply="$WORK/invalid_json.err" --code=3 \
    --reason=INVALID_REQUEST --violation=first_name --attempts=0
  # Rejected by the gateway: the REST API never saw these calls.
  after="$(python3 "$WORK/e2e_json.py" request_count --port="$EMULATOR_PORT")"
  [ "$before" = "$after" ] ||
    fail "the emulator received $((after - before)) request(s), want 0"
}

check_wrong_api_key_and_no_secrets_in_logs() {
  need_stack || return 1
  # Gateway B holds a key the emulator does not accept (from the
  # environment this time, the other key source).
  start_process gw_b env GATEWAY_API_KEY="$WRONG_KEY" "$GATEWAY_BIN" \
    --listen=127.0.0.1:0 --port_file="$WORK/gw_b.port" \
    --upstream_base_url="http://127.0.0.1:$EMULATOR_PORT/api" \
    --allow_insecure_http --drain_delay_ms=0 --drain_grace_ms=5000
  local port file secret
  port="$(wait_port_file gw_b "$WORK/gw_b.port")" || return 1
  run unauthenticated grpcurl_cmd -format-error \
    -d "$(update_request "$ADA_USER_ID" "Ada")" "127.0.0.1:$port" "$METHOD"
  expect_rc "$GRPCURL_UNAUTHENTICATED"
  json_check status --reply="$WORK/unauthenticated.err" --code=16 \
    --reason=UPSTREAM_UNAUTHENTICATED --http_status=401
  run unauthenticated_text grpcurl_cmd \
    -d "$(update_request "$ADA_USER_ID" "Ada")" "127.0.0.1:$port" "$METHOD"
  expect_rc "$GRPCURL_UNAUTHENTICATED"
  expect_contains "$WORK/unauthenticated_text.err" "Code: Unauthenticated"
  for file in unauthenticated.err unauthenticated_text.err; do
    expect_not_contains "$WORK/$file" "$WRONG_KEY"
  done

  # A successful call through gateway A returns the fixture's tokens; its
  # call log line must not carry them.
  run secrets_ok grpcurl_cmd -H "x-request-id: e2e-secrets-ok" \
    -d "$(update_request "$ADA_USER_ID" "Ada")" "$ADDR_A" "$METHOD"
  expect_rc 0
  expect_contains "$WORK/secrets_ok.out" "fixture-token"
  # Stop B so that its log is complete; wait (bounded) for A's log line.
  kill -TERM "${PID_OF[gw_b]}"
  if wait_exit "${PID_OF[gw_b]}" "$STOP_TIMEOUT_MS"; then
    [ "$EXIT_RC" = 0 ] || fail "gateway B exited with $EXIT_RC after SIGTERM"
  else
    fail "gateway B still running ${STOP_TIMEOUT_MS} ms after SIGTERM"
  fi
  local deadline=$(( $(now_ms) + 10000 ))
  until grep -q '"request_id":"e2e-secrets-ok"' "$WORK/gw_a.err"; do
    if (( $(now_ms) >= deadline )); then
      fail "gateway A logged no line for request e2e-secrets-ok"
      break
    fi
    sleep 0.05
  done
  expect_contains "$WORK/gw_b.err" '"grpc_code":"UNAUTHENTICATED"'
  for file in gw_a.out gw_a.err gw_b.out gw_b.err; do
    for secret in "$VALID_KEY" "$WRONG_KEY" "fixture-token"; do
      expect_not_contains "$WORK/$file" "$secret"
    done
  done
  echo "--- gateway A log ---"
  cat "$WORK/gw_a.err"
  echo "--- gateway B log ---"
  cat "$WORK/gw_b.err"
}

check_health_probe() {
  need_stack || return 1
  run health "$GRPC_HEALTH_PROBE" -addr="$ADDR_A"
  expect_rc 0
  expect_line "$WORK/health.err" "status: SERVING"
  run health_service "$GRPC_HEALTH_PROBE" -addr="$ADDR_A" -service="$SERVICE"
  expect_rc 0
  expect_line "$WORK/health_service.err" "status: SERVING"
  # The probe can fail: a service the gateway does not serve is no SERVING.
  run health_unknown "$GRPC_HEALTH_PROBE" -addr="$ADDR_A" \
    -service=no.such.Service
  [ "$RC" != 0 ] || fail "probe of an unknown service exited 0"
  expect_not_contains "$WORK/health_unknown.err" "status: SERVING"
}

check_sigterm_drain() {
  need_stack || return 1
  local delay_ms=3000 grace_ms=5000 slow_ms=4000
  start_gateway gw_c --api_key_file="$WORK/valid.key" \
    --drain_delay_ms="$delay_ms" --drain_grace_ms="$grace_ms" \
    --forward_metadata=x-emulator-fault
  local port
  port="$(wait_port_file gw_c "$WORK/gw_c.port")" || return 1
  local addr="127.0.0.1:$port"
  run drain_health_before "$GRPC_HEALTH_PROBE" -addr="$addr"
  expect_rc 0

  # A call the emulator holds for slow_ms: longer than the drain delay, so it
  # is still in flight when the gateway stops accepting calls.
  echo "+ (background) slow call with x-emulator-fault: delay_ms=$slow_ms"
  grpcurl_cmd -H "x-emulator-fault: delay_ms=$slow_ms" \
    -H "x-request-id: e2e-drain-slow" \
    -d "$(update_request "$ADA_USER_ID" "Slowpoke")" "$addr" "$METHOD" \
    >"$WORK/slow.out" 2>"$WORK/slow.err" &
  local slow_pid=$!
  PIDS+=("$slow_pid")
  json_check upstream --port="$EMULATOR_PORT" --request_id=e2e-drain-slow \
    --header="X-Emulator-Fault: delay_ms=$slow_ms"
  kill -0 "$slow_pid" 2>/dev/null ||
    fail "the slow call ended before SIGTERM: $(cat "$WORK/slow.err")"

  echo "+ kill -TERM gateway C"
  local term_ms
  term_ms="$(now_ms)"
  kill -TERM "${PID_OF[gw_c]}"

  # Health turns NOT_SERVING at once; poll (bounded) until the probe says so.
  local deadline=$(( term_ms + delay_ms )) seen=""
  while (( $(now_ms) < deadline )); do
    "$GRPC_HEALTH_PROBE" -addr="$addr" >"$WORK/drain_health.out" 2>&1
    RC=$?
    if [ "$RC" = "$PROBE_NOT_SERVING" ]; then
      seen=yes
      break
    fi
    sleep 0.05
  done
  awk '{ print "  | " $0 }' "$WORK/drain_health.out"
  if [ -z "$seen" ]; then
    fail "no NOT_SERVING within the ${delay_ms} ms drain delay (last probe exit status $RC)"
  else
    echo "NOT_SERVING after $(( $(now_ms) - term_ms )) ms"
    expect_contains "$WORK/drain_health.out" "NOT_SERVING"
    run drain_health_service "$GRPC_HEALTH_PROBE" -addr="$addr" \
      -service="$SERVICE"
    expect_rc "$PROBE_NOT_SERVING"
  fi

  # The in-flight call completes normally.
  if wait_exit "$slow_pid" 60000; then
    echo "+ slow call exit status $EXIT_RC"
    awk '{ print "  | " $0 }' "$WORK/slow.out" "$WORK/slow.err"
    [ "$EXIT_RC" = 0 ] || fail "the in-flight call failed (exit status $EXIT_RC)"
    expect_contains "$WORK/slow.out" '"first_name": "Slowpoke"'
  else
    fail "the in-flight call did not end"
  fi

  # The gateway exits 0, not before the delay and within delay + grace
  # (plus slack for process teardown).
  local slack_ms=3000
  if wait_exit "${PID_OF[gw_c]}" $(( delay_ms + grace_ms + slack_ms + 10000 )); then
    local took=$(( $(now_ms) - term_ms ))
    echo "gateway C exited with status $EXIT_RC ${took} ms after SIGTERM"
    [ "$EXIT_RC" = 0 ] || fail "gateway C exit status $EXIT_RC, want 0"
    (( took >= delay_ms )) ||
      fail "gateway C exited ${took} ms after SIGTERM, before the ${delay_ms} ms drain delay"
    (( took <= delay_ms + grace_ms + slack_ms )) ||
      fail "gateway C took ${took} ms to exit, over delay + grace (${delay_ms} + ${grace_ms} ms)"
  else
    fail "gateway C still running long after SIGTERM"
  fi
  echo "--- gateway C log ---"
  cat "$WORK/gw_c.err"
}

# --- The TLS stack: an HTTPS emulator and gateway M (mTLS), started once -------
# The emulator's --self_signed_tls_dir writes a CA, a server certificate for
# 127.0.0.1 and client certificates (one of that CA, one of another) before
# it listens; the emulator serves HTTPS with them, and gateway M serves mTLS
# with the same server certificate and that CA as its client CA.

TLS_DIR="$WORK/tls"
ADDR_M=""
TLS_STACK_ERROR=""

need_tls_stack() {
  need_tools || return 1
  if [ -n "$TLS_STACK_ERROR" ]; then
    fail "the TLS emulator and gateway did not start: $TLS_STACK_ERROR"
    return 1
  fi
  [ -n "$ADDR_M" ] && return 0
  start_process emulator_tls "$EMULATOR_BIN" --listen=127.0.0.1:0 \
    --port_file="$WORK/emulator_tls.port" --users="$FIXTURE" \
    --api_key="$VALID_KEY" --self_signed_tls_dir="$TLS_DIR"
  local emulator_port port
  if ! emulator_port="$(wait_port_file emulator_tls "$WORK/emulator_tls.port")"; then
    TLS_STACK_ERROR="upstream_emulator: $(tail -n 20 "$WORK/emulator_tls.err")"
    fail "$TLS_STACK_ERROR"
    return 1
  fi
  printf '%s' "$VALID_KEY" >"$WORK/valid.key"
  start_process gw_m "$GATEWAY_BIN" --listen=127.0.0.1:0 \
    --port_file="$WORK/gw_m.port" \
    --upstream_base_url="https://127.0.0.1:$emulator_port/api" \
    --ca_bundle="$TLS_DIR/ca.pem" --api_key_file="$WORK/valid.key" \
    --tls_cert="$TLS_DIR/server.pem" --tls_key="$TLS_DIR/server.key" \
    --tls_client_ca="$TLS_DIR/ca.pem" --drain_delay_ms=0 --drain_grace_ms=5000
  if ! port="$(wait_port_file gw_m "$WORK/gw_m.port")"; then
    TLS_STACK_ERROR="usergateway: $(tail -n 20 "$WORK/gw_m.err")"
    fail "$TLS_STACK_ERROR"
    return 1
  fi
  ADDR_M="127.0.0.1:$port"
  echo "HTTPS emulator on port $emulator_port, gateway M (mTLS) on $ADDR_M"
}

# grpcurl for a connection the gateway refuses at the handshake: it keeps
# re-dialing until -connect-timeout, so that is short here.
grpcurl_refused() {
  "$GRPCURL" -connect-timeout 3 -max-time 30 "$@"
}

# The grpcurl run NAME never got a connection: exit status 1, "Failed to
# dial", no reply from the service.
expect_refused() {
  expect_rc 1
  expect_contains "$WORK/$1.err" "Failed to dial target host"
  expect_not_contains "$WORK/$1.out" '"first_name"'
}

check_mtls() {
  need_tls_stack || return 1
  local ca="$TLS_DIR/ca.pem"
  local with_cert=(-cacert "$ca" -cert "$TLS_DIR/client.pem"
    -key "$TLS_DIR/client.key")
  # Health, from a probe that presents a client certificate (generous
  # timeouts: a sanitizer build's handshake is slow).
  local probe_tls=(-addr="$ADDR_M" -connect-timeout=10s -rpc-timeout=10s
    -tls -tls-ca-cert="$ca" -tls-client-cert="$TLS_DIR/client.pem"
    -tls-client-key="$TLS_DIR/client.key")
  run mtls_health "$GRPC_HEALTH_PROBE" "${probe_tls[@]}"
  expect_rc 0
  expect_line "$WORK/mtls_health.err" "status: SERVING"
  run mtls_health_service "$GRPC_HEALTH_PROBE" "${probe_tls[@]}" \
    -service="$SERVICE"
  expect_rc 0
  expect_line "$WORK/mtls_health_service.err" "status: SERVING"

  run mtls_list grpcurl_tls "${with_cert[@]}" "$ADDR_M" list
  expect_rc 0
  expect_line "$WORK/mtls_list.out" "$SERVICE"
  expect_line "$WORK/mtls_list.out" 'grpc\.health\.v1\.Health'

  # A call through mTLS ingress and the HTTPS upstream.
  run mtls_update grpcurl_tls "${with_cert[@]}" \
    -d "$(update_request "$ADA_USER_ID" "Mutual")" "$ADDR_M" "$METHOD"
  expect_rc 0
  json_check user --fixture="$FIXTURE" --reply="$WORK/mtls_update.out" \
    --user_id="$ADA_USER_ID" --first_name="Mutual"

  # Refused at the handshake: no client certificate, one of another CA, or
  # no TLS at all. None of them gets an answer from the service. (grpcurl,
  # in Go, sends only a certificate that chains to a CA the server names in
  # its request, so the foreign one is withheld and refused as "none"; the
  # integration test covers a client that sends it anyway.)
  run mtls_no_cert grpcurl_refused -cacert "$ca" \
    -d "$(update_request "$ADA_USER_ID" "NoCert")" "$ADDR_M" "$METHOD"
  expect_refused mtls_no_cert
  run mtls_foreign_cert grpcurl_refused -cacert "$ca" \
    -cert "$TLS_DIR/foreign_client.pem" -key "$TLS_DIR/foreign_client.key" \
    -d "$(update_request "$ADA_USER_ID" "Foreign")" "$ADDR_M" "$METHOD"
  expect_refused mtls_foreign_cert
  run mtls_plaintext grpcurl_refused -plaintext \
    -d "$(update_request "$ADA_USER_ID" "Plain")" "$ADDR_M" "$METHOD"
  expect_refused mtls_plaintext
  run mtls_no_cert_list grpcurl_refused -cacert "$ca" "$ADDR_M" list
  expect_refused mtls_no_cert_list
  expect_not_contains "$WORK/mtls_no_cert_list.out" "$SERVICE"
  # grpc-health-probe exits 2 when it cannot connect.
  run mtls_health_no_cert "$GRPC_HEALTH_PROBE" -addr="$ADDR_M" -tls \
    -tls-ca-cert="$ca"
  expect_rc 2
  expect_not_contains "$WORK/mtls_health_no_cert.err" "status: SERVING"
}

check_bad_config_fails_fast() {
  printf '%s' "$VALID_KEY" >"$WORK/valid.key"
  # Bounded: a gateway that started serving instead would hang here.
  run no_url timeout 60 "$GATEWAY_BIN" --listen=127.0.0.1:0 \
    --api_key_file="$WORK/valid.key"
  expect_rc 2
  expect_contains "$WORK/no_url.err" "--upstream_base_url"
  run plain_http timeout 60 "$GATEWAY_BIN" --listen=127.0.0.1:0 \
    --api_key_file="$WORK/valid.key" \
    --upstream_base_url=http://127.0.0.1:9/api
  expect_rc 2
  expect_contains "$WORK/plain_http.err" "http://"
  expect_contains "$WORK/plain_http.err" "--allow_insecure_http"
  # An empty boolean is an error, never "on".
  run empty_bool env GATEWAY_ALLOW_INSECURE_HTTP= timeout 60 "$GATEWAY_BIN" \
    --listen=127.0.0.1:0 --api_key_file="$WORK/valid.key" \
    --upstream_base_url=http://127.0.0.1:9/api
  expect_rc 2
  expect_contains "$WORK/empty_bool.err" "GATEWAY_ALLOW_INSECURE_HTTP"
  # A key that could never be sent is refused at start, without echoing it.
  printf 'e2e-secret\001key\n' >"$WORK/control.key"
  run control_key timeout 60 "$GATEWAY_BIN" --listen=127.0.0.1:0 \
    --api_key_file="$WORK/control.key" \
    --upstream_base_url=https://127.0.0.1:9/api
  expect_rc 2
  expect_contains "$WORK/control_key.err" "$WORK/control.key"
  expect_not_contains "$WORK/control_key.err" "e2e-secret"
  run bad_agent timeout 60 "$GATEWAY_BIN" --listen=127.0.0.1:0 \
    --api_key_file="$WORK/valid.key" \
    --upstream_base_url=https://127.0.0.1:9/api --user_agent=' spaced'
  expect_rc 2
  expect_contains "$WORK/bad_agent.err" "--user_agent"
}

# Bad TLS files stop start-up with exit status 2 and a message naming the
# flag, before the gateway listens.
check_bad_tls_files_fail_fast() {
  need_tls_stack || return 1
  local common=(--listen=127.0.0.1:0 --api_key_file="$WORK/valid.key"
    --upstream_base_url=https://127.0.0.1:9/api)
  run tls_key_mismatch timeout 60 "$GATEWAY_BIN" "${common[@]}" \
    --tls_cert="$TLS_DIR/server.pem" --tls_key="$TLS_DIR/client.key"
  expect_rc 2
  expect_contains "$WORK/tls_key_mismatch.err" \
    "--tls_key: $TLS_DIR/client.key is not the key of the certificate in --tls_cert"
  run tls_cert_missing timeout 60 "$GATEWAY_BIN" "${common[@]}" \
    --tls_cert="$TLS_DIR/missing.pem" --tls_key="$TLS_DIR/server.key"
  expect_rc 2
  expect_contains "$WORK/tls_cert_missing.err" \
    "--tls_cert: cannot read file $TLS_DIR/missing.pem"
  run tls_cert_is_key timeout 60 "$GATEWAY_BIN" "${common[@]}" \
    --tls_cert="$TLS_DIR/server.key" --tls_key="$TLS_DIR/server.key"
  expect_rc 2
  expect_contains "$WORK/tls_cert_is_key.err" "--tls_cert: no PEM certificate"
  run tls_client_ca_is_key timeout 60 "$GATEWAY_BIN" "${common[@]}" \
    --tls_cert="$TLS_DIR/server.pem" --tls_key="$TLS_DIR/server.key" \
    --tls_client_ca="$TLS_DIR/client.key"
  expect_rc 2
  expect_contains "$WORK/tls_client_ca_is_key.err" \
    "--tls_client_ca: no PEM certificate"
  run tls_reload_fraction timeout 60 "$GATEWAY_BIN" "${common[@]}" \
    --tls_cert="$TLS_DIR/server.pem" --tls_key="$TLS_DIR/server.key" \
    --tls_reload_ms=1500
  expect_rc 2
  expect_contains "$WORK/tls_reload_fraction.err" "--tls_reload_ms=1500"
}

check_help() {
  run help "$GATEWAY_BIN" --help
  expect_rc 0
  local flag
  for flag in --upstream_base_url --api_key_file --allow_insecure_http \
    --listen --port_file --drain_delay_ms --drain_grace_ms \
    --forward_metadata --tls_cert --tls_key --tls_client_ca --tls_reload_ms \
    GATEWAY_API_KEY; do
    expect_contains "$WORK/help.out" "$flag"
  done
  local count
  count="$(grep -c -E '^  --[a-z_]+ ' "$WORK/help.out")"
  (( count >= 10 )) || fail "--help lists $count flags, want at least 10"
}

# Last: the remaining processes stop cleanly on SIGTERM, no process reported
# a sanitizer error (ASan/UBSan builds), and no gateway's complete log holds
# a secret.
check_clean_shutdown() {
  need_stack || return 1
  local name names=(gw_a emulator)
  [ -z "$ADDR_M" ] || names+=(gw_m emulator_tls)
  for name in "${names[@]}"; do
    kill -TERM "${PID_OF[$name]}"
    if wait_exit "${PID_OF[$name]}" "$STOP_TIMEOUT_MS"; then
      [ "$EXIT_RC" = 0 ] || fail "$name exit status $EXIT_RC after SIGTERM, want 0"
    else
      fail "$name still running ${STOP_TIMEOUT_MS} ms after SIGTERM"
    fi
  done
  local file
  for file in "$WORK"/gw_*.err "$WORK"/emulator*.err; do
    if grep -E -q 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$file"; then
      fail "sanitizer report in $(basename "$file"):"
      head -n 60 "$file"
    fi
  done
  local secret
  for file in "$WORK"/gw_*.out "$WORK"/gw_*.err; do
    for secret in "$VALID_KEY" "$WRONG_KEY" "fixture-token"; do
      expect_not_contains "$file" "$secret"
    done
  done
}

# --- Runner and report ---------------------------------------------------------------

CASES_XML=""
FAILED=0
TOTAL=0

xml_escape() {
  local text
  text="$(tr -d '\000-\010\013\014\016-\037')"
  if command -v iconv >/dev/null; then
    text="$(printf '%s' "$text" | iconv -c -f UTF-8 -t UTF-8)"
  fi
  printf '%s' "$text" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' \
    -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'
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
    CASES_XML+="  <testcase name=\"$name\" classname=\"e2e\" time=\"$seconds\"/>"$'\n'
  else
    FAILED=$((FAILED + 1))
    echo "FAIL $name (${seconds}s)"
    sed 's/^/    /' "$log"
    local message
    message="$(grep -m1 '^FAILED: ' "$log" | cut -c9- | xml_escape)"
    CASES_XML+="  <testcase name=\"$name\" classname=\"e2e\" time=\"$seconds\">"
    CASES_XML+="<failure message=\"${message:-failed}\">"
    CASES_XML+="$(tail -c 65536 "$log" | xml_escape)</failure></testcase>"$'\n'
  fi
}

SUITE_START="$(now_ms)"
run_check 01_list_services check_list_services
run_check 02_describe check_describe
run_check 03_update_succeeds check_update_succeeds
run_check 04_unknown_user_not_found check_unknown_user_not_found
run_check 05_empty_first_name_invalid_argument check_invalid_request
run_check 06_wrong_api_key_and_no_secrets_in_logs \
  check_wrong_api_key_and_no_secrets_in_logs
run_check 07_health_probe check_health_probe
run_check 08_sigterm_drain check_sigterm_drain
run_check 09_bad_config_fails_fast check_bad_config_fails_fast
run_check 10_help check_help
run_check 11_mtls check_mtls
run_check 12_bad_tls_files_fail_fast check_bad_tls_files_fail_fast
run_check 13_clean_shutdown check_clean_shutdown

suite_ms=$(( $(now_ms) - SUITE_START ))
{
  echo '<?xml version="1.0" encoding="UTF-8"?>'
  echo '<testsuites>'
  printf '<testsuite name="%s" tests="%d" failures="%d" errors="0" time="%d.%03d">\n' \
    "${TEST_TARGET:-//tests/e2e:e2e_test}" "$TOTAL" "$FAILED" \
    $((suite_ms / 1000)) $((suite_ms % 1000))
  printf '%s' "$CASES_XML"
  echo '</testsuite>'
  echo '</testsuites>'
} >"$XML_OUT"

echo "$((TOTAL - FAILED)) of $TOTAL checks passed"
[ "$FAILED" = 0 ]
