#!/usr/bin/env python3
"""Runs a load generator and measures processes around it, from /proc.

  measure.py run --out FILE [--pid NAME=PID]... [--sample PID]
      [--upstream_port PORT]... [--interval 0.1] -- COMMAND [ARG]...
    Reads the CPU seconds (utime+stime) of every --pid, in total and per
    thread name, before and after COMMAND, and the CPU the load generator
    itself used (its rusage), and the whole machine's busy CPU time
    (/proc/stat), runs
    COMMAND, and with --sample reads the sampled process's VmRSS, VmHWM and
    thread count every --interval seconds while COMMAND runs, plus its
    ESTABLISHED TCP connections to the --upstream_port ports every 0.5 s.
    Writes one JSON object to FILE and exits with COMMAND's exit code.

  measure.py snapshot --out FILE --pid PID [--upstream_port PORT]...
    Writes the same footprint (RSS, peak RSS, threads, open fds, upstream
    connections) of PID, once.

Only reads /proc, so it works without perf or root. SIGTERM or SIGINT stops
COMMAND first, so that no load generator outlives the benchmark.
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TCP_ESTABLISHED = "01"


def cpu_seconds(pid):
    """Returns utime+stime of `pid` in seconds (all its threads)."""
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    # The command name (field 2) may hold spaces; fields after ')' are fixed.
    fields = stat[stat.rindex(")") + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLOCK_TICKS


def thread_cpu_seconds(pid):
    """Returns {tid: (thread name, utime+stime seconds)} for `pid`'s
    threads. The main thread is named "main" (it shares the process name)."""
    out = {}
    task_dir = "/proc/%d/task" % pid
    for tid in os.listdir(task_dir):
        try:
            with open(os.path.join(task_dir, tid, "stat")) as f:
                stat = f.read()
        except FileNotFoundError:
            continue  # the thread exited since listdir
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if int(tid) == pid:
            name = "main"
        out[int(tid)] = (name, (int(fields[11]) + int(fields[12])) /
                         CLOCK_TICKS)
    return out


def thread_cpu_delta(before, after):
    """Returns CPU seconds per thread name between two thread_cpu_seconds
    readings (threads born in between count from zero)."""
    by_name = {}
    for tid, (name, seconds) in after.items():
        spent = seconds - before.get(tid, (name, 0.0))[1]
        by_name[name] = by_name.get(name, 0.0) + spent
    return {name: round(s, 3) for name, s in by_name.items() if s > 0}


def thread_names(pid):
    """Returns {thread name: count} for `pid`'s threads."""
    names = {}
    task_dir = "/proc/%d/task" % pid
    for tid in os.listdir(task_dir):
        try:
            with open(os.path.join(task_dir, tid, "comm")) as f:
                name = f.read().strip()
        except FileNotFoundError:
            continue
        if int(tid) == pid:
            name = "main"
        names[name] = names.get(name, 0) + 1
    return names


def status(pid):
    """Returns VmRSS and VmHWM (kB) and Threads of `pid`."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key.lower() + "_kb"] = int(value.split()[0])
            elif key == "Threads":
                out["threads"] = int(value)
    return out


def socket_inodes(pid):
    """Returns the inodes of the sockets `pid` holds, and its fd count."""
    inodes = set()
    fd_dir = "/proc/%d/fd" % pid
    names = os.listdir(fd_dir)
    for name in names:
        try:
            target = os.readlink(os.path.join(fd_dir, name))
        except OSError:
            continue  # closed since listdir
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes, len(names)


def upstream_connection_inodes(pid, ports):
    """Returns the socket inodes of `pid`'s ESTABLISHED TCP connections
    whose peer port is in `ports`, and its open fd count.

    Asks the kernel through `ss` (netlink, filtered in the kernel) when it
    is installed: reading /proc/net/tcp walks every socket on the machine
    and, with 20,000 of them, takes long enough to disturb the run.
    """
    inodes, fds = socket_inodes(pid)
    if not ports:
        return [], fds
    if shutil.which("ss"):
        condition = " or ".join("dport = :%d" % p for p in sorted(ports))
        out = subprocess.run(
            ["ss", "-tnHe", "state", "established", "( %s )" % condition],
            capture_output=True, text=True, check=True).stdout
        return [match.group(1) for match in re.finditer(r"\bino:(\d+)", out)
                if match.group(1) in inodes], fds
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] != TCP_ESTABLISHED or fields[9] not in inodes:
                        continue
                    remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                    if remote_port in ports:
                        found.append(fields[9])
        except FileNotFoundError:
            pass
    return found, fds


def upstream_connections(pid, ports):
    """Counts `pid`'s ESTABLISHED TCP connections whose peer port is in
    `ports`; also returns its open fd count."""
    found, fds = upstream_connection_inodes(pid, ports)
    return len(found), fds


def machine_cpu():
    """Returns (busy, total) CPU seconds of the whole machine since boot,
    from the "cpu" line of /proc/stat (idle and iowait are not busy)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest is in user).
    total = sum(fields[:8])
    busy = total - fields[3] - fields[4]
    return busy / CLOCK_TICKS, total / CLOCK_TICKS


