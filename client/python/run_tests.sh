#!/usr/bin/env bash
# client/python's tests (pytest) against the real gateway and upstream
# emulator binaries. Generates the stubs from proto/ into a temporary
# directory first. Ends with one line, `N passed, N failed`, counted from
# pytest's JUnit report (errors count as failures; `, N skipped` follows
# when any).
#
# Usage: client/python/run_tests.sh [pytest args...]
# Environment: USERGATEWAY_BIN, EMULATOR_BIN (the binaries; built with Bazel
# when unset), PYTHON (default: the venv scripts/setup.sh makes).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PYTHON="${PYTHON:-${HOME:-/root}/.cache/usergateway/tools/client-venv/bin/python}"
export PYTHON

fail() { echo "client/python: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

# shellcheck source=../ensure_binaries.sh
source "$here/../ensure_binaries.sh"
ensure_binaries || fail "bazel build failed"
[ -x "$PYTHON" ] || fail "no Python at $PYTHON; run scripts/setup.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$here/generate.sh" "$work/gen" || fail "generating the stubs failed"
export PYTHONPATH="$here:$work/gen"

cd "$here"
"$PYTHON" -m pytest -p no:cacheprovider -v --junitxml="$work/junit.xml" \
  tests "$@"
rc=$?
[ -s "$work/junit.xml" ] || fail "pytest wrote no report (exit $rc)"
"$PYTHON" - "$work/junit.xml" "$rc" <<'PY'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
count = lambda key: sum(int(s.get(key, 0)) for s in suites)
failed = count("failures") + count("errors")
skipped = count("skipped")
passed = count("tests") - failed - skipped
if failed == 0 and sys.argv[2] != "0":
    failed = 1  # pytest failed without a failing test: say so
line = f"{passed} passed, {failed} failed"
print(line + (f", {skipped} skipped" if skipped else ""))
PY
