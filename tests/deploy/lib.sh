# Helpers shared by the tests/deploy scripts (sourced, not run): counting
# checks, the final `N passed, N failed` line, bounded waits, and the tools
# directory scripts/setup.sh prints.

passed=0 failed=0

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

# check NAME COMMAND...: one test, passed when COMMAND exits 0.
check() {
  local name="$1"
  shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}

# Prints the summary line and exits: 0 when no check failed.
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
  exit
}

now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }

# stop_pid PID: SIGTERM, then SIGKILL if PID (a child of this shell) has not
# exited within 20 s; reaps it.
stop_pid() {
  local deadline=$(( $(now_ms) + 20000 ))
  kill -TERM "$1" 2>/dev/null
  while kill -0 "$1" 2>/dev/null && (( $(now_ms) < deadline )); do
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

# The directory holding the tools scripts/setup.sh installs: $TOOLS when
# set (scripts/test.sh passes it), else setup.sh's last line.
tools_dir() {
  if [ -n "${TOOLS:-}" ]; then
    echo "$TOOLS"
  else
    scripts/setup.sh | sed -n 's/^tools: //p'
  fi
}

# require_tools PATH...: fails the suite (and says what to run) when one is
# not an executable file.
require_tools() {
  local tool missing=""
  for tool in "$@"; do
    [ -x "$tool" ] || missing+=" $tool"
  done
  if [ -n "$missing" ]; then
    fail "tools missing (scripts/setup.sh installs them):$missing"
    finish
  fi
}

# HTTP status of a GET on URL over loopback, no proxy; 000 when no answer.
http_status() {
  /usr/bin/python3 - "$1" <<'PYTHON'
import sys, urllib.error, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(sys.argv[1], timeout=5) as reply:
        print(reply.status)
except urllib.error.HTTPError as error:
    print(error.code)
except OSError:
    print("000")
PYTHON
}

# free_ports N: N distinct TCP ports on 127.0.0.1 that were free a moment
# ago (for servers that cannot bind port 0 and report it, as etcd and
# kube-apiserver), one per line.
free_ports() {
  /usr/bin/python3 - "$1" <<'PYTHON'
import socket, sys
sockets = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    sockets.append(s)
for s in sockets:
    print(s.getsockname()[1])
    s.close()
PYTHON
}