def listen_drops():
    """Returns the kernel's TcpExt ListenOverflows and ListenDrops counters
    (SYNs dropped because a listen queue was full), machine-wide."""
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:]))
            return {"listen_overflows": int(table.get("ListenOverflows", 0)),
                    "listen_drops": int(table.get("ListenDrops", 0))}
    return {}


def footprint(pid, ports):
    out = status(pid)
    out["connections"], out["fds"] = upstream_connections(pid, ports)
    return out


def parse_pids(specs):
    pids = {}
    for spec in specs:
        name, _, pid = spec.partition("=")
        pids[name] = int(pid)
    return pids


def run(args):
    command = args.command
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        sys.exit("measure: no command given")
    pids = parse_pids(args.pid)
    ports = set(args.upstream_port)

    child = None

    def stop(signum, _frame):
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    result = {"command": command}
    if args.sample:
        result["before"] = footprint(args.sample, ports)
        result["before"]["thread_names"] = thread_names(args.sample)
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    threads_before = {name: thread_cpu_seconds(pid)
                      for name, pid in pids.items()}
    rusage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    drops_before = listen_drops()
    machine_before = machine_cpu()
    start = time.monotonic()
    child = subprocess.Popen(command)

    samples = []
    most_threads = 0
    threads_at_most = None  # thread names when the count peaked
    next_connections = 0.0
    if args.sample:
        while child.poll() is None:
            now = time.monotonic()
            try:
                sample = status(args.sample)
                if now >= next_connections:
                    sample["connections"], sample["fds"] = (
                        upstream_connections(args.sample, ports))
                    next_connections = now + 0.5
                if sample["threads"] > most_threads:
                    most_threads = sample["threads"]
                    threads_at_most = thread_names(args.sample)
            except (FileNotFoundError, ProcessLookupError):
                break  # the sampled process died; COMMAND will say so
            sample["t"] = round(now - start, 3)
            samples.append(sample)
            time.sleep(args.interval)
    exit_code = child.wait()
    wall = time.monotonic() - start
    rusage_after = resource.getrusage(resource.RUSAGE_CHILDREN)

    result["exit_code"] = exit_code
    result["kernel"] = {name: value - drops_before.get(name, 0)
                        for name, value in listen_drops().items()}
    machine_after = machine_cpu()
    # Every core's busy time during the run, whoever used it: the gap to
    # the measured processes is other load on the machine.
    result["machine_busy_s"] = machine_after[0] - machine_before[0]
    result["machine_total_s"] = machine_after[1] - machine_before[1]
    result["wall_s"] = wall
    result["cpu_s"] = {}
    result["thread_cpu_s"] = {}
    for name, pid in pids.items():
        try:
            result["cpu_s"][name] = cpu_seconds(pid) - cpu_before[name]
            result["thread_cpu_s"][name] = thread_cpu_delta(
                threads_before[name], thread_cpu_seconds(pid))
        except FileNotFoundError:
            result["cpu_s"][name] = None  # it died during the run
    result["loadgen_cpu_s"] = (
        rusage_after.ru_utime + rusage_after.ru_stime -
        rusage_before.ru_utime - rusage_before.ru_stime)
    if args.sample:
        result["samples"] = samples
        peak = {}
        for key in ("vmrss_kb", "vmhwm_kb", "threads", "connections", "fds"):
            values = [s[key] for s in samples if key in s]
            if values:
                peak[key] = max(values)
        peak["thread_names"] = threads_at_most
        result["peak"] = peak
        try:
            result["after"] = footprint(args.sample, ports)
        except (FileNotFoundError, ProcessLookupError):
            result["after"] = None
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    return exit_code


def snapshot(args):
    result = footprint(args.pid, set(args.upstream_port))
    result["cpu_s_total"] = cpu_seconds(args.pid)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    run_parser = sub.add_parser("run")
    run_parser.add_argument("--out", required=True)
    run_parser.add_argument("--pid", action="append", default=[],
                            help="NAME=PID whose CPU seconds to measure")
    run_parser.add_argument("--sample", type=int,
                            help="PID whose memory and threads to sample")
    run_parser.add_argument("--upstream_port", type=int, action="append",
                            default=[])
    run_parser.add_argument("--interval", type=float, default=0.1)
    run_parser.add_argument("command", nargs=argparse.REMAINDER)
    snap_parser = sub.add_parser("snapshot")
    snap_parser.add_argument("--out", required=True)
    snap_parser.add_argument("--pid", type=int, required=True)
    snap_parser.add_argument("--upstream_port", type=int, action="append",
                             default=[])
    args = parser.parse_args()
    if args.mode == "run":
        return run(args)
    return snapshot(args)


if __name__ == "__main__":
    sys.exit(main())
