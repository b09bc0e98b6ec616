#!/usr/bin/env python3
"""The soak's helper (scripts/soak.sh): samples the gateway, talks to the
upstream emulator's controls, runs the cancelling callers, and judges the
run. Only reads /proc and loopback HTTP(S); needs nothing beyond python3.

  soak.py sample --pid PID --admin_port PORT --phase NAME --t SECONDS
      --out FILE [--metrics_out FILE]
    Appends one JSON line to FILE: the gateway's RSS, open fds and threads
    (from /proc) and its call counters (from /metrics); prints a progress
    line on stderr. --metrics_out also keeps the whole scrape.

  soak.py emulator --origin URL --cacert FILE (--faults JSON |
      --keys_file FILE | --forget_requests)
    Queues faults (POST /_emulator/faults), replaces the emulator's
    read-write keys with the lines of FILE (PUT /_emulator/api_keys; the
    keys never reach argv or output), or forgets the recorded requests
    (DELETE /_emulator/requests), so that the emulator's memory stays flat.

  soak.py wait_metric --admin_port PORT --name NAME [--labels K=V,...]
      --min N --timeout SECONDS
    Polls /metrics until the sum of NAME's matching series is at least N;
    exits 1 on timeout.

  soak.py cancel_loop --ghz GHZ --seconds S --out_dir DIR -- GHZ_ARGS...
    Runs `ghz GHZ_ARGS -z 2s --duration-stop=close -o DIR/N.json` again and
    again for S seconds: every call still in flight when a run ends is
    cancelled by its caller (the connection closes). SIGTERM stops the
    current ghz and exits.

  soak.py report --work DIR [--markdown FILE --command TEXT]
    Judges the run from the files in DIR, prints the table and one line per
    check, ends with `N passed, N failed`; exits 1 when a check failed.
    --markdown writes the figures to FILE (RELIABILITY.md).
"""

import argparse
import glob
import json
import os
import re
import signal
import ssl
import statistics
import subprocess
import sys
import time
import urllib.request

# /proc readers shared with the benchmark (tests/benchmarks/load/measure.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "benchmarks", "load"))
import measure  # noqa: E402

# --- bounds the report judges against (README "Soak and sanitizers") -------

# RSS may grow between the end of the warm-up and the end of the run by at
# most this fraction, or by the floor, whichever is larger: allocator noise
# (glibc arenas, gRPC's slab caches) moves RSS by a few hundred KiB.
RSS_DRIFT_FRACTION = 0.05
RSS_FLOOR_KIB = 2048
# Open descriptors at the quiet point after the run may exceed those at the
# quiet point after the warm-up by at most this many (idle keep-alive
# connections the upstream has not closed yet).
FD_SLACK = 8
# With --upstream_max_connection_age_ms=1000 an upstream connection is not
# reused after 1-2 s and closed soon after (libcurl prunes old idle ones
# when it connects), so none may be seen in samples further apart than this
# many sample intervals.
MAX_CONNECTION_SPAN_SAMPLES = 1
# Calls answered in the main phase: at least this fraction of the load's
# nominal rate (ghz --rps caps; a busy machine delivers less).
MIN_RATE_FRACTION = 0.25

# (gRPC code, ErrorInfo reason) pairs the injected mix may produce. Anything
# else (UNKNOWN, INTERNAL, UNAUTHENTICATED, GATEWAY_OVERLOADED, ...) fails.
ALLOWED_OUTCOMES = {
    ("OK", ""),
    ("NOT_FOUND", "UPSTREAM_NOT_FOUND"),
    ("INVALID_ARGUMENT", "UPSTREAM_INVALID_ARGUMENT"),
    ("UNAVAILABLE", "UPSTREAM_UNAVAILABLE"),
    ("UNAVAILABLE", "UPSTREAM_CONNECTION_RESET"),
    ("DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED"),
    ("CANCELLED", "CALLER_CANCELLED"),
}
# Codes each ghz stream may report (ghz's names).
ALLOWED_GHZ = {
    "plain": {"OK", "NotFound", "InvalidArgument", "Unavailable"},
    "mix": {"OK", "NotFound", "InvalidArgument", "Unavailable",
            "DeadlineExceeded"},
    # The caller closes the connection under its own calls.
    "cancel": {"Unavailable", "Canceled"},
}
# A "slow answer" of the mix (its delay is 300 ms): an OK call this slow.
SLOW_SECONDS = 0.3


