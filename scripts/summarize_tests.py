#!/usr/bin/env python3
"""Counts test cases in Bazel's test.xml files and prints the totals.

Usage: summarize_tests.py TESTLOGS_DIR [BAZEL_OUTPUT_LOG]

Every <testcase> is one test: passed, failed (a <failure> or <error> in it)
or skipped. Only each target's own test.xml is read (not run_N_of_M
directories an earlier `--runs_per_test` may have left). A test target that
Bazel reports as FAILED TO BUILD, TIMEOUT, NO STATUS or FAILED without a
failed case in its test.xml (a crash or a sanitizer's leak report at exit)
counts as one failed test, so that nothing broken goes uncounted. Prints `passed failed skipped` on stdout.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET


def count_xml(path):
    passed = failed = skipped = 0
    failures = []
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        return 0, 1, 0, [f"{path}: unreadable test.xml ({exc})"]
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}.{case.get('name', '')}"
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
            failures.append(name)
        elif (case.find("skipped") is not None
              or case.get("status") == "notrun"
              or case.get("result") == "skipped"):
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped, failures


def target_of(testlogs, dirpath):
    rel = os.path.relpath(dirpath, testlogs)
    return "//" + os.path.dirname(rel) + ":" + os.path.basename(rel)


def main():
    testlogs = sys.argv[1]
    log = sys.argv[2] if len(sys.argv) > 2 else None
    passed = failed = skipped = 0
    failures = []
    failed_cases_of = {}  # target -> failed test cases in its test.xml
    for dirpath, dirnames, files in os.walk(testlogs, followlinks=True):
        if "test.xml" not in files:
            continue
        # A target's own test.xml is this run's. Its run_N_of_M or
        # shard_N_of_M subdirectories may be left over from an earlier
        # `--runs_per_test` by hand: never count those twice (or at all).
        dirnames[:] = []
        target = target_of(testlogs, dirpath)
        p, f, s, names = count_xml(os.path.join(dirpath, "test.xml"))
        passed, failed, skipped = passed + p, failed + f, skipped + s
        failures += names
        failed_cases_of[target] = f
    if log:
        with open(log, errors="replace") as handle:
            for line in handle:
                m = re.match(r"^(//\S+)\s+(FAILED TO BUILD|NO STATUS|"
                             r"TIMEOUT|FAILED)\b", line)
                # A target that failed with no failed case in its test.xml
                # (it did not build, timed out, crashed after its cases, or
                # a sanitizer reported a leak at exit) counts as one.
                if m and failed_cases_of.get(m.group(1), 0) == 0:
                    failed += 1
                    failures.append(f"{m.group(1)} ({m.group(2)})")
    for name in failures:
        print(f"FAILED: {name}", file=sys.stderr)
    print(passed, failed, skipped)


if __name__ == "__main__":
    main()
