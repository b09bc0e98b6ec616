#!/usr/bin/env python3
"""Turns one benchmark run's raw results into the table, and BENCHMARKS.md.

Reads what scripts/benchmark.sh left in --results (ghz JSON reports, the
wrk script's JSON, measure.py's /proc readings, the parser's Google
Benchmark JSON), computes every figure of issue 3, prints the table and,
unless --smoke, judges each target and writes the same table to
--markdown. Text after the NOTES_MARKER line of an existing BENCHMARKS.md
(hand-written analysis) is kept.

Exits 1 when a step failed: a file is missing, a call did not succeed, a
tool reported errors, or --failure was given. Missed targets are reported,
not failures.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import subprocess
import sys

NOTES_MARKER = ("<!-- Generated above by scripts/benchmark.sh; notes below "
                "this line are kept across runs. -->")

# How each figure is made; printed into BENCHMARKS.md.
METHOD = [
    "Upstream: Debian's nginx, one process, configured per run from "
    "`tests/benchmarks/load/nginx.conf.in`: `PUT /api/authn2/v0/user/{id}` "
    "answers at once with the emulator fixture's first user (the exact "
    "bytes the emulator returns, checked before the run), HTTP/1.1 "
    "keep-alive; `/hold/api/...` answers the same after `echo_sleep` (echo "
    "module); a TLS listener with HTTP/2 uses a certificate made for the "
    "run. Ports come from binding port 0 (a tiny race before nginx binds).",
    "Gateway: the `--config=opt` binary with its defaults, except "
    "`--log_calls=false` and `--max_in_flight` at twice the held calls.",
    "Latency: ghz `-c 1` (UpdateUserProfile, then Health/Check on the same "
    "process) and wrk `-t1 -c1` with the gateway's PUT (method, body, "
    "headers), in interleaved rounds; nearest-rank percentiles over every "
    "call of every round. Added = gateway - health - direct, per "
    "percentile.",
    "Latency breakdown: a separate gateway with `--log_calls=true`, the "
    "same calls at `-c 1`; its JSON call log gives, per call, the time from "
    "the handler's start to the reply and the upstream attempt inside it "
    "(logging adds a write per call, so these rows judge nothing).",
    "CPU: utime+stime of the gateway from `/proc/PID/stat` before and after "
    "each ghz run, per 1000 calls (= vCPU per 1000 calls/s); ghz `--rps "
    "1000 -c 16`, and `-c 64 --connections 2` for the saturation and "
    "throughput runs (`--duration-stop=wait`).",
    "Sharding: two fresh gateways side by side, one with the default "
    "upstream loops (one per CPU) and one with `--upstream_loops=1`, each "
    "warmed up, then the saturation load on each in alternating rounds "
    "(3 rounds of 5 s each); the gain is the median of the paired rounds' "
    "ratios.",
    "In flight: ghz `-c N -n N --connections 50`; `/proc/PID/status` (VmRSS, "
    "VmHWM, Threads) sampled every 0.1 s; upstream connections counted "
    "with `ss` (netlink) among the gateway's own sockets; each run on a "
    "fresh gateway warmed up with one held call per gRPC connection.",
    "Parser: `//tests/benchmarks:parser_benchmark` (Google Benchmark), "
    "median of 5 repetitions, CPU time per document.",
    "ghz, wrk, nginx and the gateway share the machine's cores, so every "
    "figure includes their contention (and any other load, see the load "
    "average).",
]

# Published figures for the alternatives (issue 3).
ANCHORS = "Envoy sidecar 0.35, Dapr sidecar pair 0.48"

# Issue 3, item 5.
TARGET_CPU = 0.05            # vCPU per 1000 calls/s
TARGET_ADDED_P50_MS = 0.15
TARGET_ADDED_P99_MS = 0.5
TARGET_THROUGHPUT_RATIO = 0.5
TARGET_PEAK_RSS_MB = 300
TARGET_IDLE_RSS_MB = 30
TARGET_PARSER_SPEEDUP = 4.0


class Run:
    """The results directory, and the step failures found while reading."""

    def __init__(self, directory, failures):
        self.directory = directory
        self.failures = list(failures)

    def load(self, name, required=True):
        path = os.path.join(self.directory, name)
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError) as e:
            if required:
                self.failures.append("%s: missing or unreadable (%s)" %
                                     (name, e))
            return None

    def ghz(self, name, measured=True):
        """Returns the figures of ghz run `name`, or None; records a failure
        when the run is missing or any call did not succeed."""
        report = self.load(name + ".ghz.json")
        measure = self.load(name + ".measure.json") if measured else None
        if report is None:
            return None
        return self.figures(name, [report], measure)

    def ghz_rounds(self, prefix):
        """Pools the rounds PREFIX.1.ghz.json, PREFIX.2.ghz.json, ... into
        one set of figures (percentiles over every call of every round)."""
        reports = []
        for name in sorted(os.listdir(self.directory)):
            if re.fullmatch(re.escape(prefix) + r"\.\d+\.ghz\.json", name):
                report = self.load(name)
                if report is not None:
                    reports.append(report)
        if not reports:
            self.failures.append("%s: no rounds found" % prefix)
            return None
        return self.figures(prefix, reports, None)

    def figures(self, name, reports, measure):
        statuses = {}
        errors = {}
        details = []
        for report in reports:
            for key, n in (report.get("statusCodeDistribution") or {}).items():
                statuses[key] = statuses.get(key, 0) + n
            for key, n in (report.get("errorDistribution") or {}).items():
                errors[key] = errors.get(key, 0) + n
            details += report.get("details") or []
        count = sum(r.get("count", 0) for r in reports)
        ok = statuses.get("OK", 0)
        latencies = sorted(d["latency"] for d in details
                           if d.get("status") == "OK")
        if latencies:
            p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        elif len(reports) == 1:  # no per-call details: ghz's percentiles
            dist = {d["percentage"]: d["latency"]
                    for d in reports[0].get("latencyDistribution") or []}
            p50, p99 = dist.get(50), dist.get(99)
        else:
            p50 = p99 = None
        figures = {
            "count": count,
            "ok": ok,
            "statuses": statuses,
            "errors": errors,
            "rps": reports[0].get("rps", 0.0) if len(reports) == 1 else None,
            "p50_ms": p50 / 1e6 if p50 is not None else None,
            "p99_ms": p99 / 1e6 if p99 is not None else None,
            "measure": measure or {},
            "window": call_window(details),
        }
        if count == 0 or ok != count:
            self.failures.append(
                "%s: %d of %d calls succeeded (%s; errors %s)" %
                (name, ok, count, statuses, errors))
        if measure is not None:
            for process, seconds in (measure.get("cpu_s") or {}).items():
                if seconds is None:
                    self.failures.append("%s: %s exited during the run" %
                                         (name, process))
            if measure.get("exit_code"):
                self.failures.append("%s: the load generator exited %s" %
                                     (name, measure["exit_code"]))
        return figures

    def wrk_rounds(self, prefix):
        """Pools the wrk rounds PREFIX.N.wrk.json: returns (requests,
        p50 ms, p99 ms) from their merged histograms, or None."""
        histogram = {}
        requests = 0
        found = False
        for name in sorted(os.listdir(self.directory)):
            if not re.fullmatch(re.escape(prefix) + r"\.\d+\.wrk\.json",
                                name):
                continue
            result = self.load(name)
            if result is None:
                continue
            found = True
            if sum(result["errors"].values()) or not result["requests"]:
                self.failures.append("%s: %d requests, errors %s" %
                                     (name, result["requests"],
                                      result["errors"]))
            requests += result["requests"]
            for value, count in result["histogram_us"]:
                histogram[value] = histogram.get(value, 0) + count
        if not found:
            self.failures.append("%s: no rounds found" % prefix)
            return None
        total = sum(histogram.values())

        def pct(p):
            rank = max(1, int(math.ceil(p / 100.0 * total)))
            seen = 0
            for value in sorted(histogram):
                seen += histogram[value]
                if seen >= rank:
                    return value / 1000.0
            return None

        return requests, pct(50), pct(99)


def parse_time(text):
    """Seconds since the epoch of ghz's RFC 3339 timestamps (ns digits)."""
    text = text.rstrip("Z")
    base, _, fraction = text.partition(".")
    fraction = (fraction.split("+")[0].split("-")[0] + "0" * 9)[:9]
    seconds = datetime.datetime.fromisoformat(base).replace(
        tzinfo=datetime.timezone.utc).timestamp()
    return seconds + int(fraction) / 1e9


