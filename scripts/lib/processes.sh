# Shell functions shared by the scripts that start servers and load
# generators (benchmark.sh, soak.sh). Source it after defining
# `log MESSAGE` and `die MESSAGE` (which exits); `work` names the directory
# holding the processes' logs.

# stop_pid PID: SIGTERM, up to 5 s to exit, then SIGKILL; reaps it.
stop_pid() {
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.05
  done
  log "process $pid ignored SIGTERM; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# wait_for_file PATH WHAT PID [SECONDS]: returns once PATH is non-empty (a
# port file); dies when PID exits first or SECONDS (10) pass.
wait_for_file() {
  local limit=$(( ${4:-10} * 20 ))
  for _ in $(seq 1 "$limit"); do
    [ -s "$1" ] && return 0
    kill -0 "$3" 2>/dev/null || die "$2 exited at start; see $work"
    sleep 0.05
  done
  die "$2 did not start within ${4:-10} s; see $work"
}

# find_ghz: sets `ghz` to $GHZ, or to the one scripts/setup.sh installs
# (running it); dies when there is none.
find_ghz() {
  if [ -n "${GHZ:-}" ]; then
    ghz="$GHZ"
  else
    log "setup (scripts/setup.sh)"
    local tools
    tools="$(scripts/setup.sh | sed -n 's/^tools: //p')"
    [ -n "$tools" ] || die "scripts/setup.sh did not name its tools directory"
    ghz="$tools/ghz"
  fi
  [ -x "$ghz" ] || die "ghz not found at $ghz (scripts/setup.sh installs it)"
}

# finish STATUS: the end of a script's `cleanup` (run on EXIT, after it
# stopped its processes): keeps $work when $keep is 1 or STATUS is not 0,
# else removes it; exits STATUS.
finish() {
  if [ "$keep" = 1 ] || [ "$1" != 0 ]; then
    log "work directory kept: $work"
  else
    rm -rf "$work"
  fi
  exit "$1"
}

# trap_cleanup: runs the script's `cleanup` on exit; SIGINT and SIGTERM
# exit (130, 143) through it.
trap_cleanup() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
