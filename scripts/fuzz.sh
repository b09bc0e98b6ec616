#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang-14, ASan + UBSan,
# --config=fuzz, in a Bazel output base of its own so that the normal g++
# build's cache is left alone) and runs each for a fixed time, one after the
# other, seeded with its committed corpus (tests/fuzz/corpus/<target>/) and
# dictionary (tests/fuzz/dictionaries/<target>.dict).
#
# Fuzzing works in a temporary corpus directory: the repository is not
# modified, except that every input that crashed, broke a property, leaked,
# ran out of memory or timed out is copied to
# tests/fuzz/corpus/<target>/regressions/, so that the corpus tests of the
# normal suite (//tests/fuzz:<target>_corpus_test) replay it from then on.
#
# Prints one line per fuzzer (total executions and executions per second,
# from libFuzzer's final stats) and ends with `N passed, N failed`, one per
# fuzzer; exits 1 on any finding.
#
# Usage: scripts/fuzz.sh [--seconds N | --minutes N] [target...]
#   targets: response_parser error_mapper retry_after request_translator
#            config (default: all). Default time: 60 seconds each.
set -uo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

ALL_TARGETS=(response_parser error_mapper retry_after request_translator config)
OUTPUT_BASE="${HOME:-/root}/.cache/usergateway/bazel-fuzz"

usage() {
  sed -n 's/^# \{0,1\}Usage: //p; s/^#   //p' "$0" >&2
  exit 2
}

seconds=60
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) [ $# -ge 2 ] || usage; seconds="$2"; shift 2 ;;
    --minutes) [ $# -ge 2 ] || usage; seconds=$(( $2 * 60 )); shift 2 ;;
    -h|--help) usage ;;
    -*) echo "fuzz: unknown option $1" >&2; usage ;;
    *)
      if [[ " ${ALL_TARGETS[*]} " != *" $1 "* ]]; then
        echo "fuzz: unknown target $1 (known: ${ALL_TARGETS[*]})" >&2
        exit 2
      fi
      targets+=("$1"); shift ;;
  esac
done
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz: the time must be a positive whole number" >&2
  exit 2
fi
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")

fail_all() {
  echo "fuzz: $*" >&2
  echo "0 passed, ${#targets[@]} failed"
  exit 1
}

for tool in clang-14 clang++-14; do
  command -v "$tool" >/dev/null ||
    fail_all "$tool is missing: run scripts/setup.sh (clang-14, libfuzzer-14-dev, libclang-rt-14-dev)"
done
[ -n "$(ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ] ||
  fail_all "libFuzzer's runtime is missing: run scripts/setup.sh (libclang-rt-14-dev)"

# Its own server, which exits after 5 idle minutes rather than the usual 3
# hours.
bazel_fuzz() {
  bazel --output_base="$OUTPUT_BASE" --max_idle_secs=300 "$@"
}

labels=()
for t in "${targets[@]}"; do labels+=("//tests/fuzz:${t}_fuzzer"); done
build_log="$(mktemp)"
work="$(mktemp -d)"
trap 'rm -rf "$work" "$build_log"' EXIT
echo "fuzz: building ${targets[*]} (--config=fuzz, output base $OUTPUT_BASE)" >&2
# --symlink_prefix=/: leave the workspace's bazel-bin & co. pointing at the
# normal build.
if ! bazel_fuzz build --config=fuzz --symlink_prefix=/ "${labels[@]}" \
    >"$build_log" 2>&1; then
  grep -v "Cannot export local symbol" "$build_log" | tail -n 40 >&2
  fail_all "the fuzzers did not build"
fi
bin="$(bazel_fuzz info --config=fuzz bazel-bin 2>/dev/null)"

# The value of libFuzzer's final-stats line `stat::NAME: VALUE` in a log.
stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

passed=0 failed=0
for t in "${targets[@]}"; do
  corpus="$work/$t/corpus" artifacts="$work/$t/artifacts" log="$work/$t/log"
  mkdir -p "$corpus" "$artifacts"
  # Flattened: libFuzzer reads the top level of a corpus directory only.
  find "tests/fuzz/corpus/$t" -type f -exec cp -t "$corpus" {} +
  seeds="$(ls "$corpus" | wc -l)"
  echo "fuzz: $t: ${seconds} s from $seeds seeds" >&2
  # Run from the work directory: the config fuzzer stat()s relative paths.
  (cd "$work/$t" &&
    "$bin/tests/fuzz/${t}_fuzzer" -max_total_time="$seconds" \
      -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      -dict="$root/tests/fuzz/dictionaries/$t.dict" \
      -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1)
  rc=$?
  runs="$(stat_of number_of_executed_units "$log")"
  rate="$(stat_of average_exec_per_sec "$log")"
  added="$(stat_of new_units_added "$log")"
  findings=()
  for f in "$artifacts"/*; do
    [ -f "$f" ] || continue
    case "$(basename "$f")" in crash-*|leak-*|timeout-*|oom-*) ;; *) continue ;; esac
    mkdir -p "tests/fuzz/corpus/$t/regressions"
    cp "$f" "tests/fuzz/corpus/$t/regressions/"
    findings+=("tests/fuzz/corpus/$t/regressions/$(basename "$f")")
  done
  summary="fuzz: $t: ${runs:-?} executions, ${rate:-?} exec/s, ${added:-0} new inputs in ${seconds} s"
  if [ "$rc" = 0 ] && [ ${#findings[@]} = 0 ]; then
    echo "$summary: passed" >&2
    passed=$((passed + 1))
    continue
  fi
  failed=$((failed + 1))
  echo "$summary: FAILED (exit $rc)" >&2
  grep -E "property failed|^SUMMARY:|ERROR: libFuzzer|ERROR: AddressSanitizer|runtime error:" \
    "$log" | head -n 5 | sed 's/^/fuzz:   /' >&2
  if [ ${#findings[@]} -gt 0 ]; then
    for f in "${findings[@]}"; do
      echo "fuzz:   input saved as $f (replayed by //tests/fuzz:${t}_corpus_test; commit it with the fix)" >&2
    done
  else
    tail -n 20 "$log" | sed 's/^/fuzz:   /' >&2
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
