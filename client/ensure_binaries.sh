# Sourced by client/python/run_tests.sh and client/go/run_tests.sh: makes
# sure USERGATEWAY_BIN and EMULATOR_BIN name the gateway and upstream
# emulator binaries, building them with Bazel (from the repository root)
# when either is unset. scripts/test.sh sets both to what its default pass
# built. Returns 1 when the build fails.
ensure_binaries() {
  [ -n "${USERGATEWAY_BIN:-}" ] && [ -n "${EMULATOR_BIN:-}" ] && return 0
  local root bin
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  (cd "$root" && bazel build //gateway:usergateway \
    //tests/emulator:upstream_emulator >&2) || return 1
  bin="$(cd "$root" && bazel info bazel-bin 2>/dev/null)"
  export USERGATEWAY_BIN="${USERGATEWAY_BIN:-$bin/gateway/usergateway}"
  export EMULATOR_BIN="${EMULATOR_BIN:-$bin/tests/emulator/upstream_emulator}"
}
