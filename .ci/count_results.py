"""Counts test cases from Bazel's test.xml files and prints "N passed, N failed[, N skipped]".

Usage: count_results.py BAZEL_OUTPUT_LOG TESTLOGS_DIR [TESTLOGS_DIR ...]
A test target that Bazel reports as failed without any failing case in its XML (build failure,
timeout, crash) counts as one failure. Exit status 1 when anything failed.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

log_path, testlogs_dirs = sys.argv[1], sys.argv[2:]
with open(log_path, errors="replace") as f:
    log = f.read()

# Targets Bazel reported on in this run, with their status.
statuses = {}
for m in re.finditer(r"^(//\S+)\s+(?:\(cached\)\s+)?(PASSED|FAILED|TIMEOUT|FLAKY|NO STATUS|"
                     r"FAILED TO BUILD|SKIPPED|INCOMPLETE)\b", log, re.M):
    statuses[m.group(1)] = m.group(2)
build_failed = "FAILED: Build did NOT complete successfully" in log

passed = failed = skipped = 0
failed_targets_with_cases = set()
for testlogs in testlogs_dirs:
    if not testlogs or not os.path.isdir(testlogs):
        continue
    for root, _, files in os.walk(testlogs):
        if "test.xml" not in files:
            continue
        target = "//" + os.path.relpath(root, testlogs)
        target = target[: target.rfind("/")] + ":" + target[target.rfind("/") + 1 :]
        try:
            tree = ET.parse(os.path.join(root, "test.xml"))
        except ET.ParseError:
            continue
        cases = tree.getroot().iter("testcase")
        for case in cases:
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                failed_targets_with_cases.add(target)
            elif case.get("result") == "skipped" or case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1

# Failed targets whose XML shows no failing case (did not build, timed out, crashed).
for target, status in statuses.items():
    if status in ("FAILED", "TIMEOUT", "NO STATUS", "FAILED TO BUILD", "INCOMPLETE") \
            and target not in failed_targets_with_cases:
        failed += 1
if build_failed and failed == 0:
    failed = 1

line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