def call_window(details):
    """Returns (seconds over which the calls were sent, first answer,
    last answer), both answers in seconds after the first call was sent,
    from ghz's per-call details (whose timestamp is when a call ended)."""
    ends = []
    starts = []
    for d in details:
        end = parse_time(d["timestamp"])
        ends.append(end)
        starts.append(end - d["latency"] / 1e9)
    if not starts:
        return None
    t0 = min(starts)
    return max(starts) - t0, min(ends) - t0, max(ends) - t0


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, int(math.ceil(p / 100.0 * len(sorted_values))))
    return sorted_values[rank - 1]


def per_thousand(seconds, calls):
    """CPU seconds per 1000 calls, i.e. vCPU per 1000 calls/s."""
    if seconds is None or not calls:
        return None
    return seconds / calls * 1000.0


def fmt(value, digits=3, unit=""):
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return "%d%s" % (value, unit)
    return "%.*f%s" % (digits, value, unit)


# A verdict for a figure that the run cannot judge.
INCONCLUSIVE = "inconclusive"


def judge_added(added, target):
    """A negative added latency means the baselines' own noise exceeded the
    gateway's share (p99 on a busy machine): no verdict either way."""
    if added < 0:
        return INCONCLUSIVE
    return added <= target


class Table:
    """Rows of (figure, value, target or ceiling, verdict) under sections."""

    def __init__(self, judge):
        self.judge = judge
        self.rows = []   # ("section", title) or ("row", figure, value, ...)
        self.short = ""
        self.missed = []

    def section(self, title, short):
        """`short` names the section in the list of missed targets."""
        self.rows.append(("section", title))
        self.short = short

    def row(self, figure, value, target="", met=None):
        """`met`: None for a figure without a target, a bool, or
        INCONCLUSIVE when the figure cannot be judged (noise)."""
        if met is None:
            verdict = ""
        elif not self.judge:
            verdict = "(smoke)"
        elif met is INCONCLUSIVE:
            verdict = "inconclusive"
            self.missed.append("%s: %s (inconclusive)" % (self.short, figure))
        elif met:
            verdict = "met"
        else:
            verdict = "NOT MET"
            self.missed.append("%s: %s" % (self.short, figure))
        self.rows.append(("row", figure, value, target, verdict))

    def text(self):
        widths = [0, 0, 0, 0]
        for r in self.rows:
            if r[0] == "row":
                widths = [max(w, len(c)) for w, c in zip(widths, r[1:])]
        lines = []
        for r in self.rows:
            if r[0] == "section":
                lines.append("")
                lines.append("== %s" % r[1])
            else:
                cells = [c.ljust(w) for c, w in zip(r[1:], widths)]
                lines.append("  " + "  ".join(cells).rstrip())
        return "\n".join(lines)

    def markdown(self):
        lines = []
        for r in self.rows:
            if r[0] == "section":
                lines += ["", "### %s" % r[1], "",
                          "| figure | value | target / ceiling | verdict |",
                          "|---|---|---|---|"]
            else:
                verdict = "**NOT MET**" if r[4] == "NOT MET" else r[4]
                lines.append("| %s | %s | %s | %s |" %
                             (r[1], r[2], r[3], verdict))
        return "\n".join(lines)


