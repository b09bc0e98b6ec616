#!/usr/bin/env bash
# client/go's tests (go test) against the real gateway and upstream emulator
# binaries. Generates the stubs from proto/ first (generate.sh). Ends with
# one line, `N passed, N failed`, counted from `go test -json` (top-level
# tests; a package that fails without a failing test, e.g. one that does
# not build, counts as one failure; `, N skipped` follows when any).
#
# Usage: client/go/run_tests.sh [go test args...]
# Environment: USERGATEWAY_BIN, EMULATOR_BIN (the binaries; built with Bazel
# when unset), TOOLS (the plugins' directory, see generate.sh).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

fail() { echo "client/go: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
  PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null || fail "no go on PATH (nor /usr/local/go/bin)"
# shellcheck source=../ensure_binaries.sh
source "$here/../ensure_binaries.sh"
ensure_binaries || fail "bazel build failed"
"$here/generate.sh" || fail "generating the stubs failed"

events="$(mktemp)"
trap 'rm -f "$events"' EXIT
cd "$here"
GOFLAGS=-mod=readonly go test -json -count=1 "$@" ./... >"$events"
rc=$?
/usr/bin/python3 - "$events" "$rc" <<'PY'
import json
import sys

passed = failed = skipped = 0
failed_packages, packages_with_failed_tests = set(), set()
for line in open(sys.argv[1]):
    try:
        event = json.loads(line)
    except ValueError:
        print(line, end="", file=sys.stderr)  # e.g. a build error
        continue
    action, test = event.get("Action"), event.get("Test")
    if action == "output":
        sys.stderr.write(event.get("Output", ""))
    if test is None:
        if action == "fail":
            failed_packages.add(event.get("Package"))
        continue
    if "/" in test:  # a subtest counts through its test
        continue
    if action == "pass":
        passed += 1
    elif action == "fail":
        failed += 1
        packages_with_failed_tests.add(event.get("Package"))
    elif action == "skip":
        skipped += 1
failed += len(failed_packages - packages_with_failed_tests)
if failed == 0 and sys.argv[2] != "0":
    failed = 1  # go test failed without a failing test: say so
line = f"{passed} passed, {failed} failed"
print(line + (f", {skipped} skipped" if skipped else ""))
PY