def log(message):
    print("soak: " + message, file=sys.stderr, flush=True)


# --- /proc and /metrics ------------------------------------------------------

def footprint(pid, upstream_port):
    """Returns the gateway's RSS (KiB), threads, open fds and the inodes of
    its connections to the upstream, from /proc."""
    status = measure.status(pid)
    inodes, fds = measure.upstream_connection_inodes(pid, {upstream_port})
    return {"rss_kib": status["vmrss_kb"], "threads": status["threads"],
            "fds": fds, "upstream_sockets": inodes}


def scrape(admin_port):
    url = "http://127.0.0.1:%d/metrics" % admin_port
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


_SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Returns [(name, {label: value}, float)] of a text exposition."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SERIES.match(line)
        if not m:
            continue
        labels = dict(_LABEL.findall(m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def metric_sum(series, name, **labels):
    return sum(v for n, l, v in series if n == name and
               all(l.get(k) == want for k, want in labels.items()))


def outcomes(series):
    """Returns {(code, reason): calls} from usergateway_calls_total."""
    out = {}
    for name, labels, value in series:
        if name == "usergateway_calls_total":
            key = (labels.get("code", ""), labels.get("reason", ""))
            out[key] = out.get(key, 0) + int(value)
    return out


def cmd_sample(args):
    sample = footprint(args.pid, args.upstream_port)
    text = scrape(args.admin_port)
    series = parse_metrics(text)
    if args.metrics_out:
        with open(args.metrics_out, "w") as f:
            f.write(text)
    sample.update({
        "phase": args.phase,
        "t": args.t,
        "calls": int(metric_sum(series, "usergateway_calls_total")),
        "in_flight": int(metric_sum(series, "usergateway_calls_in_flight")),
        "waiting": int(metric_sum(series,
                                  "usergateway_upstream_transfers_waiting")),
        "connections_opened": int(metric_sum(
            series, "usergateway_upstream_connections_opened_total")),
        "outcomes": {"%s/%s" % k: v for k, v in outcomes(series).items()},
    })
    previous = None
    if os.path.exists(args.out):
        with open(args.out) as f:
            lines = f.read().splitlines()
        if lines:
            previous = json.loads(lines[-1])
    with open(args.out, "a") as f:
        f.write(json.dumps(sample) + "\n")
    rate = ""
    if previous and sample["t"] > previous["t"]:
        rate = " (%.0f/s)" % ((sample["calls"] - previous["calls"]) /
                              (sample["t"] - previous["t"]))
    log("[%4d s] %-5s rss %6.1f MiB  fds %4d  threads %3d  calls %7d%s  "
        "in flight %3d  connections opened %6d" % (
            sample["t"], args.phase, sample["rss_kib"] / 1024.0,
            sample["fds"], sample["threads"], sample["calls"], rate,
            sample["in_flight"], sample["connections_opened"]))


# --- the emulator's controls --------------------------------------------------

def emulator_request(origin, cacert, method, path, body=None):
    context = ssl.create_default_context(cafile=cacert)
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(origin + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10,
                                context=context) as response:
        response.read()
        if response.status // 100 != 2:
            raise RuntimeError("%s %s: HTTP %d" % (method, path,
                                                   response.status))


def cmd_emulator(args):
    if args.faults:
        emulator_request(args.origin, args.cacert, "POST", "/_emulator/faults",
                         json.loads(args.faults))
    elif args.keys_file:
        with open(args.keys_file) as f:
            keys = [line.strip() for line in f if line.strip()]
        emulator_request(args.origin, args.cacert, "PUT",
                         "/_emulator/api_keys", {"api_keys": keys})
    elif args.forget_requests:
        emulator_request(args.origin, args.cacert, "DELETE",
                         "/_emulator/requests")


def cmd_wait_metric(args):
    labels = dict(kv.split("=", 1) for kv in args.labels.split(",") if kv)
    deadline = time.monotonic() + args.timeout
    while True:
        value = metric_sum(parse_metrics(scrape(args.admin_port)), args.name,
                           **labels)
        if value >= args.min:
            return 0
        if time.monotonic() > deadline:
            log("%s%s stayed at %g (wanted >= %g) for %g s" % (
                args.name, labels or "", value, args.min, args.timeout))
            return 1
        time.sleep(0.2)


# --- callers that cancel ------------------------------------------------------

def cmd_cancel_loop(args):
    ghz_args = args.ghz_args
    if ghz_args and ghz_args[0] == "--":
        ghz_args = ghz_args[1:]
    current = [None]
    stopping = [False]

    def stop(signum, frame):
        # Only signal here: the main loop may be inside Popen.wait(), whose
        # lock a nested wait() would wait for forever.
        stopping[0] = True
        if current[0] is not None:
            current[0].send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    os.makedirs(args.out_dir, exist_ok=True)
    end = time.monotonic() + args.seconds
    run = 0
    # Each run is 2 s; one does not start with less than that left, so that
    # the loop ends within the phase.
    while time.monotonic() + 2.0 <= end and not stopping[0]:
        run += 1
        current[0] = subprocess.Popen(
            [args.ghz] + ghz_args +
            ["-z", "2s", "--duration-stop=close",
             "-o", os.path.join(args.out_dir, "%04d.json" % run)],
            stdout=subprocess.DEVNULL)
        if current[0].wait() != 0 and not stopping[0]:
            log("cancel run %d: ghz exited %d" % (run, current[0].returncode))
            return 1
    return 0


# --- the report ---------------------------------------------------------------

def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def ghz_reports(work, stream):
    """Returns the ghz JSON reports of one stream, all phases."""
    reports = []
    paths = sorted(glob.glob(os.path.join(work, "ghz", stream + "*.json")) +
                   glob.glob(os.path.join(work, "ghz", stream, "*", "*.json")))
    for path in paths:
        with open(path) as f:
            try:
                reports.append(json.load(f))
            except json.JSONDecodeError:
                reports.append({"_unreadable": path})
    return reports


def ghz_codes(reports):
    codes = {}
    for r in reports:
        for code, n in (r.get("statusCodeDistribution") or {}).items():
            codes[code] = codes.get(code, 0) + n
    return codes


def mib(kib):
    return "%.1f MiB" % (kib / 1024.0)


class Checks:
    def __init__(self):
        self.results = []

    def add(self, ok, name, detail):
        self.results.append((bool(ok), name, detail))


def cmd_report(args):
    work = args.work
    samples = read_jsonl(os.path.join(work, "samples.jsonl"))
    events = {}
    for e in read_jsonl(os.path.join(work, "events.jsonl")):
        events[e["event"]] = e
    checks = Checks()
    config = events.get("config", {})

    def metrics_of(name):
        path = os.path.join(work, name)
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return parse_metrics(f.read())

    warm_m = metrics_of("metrics_warm.txt")
    end_m = metrics_of("metrics_end.txt")
    quiet = {s["phase"]: s for s in samples if s["phase"] in ("warm", "end")}
    main = [s for s in samples if s["phase"] == "main"]
    warm_q, end_q = quiet.get("warm"), quiet.get("end")

    # 1. The processes.
    exit_code = events.get("gateway_exit", {}).get("code")
    checks.add(exit_code == 0, "gateway up to the end, drained on SIGTERM",
               "exit code %s" % exit_code)

    # 2. Load.
    main_calls = 0
    main_seconds = config.get("main_seconds", 0)
    if warm_q and end_q:
        main_calls = end_q["calls"] - warm_q["calls"]
    nominal = config.get("nominal_rate", 0)
    want = MIN_RATE_FRACTION * nominal * main_seconds
    rate = main_calls / main_seconds if main_seconds else 0
    checks.add(warm_q and end_q and main_calls >= want,
               "sustained load",
               "%d calls in %d s after warm-up, %.0f/s (at least %.0f%% of "
               "the nominal %d/s)" % (main_calls, main_seconds, rate,
                                      MIN_RATE_FRACTION * 100, nominal))

    # 3. The mix: every class seen, in the whole run.
    all_outcomes = outcomes(end_m)
    warm_outcomes = outcomes(warm_m)
    mix_reports = ghz_reports(work, "mix")
    slow_ok = 0
    for r in mix_reports:
        for d in r.get("details") or []:
            if d.get("status") == "OK" and d.get("latency", 0) >= \
                    SLOW_SECONDS * 1e9:
                slow_ok += 1
    # The call log says how many attempts each call made.
    log_lines = 0
    retried_ok = 0
    log_path = os.path.join(work, "gateway.log")
    if os.path.exists(log_path):
        with open(log_path, errors="replace") as f:
            for line in f:
                if not line.startswith("{") or '"request_id"' not in line:
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                log_lines += 1
                if entry.get("grpc_code") == "OK" and \
                        entry.get("attempts", 0) >= 2:
                    retried_ok += 1
    classes = [
        ("successes", all_outcomes.get(("OK", ""), 0), "OK"),
        ("upstream 404", all_outcomes.get(("NOT_FOUND", "UPSTREAM_NOT_FOUND"),
                                          0), "NOT_FOUND UPSTREAM_NOT_FOUND"),
        ("upstream 400", all_outcomes.get(
            ("INVALID_ARGUMENT", "UPSTREAM_INVALID_ARGUMENT"), 0),
         "INVALID_ARGUMENT UPSTREAM_INVALID_ARGUMENT"),
        ("upstream 503 on every attempt", all_outcomes.get(
            ("UNAVAILABLE", "UPSTREAM_UNAVAILABLE"), 0),
         "UNAVAILABLE UPSTREAM_UNAVAILABLE"),
        ("connection resets", all_outcomes.get(
            ("UNAVAILABLE", "UPSTREAM_CONNECTION_RESET"), 0),
         "UNAVAILABLE UPSTREAM_CONNECTION_RESET"),
        ("retried, then answered", retried_ok,
         "OK calls with 2 or more attempts, from the call log"),
        ("slow answers (>= %g s, OK)" % SLOW_SECONDS, slow_ok,
         "OK calls of the mix stream, from ghz's details"),
        ("caller deadline passed", all_outcomes.get(
            ("DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED"), 0),
         "DEADLINE_EXCEEDED DEADLINE_EXCEEDED"),
        ("caller cancelled", all_outcomes.get(
            ("CANCELLED", "CALLER_CANCELLED"), 0),
         "CANCELLED CALLER_CANCELLED"),
    ]
    for name, count, what in classes:
        checks.add(count > 0, "mix: " + name, "%d (%s)" % (count, what))

    # 4. Nothing unexpected.
    unexpected = {k: v for k, v in all_outcomes.items()
                  if k not in ALLOWED_OUTCOMES and v > 0}
    checks.add(end_m and not unexpected,
               "no unexpected gateway outcome",
               "none" if not unexpected else ", ".join(
                   "%s %s: %d" % (k[0], k[1] or '""', v)
                   for k, v in sorted(unexpected.items())))
    ghz_unexpected = []
    stream_codes = {}
    for stream, allowed in ALLOWED_GHZ.items():
        reports = ghz_reports(work, stream)
        codes = ghz_codes(reports)
        stream_codes[stream] = codes
        unreadable = [r["_unreadable"] for r in reports if "_unreadable" in r]
        if not reports or unreadable:
            ghz_unexpected.append("%s: %s" % (
                stream, "no report" if not reports else
                "unreadable " + ", ".join(unreadable)))
        for code, n in sorted(codes.items()):
            if code not in allowed:
                ghz_unexpected.append("%s: %s %d" % (stream, code, n))
    checks.add(not ghz_unexpected, "no unexpected code at the callers (ghz)",
               "none" if not ghz_unexpected else "; ".join(ghz_unexpected))

    # 5. Key rotation.
    reload_ok = metric_sum(end_m, "usergateway_api_key_reloads_total",
                           result="ok")
    reload_failed = metric_sum(end_m, "usergateway_api_key_reloads_total",
                               result="failed")
    revoked = events.get("old_key_revoked")
    ok_after = None
    if revoked is not None:
        ok_after = all_outcomes.get(("OK", ""), 0) - revoked.get("ok_calls", 0)
    unauthenticated = sum(v for k, v in all_outcomes.items()
                          if k[0] == "UNAUTHENTICATED")
    checks.add(reload_ok >= 1 and reload_failed == 0 and ok_after and
               unauthenticated == 0,
               "key rotation",
               "reloads ok %d, failed %d; %s OK calls after the old key was "
               "revoked; %d UNAUTHENTICATED" % (
                   reload_ok, reload_failed,
                   "no" if ok_after is None else ok_after, unauthenticated))

    # 6. Short connection lifetimes: connections are replaced all the time
    # and no upstream connection (socket inode) is seen in two samples
    # further apart than the bound. (In this mix resets and aborted
    # transfers end most connections within seconds anyway; the age limit
    # bounds the rest. gateway/upstream's unit tests prove the limit alone.)
    opened = 0
    if warm_m and end_m:
        opened = (metric_sum(end_m,
                             "usergateway_upstream_connections_opened_total") -
                  metric_sum(warm_m,
                             "usergateway_upstream_connections_opened_total"))
    seen = {}
    for s in main:
        for inode in s.get("upstream_sockets", []):
            first, _ = seen.get(inode, (s["t"], s["t"]))
            seen[inode] = (first, s["t"])
    longest = max((last - first for first, last in seen.values()), default=0)
    age_ms = config.get("connection_age_ms", 0)
    interval = config.get("sample_seconds", 0)
    checks.add(seen and opened > 0 and longest <= MAX_CONNECTION_SPAN_SAMPLES *
               interval,
               "upstream connections short-lived",
               "%d opened in %d s after warm-up; %d distinct upstream "
               "connections sampled, the longest-lived seen for %d s (bound "
               "%d s: %d sample intervals; "
               "--upstream_max_connection_age_ms=%d)" % (
                   opened, main_seconds, len(seen), longest,
                   MAX_CONNECTION_SPAN_SAMPLES * interval,
                   MAX_CONNECTION_SPAN_SAMPLES, age_ms))

    # 7. Resources.
    if warm_q and end_q:
        rss_bound = max(RSS_DRIFT_FRACTION * warm_q["rss_kib"], RSS_FLOOR_KIB)
        drift = end_q["rss_kib"] - warm_q["rss_kib"]
        checks.add(drift <= rss_bound, "RSS drift, quiet points",
                   "%s -> %s (%+d KiB, %+.1f%%; bound +%d KiB)" % (
                       mib(warm_q["rss_kib"]), mib(end_q["rss_kib"]), drift,
                       100.0 * drift / warm_q["rss_kib"], rss_bound))
        if len(main) >= 6:
            first = statistics.median(s["rss_kib"] for s in main[:3])
            last = statistics.median(s["rss_kib"] for s in main[-3:])
            bound = max(RSS_DRIFT_FRACTION * first, RSS_FLOOR_KIB)
            checks.add(last - first <= bound, "RSS drift under load",
                       "median of the first 3 samples %s, of the last 3 %s "
                       "(%+d KiB, %+.1f%%; bound +%d KiB)" % (
                           mib(first), mib(last), last - first,
                           100.0 * (last - first) / first, bound))
        else:
            checks.add(False, "RSS drift under load",
                       "%d samples after warm-up, 6 needed" % len(main))
        checks.add(end_q["fds"] <= warm_q["fds"] + FD_SLACK, "open fds",
                   "%d -> %d (slack %d)" % (warm_q["fds"], end_q["fds"],
                                            FD_SLACK))
        checks.add(end_q["threads"] == warm_q["threads"], "threads constant",
                   "%d -> %d" % (warm_q["threads"], end_q["threads"]))
        checks.add(all(q["in_flight"] == 0 and q["waiting"] == 0
                       for q in (warm_q, end_q)),
                   "nothing left in flight at the quiet points",
                   "calls in flight %d, %d; transfers waiting %d, %d" % (
                       warm_q["in_flight"], end_q["in_flight"],
                       warm_q["waiting"], end_q["waiting"]))
    else:
        checks.add(False, "resources", "quiet-point samples missing")

    # 8. The call log.
    answered = sum(all_outcomes.values())
    dropped = metric_sum(end_m, "usergateway_call_log_dropped_total")
    checks.add(log_lines == answered and dropped == 0,
               "call log: one line per call",
               "%d lines, %d calls answered, %d dropped" % (
                   log_lines, answered, dropped))

    # --- output ----------------------------------------------------------------
    table = summary_table(samples, warm_q, end_q, main, all_outcomes,
                          stream_codes, config, rate, main_calls, opened)
    print(table)
    passed = sum(1 for ok, _, _ in checks.results if ok)
    failed = len(checks.results) - passed
    for ok, name, detail in checks.results:
        print("%s %s: %s" % ("PASS" if ok else "FAIL", name, detail))
    if args.markdown:
        write_markdown(args, table, checks, config, passed, failed)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def summary_table(samples, warm_q, end_q, main, all_outcomes, stream_codes,
                  config, rate, main_calls, opened):
    rows = ["| | RSS | fds | threads | calls answered |",
            "|---|---|---|---|---|"]
    for label, s in (("first sample", samples[0] if samples else None),
                     ("end of warm-up (quiet)", warm_q),
                     ("first sample after warm-up", main[0] if main else None),
                     ("last sample under load", main[-1] if main else None),
                     ("end (quiet)", end_q)):
        if s:
            rows.append("| %s (t=%d s) | %s | %d | %d | %d |" % (
                label, s["t"], mib(s["rss_kib"]), s["fds"], s["threads"],
                s["calls"]))
    if main:
        rows.append("| under load, min..max | %s..%s | %d..%d | %d..%d | |" % (
            mib(min(s["rss_kib"] for s in main)),
            mib(max(s["rss_kib"] for s in main)),
            min(s["fds"] for s in main), max(s["fds"] for s in main),
            min(s["threads"] for s in main), max(s["threads"] for s in main)))
    out = ["", "\n".join(rows), "",
           "After warm-up: %d calls in %d s, %.0f calls/s; %d upstream "
           "connections opened." % (main_calls, config.get("main_seconds", 0),
                                    rate, opened),
           "", "| gateway outcome (whole run) | calls |", "|---|---|"]
    for (code, reason), n in sorted(all_outcomes.items(),
                                    key=lambda kv: -kv[1]):
        out.append("| %s %s | %d |" % (code, reason, n))
    out += ["", "| ghz stream | codes seen by the caller |", "|---|---|"]
    for stream, codes in stream_codes.items():
        out.append("| %s | %s |" % (stream, ", ".join(
            "%s %d" % (c, n) for c, n in sorted(codes.items(),
                                                 key=lambda kv: -kv[1]))))
    return "\n".join(out) + "\n"


def write_markdown(args, table, checks, config, passed, failed):
    lines = [
        "# Reliability",
        "",
        "The last long soak (`scripts/soak.sh`, see README \"Soak and "
        "sanitizers\"). Written by the script itself with `--record`; the "
        "notes at the end are by hand.",
        "",
        "Command: `%s`, %s, %d CPUs, %s build of the gateway." % (
            args.command, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            os.cpu_count(), config.get("build", "fastbuild")),
        "Load: %s." % config.get("load", ""),
        "Warm-up %d s, then %d s measured; a sample every %d s." % (
            config.get("warmup_seconds", 0), config.get("main_seconds", 0),
            config.get("sample_seconds", 0)),
        table,
        "| check | result | figures |",
        "|---|---|---|",
    ]
    for ok, name, detail in checks.results:
        lines.append("| %s | %s | %s |" % (name, "pass" if ok else "FAIL",
                                           detail.replace("|", "\\|")))
    lines += ["", "%d passed, %d failed" % (passed, failed), ""]
    notes = ""
    if os.path.exists(args.markdown):
        with open(args.markdown) as f:
            text = f.read()
        marker = "## Notes"
        if marker in text:
            notes = text[text.index(marker):]
    with open(args.markdown, "w") as f:
        f.write("\n".join(lines))
        if notes:
            f.write("\n" + notes)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="subcommand", required=True)
    p = sub.add_parser("sample")
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--admin_port", type=int, required=True)
    p.add_argument("--phase", required=True)
    p.add_argument("--t", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--metrics_out")
    p.add_argument("--upstream_port", type=int, required=True)
    p = sub.add_parser("emulator")
    p.add_argument("--origin", required=True)
    p.add_argument("--cacert", required=True)
    p.add_argument("--faults")
    p.add_argument("--keys_file")
    p.add_argument("--forget_requests", action="store_true")
    p = sub.add_parser("wait_metric")
    p.add_argument("--admin_port", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--labels", default="")
    p.add_argument("--min", type=float, required=True)
    p.add_argument("--timeout", type=float, required=True)
    p = sub.add_parser("cancel_loop")
    p.add_argument("--ghz", required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--out_dir", required=True)
    p.add_argument("ghz_args", nargs=argparse.REMAINDER)
    p = sub.add_parser("report")
    p.add_argument("--work", required=True)
    p.add_argument("--markdown")
    p.add_argument("--command", default="scripts/soak.sh")
    args = parser.parse_args()
    handler = {"sample": cmd_sample, "emulator": cmd_emulator,
               "wait_metric": cmd_wait_metric, "cancel_loop": cmd_cancel_loop,
               "report": cmd_report}[args.subcommand]
    sys.exit(handler(args) or 0)


if __name__ == "__main__":
    main()