def machine():
    """Returns facts about the machine the run was made on."""
    facts = {"cores": len(os.sched_getaffinity(0)), "cpu": "unknown",
             "kernel": platform.release()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    facts["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            facts["memory_gb"] = int(f.readline().split()[1]) / 1024 / 1024
        with open("/proc/loadavg") as f:
            facts["loadavg"] = " ".join(f.read().split()[:3])
    except OSError:
        pass
    return facts


def tool_versions(ghz, nginx):
    versions = {}
    setup = os.path.join(os.path.dirname(__file__), "..", "..", "..",
                         "scripts", "setup.sh")
    try:
        with open(setup) as f:
            match = re.search(r"bojand/ghz/cmd/ghz@(v[\w.]+)", f.read())
            if match:
                versions["ghz"] = match.group(1)
    except OSError:
        pass

    def first_line(command):
        try:
            out = subprocess.run(command, capture_output=True, text=True,
                                 timeout=10)
            text = (out.stdout + out.stderr).strip()
            return text.splitlines()[0] if text else "unknown"
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"

    versions["nginx"] = first_line([nginx, "-v"]).replace(
        "nginx version: ", "")
    versions["wrk"] = first_line(["wrk", "-v"]).split(" [")[0].replace(
        "wrk ", "")
    return versions


# What the gateway's thread names (from /proc, 15 characters) are. The
# gateway names none of its own threads: the one besides main is its
# libcurl loop, so it shows the process name.
THREAD_ROLES = {
    "usergateway": "libcurl loop",
    "nexting_thread": "gRPC callback",
    "default-executo": "gRPC executor",
    "grpc_global_tim": "gRPC timer",
    "main": "main",
}


def thread_breakdown(measure):
    """Returns 'role (name) 1.2 s (40%), ...' for the gateway's threads."""
    threads = (measure.get("thread_cpu_s") or {}).get("gateway") or {}
    total = sum(threads.values())
    if not total:
        return "n/a"
    parts = []
    for name, s in sorted(threads.items(), key=lambda kv: -kv[1]):
        role = THREAD_ROLES.get(name)
        label = "%s (%s)" % (role, name) if role and role != name else name
        parts.append("%s %.2f s (%d%%)" % (label, s, round(100 * s / total)))
    return ", ".join(parts)


def build(args):
    run = Run(args.results, args.failure)
    table = Table(judge=not args.smoke)
    notes = []

    # --- latency at concurrency 1 -------------------------------------------
    gateway = run.ghz_rounds("lat_gateway")
    health = run.ghz_rounds("lat_health")
    direct = run.wrk_rounds("lat_direct")
    if direct is not None:
        direct_requests, direct_p50, direct_p99 = direct
    table.section("Latency at concurrency 1 (ms; ghz -c 1 for gRPC, "
                  "wrk -c 1 for the direct PUT; rounds interleaved and "
                  "pooled)", "latency")
    if gateway and health:
        table.row("UpdateUserProfile through the gateway, p50 / p99",
                  "%s / %s" % (fmt(gateway["p50_ms"]), fmt(gateway["p99_ms"])),
                  "%d calls" % gateway["count"])
        table.row("grpc.health.v1.Health/Check, same process, p50 / p99",
                  "%s / %s" % (fmt(health["p50_ms"]), fmt(health["p99_ms"])),
                  "%d calls" % health["count"])
    if direct is not None:
        table.row("direct REST PUT to nginx, p50 / p99",
                  "%s / %s" % (fmt(direct_p50), fmt(direct_p99)),
                  "%d requests" % direct_requests)
    if gateway and health and direct is not None:
        added50 = gateway["p50_ms"] - health["p50_ms"] - direct_p50
        added99 = gateway["p99_ms"] - health["p99_ms"] - direct_p99
        table.row("added latency p50 (gateway - health - direct)",
                  fmt(added50), "<= %.2f ms" % TARGET_ADDED_P50_MS,
                  judge_added(added50, TARGET_ADDED_P50_MS))
        table.row("added latency p99 (gateway - health - direct)",
                  fmt(added99), "<= %.2f ms" % TARGET_ADDED_P99_MS,
                  judge_added(added99, TARGET_ADDED_P99_MS))
        table.row("ratio gateway / (health + direct), p50 / p99",
                  "%.2f / %.2f" % (
                      gateway["p50_ms"] / (health["p50_ms"] + direct_p50),
                      gateway["p99_ms"] / (health["p99_ms"] + direct_p99)),
                  "anchors: Dapr adds 1.4 ms p90, 2.1 ms p99; Envoy "
                  "2.65 ms p90")

    logged = run.ghz("lat_logged", measured=False)
    calls = read_call_log(args.results, "lat_logged.calls.log")
    if logged and calls:
        handler = sorted(c[0] for c in calls)
        upstream = sorted(c[1] for c in calls)
        ours = sorted(c[0] - c[1] for c in calls)
        table.row("where it goes, server side (%d calls at c=1 on a gateway "
                  "with --log_calls=true): handler start to the reply (just "
                  "before Finish), p50 / p99" % len(calls),
                  "%s / %s" % (fmt(percentile(handler, 50)),
                               fmt(percentile(handler, 99))),
                  "from the call log")
        table.row("  of which the upstream attempt (libcurl: start to last "
                  "byte), p50 / p99",
                  "%s / %s" % (fmt(percentile(upstream, 50)),
                               fmt(percentile(upstream, 99))),
                  "the direct PUT above: %s / %s" % (
                      fmt(direct_p50), fmt(direct_p99)) if direct else "")
        table.row("  and the gateway's own work around it (handoff to the "
                  "loop, parse, map, Finish), p50 / p99",
                  "%s / %s" % (fmt(percentile(ours, 50)),
                               fmt(percentile(ours, 99))), "per call")
        table.row("  outside the handler (gRPC transport both ways, ghz): "
                  "ghz p50 - handler p50",
                  fmt(logged["p50_ms"] - percentile(handler, 50)),
                  "Health/Check's whole p50 above: %s" % (
                      fmt(health["p50_ms"]) if health else "n/a"))

    # --- CPU ----------------------------------------------------------------
    rate = run.ghz("cpu_rate")
    rate_health = run.ghz("cpu_rate_health")
    sat = run.ghz("sat_gateway")
    sat_health = run.ghz("sat_health")
    table.section("CPU (gateway process utime+stime from /proc; "
                  "vCPU per 1000 calls/s = CPU s per 1000 calls)", "CPU")

    def gateway_cpu(figures):
        return per_thousand(
            figures["measure"].get("cpu_s", {}).get("gateway"),
            figures["count"])

    for label, figures in (("at a fixed rate", rate),
                           ("at saturation (c=64)", sat)):
        if not figures:
            continue
        cpu = gateway_cpu(figures)
        table.row("UpdateUserProfile %s (%.0f calls/s achieved)" % (
            label, figures["rps"]),
                  fmt(cpu), "<= %.2f; anchors: %s" % (TARGET_CPU, ANCHORS),
                  cpu is not None and cpu <= TARGET_CPU)
    for label, figures in (("at a fixed rate", rate_health),
                           ("at saturation (c=64)", sat_health)):
        if figures:
            table.row("Health/Check %s (%.0f calls/s), same process" % (
                label, figures["rps"]), fmt(gateway_cpu(figures)),
                      "bare gRPC: the floor under the figure above")
    for label, figures in (("1000 calls/s", rate), ("saturation", sat)):
        if not figures:
            continue
        m = figures["measure"]
        table.row("same run, %s: nginx / ghz (load generator)" % label,
                  "%s / %s" % (
                      fmt(per_thousand(m.get("cpu_s", {}).get("nginx"),
                                       figures["count"])),
                      fmt(per_thousand(m.get("loadgen_cpu_s"),
                                       figures["count"]))),
                  "context: all share the same cores")
    for label, figures in (("saturation", sat), ("1000 calls/s", rate)):
        if not figures or "machine_busy_s" not in figures["measure"]:
            continue
        m = figures["measure"]
        ours = (sum(v for v in m.get("cpu_s", {}).values() if v) +
                m.get("loadgen_cpu_s", 0.0))
        busy, total = m["machine_busy_s"], m["machine_total_s"]
        table.row("same run, %s: machine busy / cores' time; gateway + "
                  "nginx + ghz; other load (s)" % label,
                  "%.1f / %.1f; %.1f; %.1f" % (busy, total, ours,
                                              max(0.0, busy - ours)),
                  "other load skews every figure")
    if sat:
        notes.append("Gateway CPU by thread at saturation: " +
                     thread_breakdown(sat["measure"]) + ".")
    if rate:
        notes.append("Gateway CPU by thread at the fixed rate: " +
                     thread_breakdown(rate["measure"]) + ".")

    # --- throughput -----------------------------------------------------------
    table.section("Throughput at concurrency 64 (ghz -c 64, same process)",
                  "throughput")
    if sat and sat_health:
        table.row("UpdateUserProfile calls/s (p50 / p99 ms)",
                  "%.0f (%s / %s)" % (sat["rps"], fmt(sat["p50_ms"], 2),
                                      fmt(sat["p99_ms"], 2)),
                  "%d calls" % sat["count"])
        table.row("Health/Check calls/s (p50 / p99 ms)",
                  "%.0f (%s / %s)" % (sat_health["rps"],
                                      fmt(sat_health["p50_ms"], 2),
                                      fmt(sat_health["p99_ms"], 2)),
                  "%d calls" % sat_health["count"])
        ratio = sat["rps"] / sat_health["rps"] if sat_health["rps"] else 0.0
        table.row("ratio UpdateUserProfile / Health/Check", fmt(ratio, 2),
                  ">= %.2f" % TARGET_THROUGHPUT_RATIO,
                  ratio >= TARGET_THROUGHPUT_RATIO)

    # --- sharding -------------------------------------------------------------
    loops = read_text(args.results, "main.upstream_loops") or "?"
    many = numbered_runs(run, "shard_many")
    one = numbered_runs(run, "shard_one")
    if many and one:
        table.section("Sharding the upstream loop: default (%s loops) vs "
                      "--upstream_loops=1, ghz -c 64, alternating rounds" %
                      loops, "sharding")
        for label, rounds in (("%s loops" % loops, many), ("one loop", one)):
            table.row("calls/s with %s: median (rounds); CPU per 1000 calls/s"
                      % label,
                      "%.0f (%s); %s" % (
                          median([f["rps"] for f in rounds]),
                          ", ".join("%.0f" % f["rps"] for f in rounds),
                          fmt(median([gateway_cpu(f) for f in rounds]))),
                      "%d calls" % sum(f["count"] for f in rounds))
        gains = [m["rps"] / o["rps"] for m, o in zip(many, one) if o["rps"]]
        if gains:
            table.row("gain: calls/s with %s loops / with one, median of "
                      "paired rounds" % loops, fmt(median(gains), 2),
                      "> 1: the shards helped")
        hold_many = run.ghz("hold_http1")
        hold_one = run.ghz("hold_http1_one_loop")
        for label, figures in (("%s loops" % loops, hold_many),
                               ("one loop", hold_one)):
            if not figures or not figures["window"]:
                continue
            table.row("%d calls held %g s over HTTP/1.1, %s: call latency "
                      "p50 / p99; last answer (s)" % (
                          figures["count"], args.hold_seconds, label),
                      "%s / %s; %.2f" % (
                          fmt(figures["p50_ms"] and figures["p50_ms"] / 1000,
                              2),
                          fmt(figures["p99_ms"] and figures["p99_ms"] / 1000,
                              2),
                          figures["window"][2]),
                      "ideal: %g s" % args.hold_seconds)
        notes.append("Gateway CPU by thread, sharding round 1, %s loops: %s; "
                     "one loop: %s." % (loops,
                                        thread_breakdown(many[0]["measure"]),
                                        thread_breakdown(one[0]["measure"])))

    # --- metrics cost ---------------------------------------------------------
    metrics_section(table, run, gateway_cpu)

    # --- in flight ----------------------------------------------------------
    for name, label in (
            ("hold_http1", "HTTP/1.1 upstream, default flags"),
            ("hold_http2", "HTTP/2 upstream over TLS, default flags"),
            ("hold_tls_http1",
             "HTTP/1.1-only upstream over TLS (declines h2), default flags")):
        figures = run.ghz(name)
        if not figures:
            continue
        m = figures["measure"]
        before = m.get("before") or {}
        peak = m.get("peak") or {}
        table.section("%d calls in flight, upstream holds each %g s (%s)" % (
            figures["count"], args.hold_seconds, label), name)
        table.row("calls that succeeded",
                  "%d of %d" % (figures["ok"], figures["count"]),
                  "all", figures["ok"] == figures["count"] > 0)
        table.row("call latency p50 / p99 (s)",
                  "%s / %s" % (
                      fmt(figures["p50_ms"] and figures["p50_ms"] / 1000, 2),
                      fmt(figures["p99_ms"] and figures["p99_ms"] / 1000, 2)),
                  "ideal: %g s" % args.hold_seconds)
        window = figures["window"]
        if window:
            table.row("all calls sent within; answers from .. to (s)",
                      "%.2f; %.2f .. %.2f" % window,
                      "ideal: ~0; %g .. %g" % (args.hold_seconds,
                                               args.hold_seconds))
        kernel = m.get("kernel") or {}
        if kernel.get("listen_overflows"):
            notes.append(
                "%s: the kernel dropped %d SYNs on full listen queues during "
                "the run (ListenOverflows, machine-wide; net.core.somaxconn "
                "caps nginx's backlog): those connects were retried after "
                "1 s, 3 s, 7 s." % (name, kernel["listen_overflows"]))
        notes.append("%s: gateway CPU by thread: %s." % (
            name, thread_breakdown(m)))
        threads_before = before.get("threads")
        threads_peak = peak.get("threads")
        table.row("gateway threads before -> peak during",
                  "%s -> %s%s" % (threads_before, threads_peak,
                                  thread_change(before.get("thread_names"),
                                                peak.get("thread_names"))),
                  "unchanged",
                  threads_before is not None and
                  threads_peak == threads_before)
        peak_rss = peak.get("vmhwm_kb")
        table.row("gateway RSS before -> peak (VmHWM), MB",
                  "%s -> %s" % (fmt(kb_to_mb(before.get("vmrss_kb")), 1),
                                fmt(kb_to_mb(peak_rss), 1)),
                  "< %d MB" % TARGET_PEAK_RSS_MB,
                  peak_rss is not None and
                  kb_to_mb(peak_rss) < TARGET_PEAK_RSS_MB)
        if peak_rss is not None and before.get("vmrss_kb") is not None:
            table.row("RSS per call in flight, KB",
                      "%.1f" % ((peak_rss - before["vmrss_kb"]) /
                                figures["count"]),
                      "%.1f KB gives 300 MB at 10,000" % (
                          (TARGET_PEAK_RSS_MB * 1024 - before["vmrss_kb"]) /
                          10000.0))
        table.row("gateway upstream connections, peak (open fds)",
                  "%s (%s)" % (peak.get("connections"), peak.get("fds")), "")
        cpu = m.get("cpu_s", {})
        table.row("CPU s during the run: gateway / nginx / ghz",
                  "%s / %s / %s" % (fmt(cpu.get("gateway"), 2),
                                    fmt(cpu.get("nginx"), 2),
                                    fmt(m.get("loadgen_cpu_s"), 2)), "")

    # --- idle ---------------------------------------------------------------
    table.section("Idle footprint (VmRSS and threads from /proc)", "idle")
    for name, label in (("idle_start", "right after start"),
                        ("idle_warm", "idle after warm-up")):
        snap = run.load(name + ".json")
        if snap is None:
            continue
        rss = kb_to_mb(snap["vmrss_kb"])
        table.row("gateway RSS, %s (threads)" % label,
                  "%.1f MB (%d)" % (rss, snap["threads"]),
                  "< %d MB" % TARGET_IDLE_RSS_MB, rss < TARGET_IDLE_RSS_MB)

    # --- parser -------------------------------------------------------------
    table.section("Parser: fixture body to proto (Google Benchmark, "
                  "simdjson vs nlohmann::json)", "parser")
    parser = run.load("parser.json", required=False)
    parser_note = read_text(args.results, "parser_note.txt")
    if parser is None:
        table.row("parser benchmark", "not measured",
                  parser_note or "no output", False)
    else:
        parser_rows(parser, table, run)

    return run, table, notes


def thread_change(before, after):
    """Returns ' (+1 grpc_global_tim)'-style text naming the threads that
    differ between two {name: count} readings, or ''."""
    if not before or not after:
        return ""
    changes = []
    for name in sorted(set(before) | set(after)):
        delta = after.get(name, 0) - before.get(name, 0)
        if delta:
            changes.append("%+d %s" % (delta, name))
    return " (%s)" % ", ".join(changes) if changes else ""


def read_call_log(directory, name):
    """(latency_ms, upstream_ms) of every successful call in the gateway's
    JSON call log NAME; [] when missing."""
    calls = []
    try:
        with open(os.path.join(directory, name), errors="replace") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("grpc_code") == "OK" and "latency_ms" in entry:
                    calls.append((entry["latency_ms"],
                                  entry.get("upstream_ms", 0.0)))
    except OSError:
        pass
    return calls


def numbered_runs(run, prefix):
    """The figures of ghz runs PREFIX.1, PREFIX.2, ... in order."""
    rounds = []
    while os.path.exists(os.path.join(
            run.directory, "%s.%d.ghz.json" % (prefix, len(rounds) + 1))):
        figures = run.ghz("%s.%d" % (prefix, len(rounds) + 1))
        if figures is None:
            break
        rounds.append(figures)
    return rounds


TARGET_METRICS_CPU_RATIO = 1.03


def metrics_section(table, run, gateway_cpu):
    """Metrics on (--admin_listen) vs off, alternating fixed-rate rounds."""
    on = numbered_runs(run, "metrics_on")
    off = numbered_runs(run, "metrics_off")
    if not on or not off:
        return
    table.section("Metrics cost: --admin_listen (recorded and scraped) vs "
                  "off, %d alternating rounds at a fixed rate" % len(on),
                  "metrics")
    for label, rounds in (("on", on), ("off", off)):
        table.row("metrics %s: CPU per 1000 calls/s, median (rounds); "
                  "p50 / p99 ms" % label,
                  "%s (%s); %s / %s" % (
                      fmt(median([gateway_cpu(f) for f in rounds])),
                      ", ".join(fmt(gateway_cpu(f)) for f in rounds),
                      fmt(median([f["p50_ms"] for f in rounds])),
                      fmt(median([f["p99_ms"] for f in rounds]))),
                  "%d calls" % sum(f["count"] for f in rounds))
    ratios = [gateway_cpu(a) / gateway_cpu(b) for a, b in zip(on, off)
              if gateway_cpu(a) and gateway_cpu(b)]
    if ratios:
        ratio = median(ratios)
        table.row("CPU per call, on / off, median of paired rounds",
                  fmt(ratio, 3), "<= %.2f" % TARGET_METRICS_CPU_RATIO,
                  ratio <= TARGET_METRICS_CPU_RATIO)


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2.0


def read_text(directory, name):
    try:
        with open(os.path.join(directory, name)) as f:
            return f.read().strip()
    except OSError:
        return ""


def kb_to_mb(kb):
    return None if kb is None else kb / 1024.0


def parser_rows(parser, table, run):
    """Adds a row per benchmark and the speedup of simdjson over nlohmann
    for each pair of benchmarks whose names differ only in the library."""
    rows = {}
    for b in parser.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != \
                "median":
            continue
        if b.get("error_occurred"):
            run.failures.append("parser benchmark %s: %s" %
                                (b["name"], b.get("error_message")))
            continue
        name = b.get("run_name", b["name"])
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[
            b.get("time_unit", "ns")]
        ns = b["cpu_time"] * scale
        if b.get("items_per_second"):
            ns = 1e9 / b["items_per_second"]
        mbps = b.get("bytes_per_second", 0) / 1e6
        rows[name] = (ns, mbps)
        table.row(name + " (ns/doc, MB/s)",
                  "%.0f ns, %s" % (ns, ("%.0f MB/s" % mbps) if mbps else
                                   "MB/s n/a"), "")
    # Pair each simdjson benchmark with the nlohmann one of the same name
    # (library left out), else with the only nlohmann benchmark there is.
    def key(name):
        return re.sub(r"nlohmann_?json|nlohmann|simdjson", "", name.lower())

    simd = [(n, ns) for n, (ns, _) in rows.items() if "simdjson" in n.lower()]
    nloh = [(n, ns) for n, (ns, _) in rows.items() if "nlohmann" in n.lower()]
    judged = False
    for name, ns in simd:
        match = [b for b in nloh if key(b[0]) == key(name)]
        if not match and len(nloh) == 1:
            match = nloh
        if not match:
            continue
        speedup = match[0][1] / ns
        table.row("speedup: %s vs %s" % (name, match[0][0]),
                  "%.1fx" % speedup, ">= %.0fx" % TARGET_PARSER_SPEEDUP,
                  speedup >= TARGET_PARSER_SPEEDUP)
        judged = True
    if not judged:
        table.row("parser speedup", "no simdjson/nlohmann pair found",
                  ">= %.0fx" % TARGET_PARSER_SPEEDUP, False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", required=True)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--markdown", help="write BENCHMARKS.md here")
    parser.add_argument("--command", default="scripts/benchmark.sh")
    parser.add_argument("--seconds", type=int, default=0,
                        help="the whole run, setup and build included")
    parser.add_argument("--measure_seconds", type=int, default=0,
                        help="the run after the build")
    parser.add_argument("--hold_seconds", type=float, default=2.0)
    parser.add_argument("--ghz", default="ghz")
    parser.add_argument("--nginx", default="nginx")
    parser.add_argument("--failure", action="append", default=[])
    args = parser.parse_args()

    run, table, notes = build(args)
    facts = machine()
    versions = tool_versions(args.ghz, args.nginx)
    date = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC")
    header = [
        "Command: `%s` (%s; %d s in all, %d s after setup and build)" % (
            args.command,
            "smoke: no targets judged" if args.smoke else "full run",
            args.seconds, args.measure_seconds),
        "Machine: %d cores (nproc), %s, %.0f GB RAM, Linux %s; load average "
        "(1/5/15 min) %s at the start, %s at the end" % (
            facts["cores"], facts["cpu"], facts.get("memory_gb", 0),
            facts["kernel"],
            " ".join(read_text(args.results, "loadavg_start").split()[:3])
            or "n/a", facts.get("loadavg", "n/a")),
        "Date: %s" % date,
        "Tools: ghz %s, wrk %s, nginx %s; gateway built with --config=opt" % (
            versions.get("ghz", "?"), versions.get("wrk", "?"),
            versions.get("nginx", "?")),
    ]
    print("\n".join(header))
    print(table.text())
    if notes:
        print()
        for note in notes:
            print(note)
    if table.missed:
        print("\nTargets not met (or not judged): %s" %
              "; ".join(table.missed))
    if run.failures:
        print("\nFAILED steps:")
        for failure in run.failures:
            print("  - " + failure)

    if args.markdown and not args.smoke:
        write_markdown(args.markdown, header, table, notes, run)
    return 1 if run.failures else 0


def write_markdown(path, header, table, notes, run):
    kept = ""
    try:
        with open(path, encoding="utf-8") as f:
            old = f.read()
        if NOTES_MARKER in old:
            kept = old.split(NOTES_MARKER, 1)[1]
    except OSError:
        pass
    lines = [
        "# Benchmarks",
        "",
        "One run of `scripts/benchmark.sh` (issue 3): nginx from Debian as the "
        "upstream, the opt-built gateway, ghz and wrk as load, every figure "
        "from the same run on loopback. Load generator, gateway and nginx "
        "share the same cores.",
        "",
    ]
    lines += ["- " + h for h in header]
    lines += ["", "How it is measured:", ""] + ["- " + m for m in METHOD]
    lines.append(table.markdown())
    lines.append("")
    if table.missed:
        lines.append("Targets not met (or not judged) in this run: %s." %
                     "; ".join(table.missed))
        lines.append("")
    if run.failures:
        lines.append("Failed steps in this run:")
        lines += ["- " + f for f in run.failures]
        lines.append("")
    if notes:
        lines.append("### Threads and CPU by thread (/proc)")
        lines.append("")
        lines += ["- " + n for n in notes]
        lines.append("")
    lines.append(NOTES_MARKER)
    text = "\n".join(lines) + (kept if kept else "\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print("\nwrote %s" % path)


if __name__ == "__main__":
    sys.exit(main())
