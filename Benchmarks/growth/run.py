#!/usr/bin/env python3
"""Does a server grow when its listeners are the bottleneck (issue 15)? Skep's event MPM
answers cached small files on the listener thread, so its workers stay idle under such a
load; the master counts the listener's busy time, starts children, and a saturated
listener sends keep-alive connections to them. This runs `wrk -t2 -c64` keep-alive on a
small file for `--duration` seconds against Skep event and Apache event, each with
`StartServers 1` and `StartServers 2`, samples `/server-status?auto` every second, and
prints req/s per second and the children seen, so "StartServers 1 reaches StartServers
2's rate within the first seconds" can be read off the table.

    swift build -c release --static-swift-stdlib --product skep
    python3 Benchmarks/growth/run.py [--duration 10] [--out Benchmarks/results/growth-DATE.md]

Config: ../shared/bench/peers.py's generated one (through Benchmarks/perf/run.py's
`load_peers`, as Benchmarks/graceful does) with ThreadsPerChild 25, MinSpareThreads 5,
MaxSpareThreads 50, ServerLimit 4. Loopback only; only the servers started here are touched.
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "Benchmarks", "perf"))
sys.dont_write_bytecode = True
import run as perf  # noqa: E402  (Benchmarks/perf/run.py: load_peers, log, WRK_LUA, parse_wrk)

SERVERS = ["skep-event", "apache-event"]
SIZING = [("ThreadsPerChild", 25), ("MinSpareThreads", 5), ("MaxSpareThreads", 50),
          ("ServerLimit", 4), ("MaxRequestWorkers", 100)]
peers = None


def auto(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/server-status?auto", timeout=5) as r:
        fields = {}
        for line in r.read().decode("latin-1").splitlines():
            name, _, value = line.partition(": ")
            fields[name] = value
        return fields


class Sampler(threading.Thread):
    """Total Accesses and Processes once a second while wrk runs."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port, self.done, self.samples = port, threading.Event(), []

    def run(self) -> None:
        while not self.done.wait(1.0):
            try:
                f = auto(self.port)
                self.samples.append((time.monotonic(), int(f.get("Total Accesses", 0)), int(f.get("Processes", 0))))
            except (OSError, ValueError):
                pass


def one_run(a, lua, top, doc, name, start_servers):
    mpm = "event"
    peers.MPM_CONF.clear()
    peers.MPM_CONF[mpm] = [("StartServers", start_servers)] + SIZING
    srv = peers.start_server(perf.server_def(name, a.skep), top, doc, "growth", False)
    try:
        time.sleep(1)
        sampler = Sampler(srv.ctx.port)
        r, _ = perf.wrk_beside(srv.ctx.port, lua, a.conns, a.duration, sampler)
        s = sampler.samples
        # req/s between consecutive samples (server-status requests themselves are negligible)
        r["series"] = [round((b[1] - a_[1]) / (b[0] - a_[0])) for a_, b in zip(s, s[1:])]
        r["processes"] = [x[2] for x in s]
        return r
    finally:
        srv.stop()


def main(argv) -> int:
    global peers
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3, help="runs per server and StartServers (median per second)")
    ap.add_argument("--skep", default=os.path.join(REPO, ".build", "release", "skep"))
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(REPO), "shared"))
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    a.skep = os.path.abspath(a.skep)
    peers = perf.peers = perf.load_peers(os.path.join(a.shared, "bench", "peers.py"))
    top = tempfile.mkdtemp(prefix="skep-growth-")
    os.chmod(top, 0o755)
    doc = peers.make_docroot(top)
    lua = os.path.join(top, "bench.lua")
    with open(lua, "w") as f:
        f.write(perf.WRK_LUA)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = []
    try:
        for name in [s for s in a.servers.split(",") if s]:
            for n in (1, 2):
                runs = [one_run(a, lua, top, doc, name, n) for _ in range(a.reps)]
                width = min(len(r["series"]) for r in runs)
                series = [sorted(r["series"][i] for r in runs)[len(runs) // 2] for i in range(width)]
                rps = sorted(r["rps"] for r in runs)[len(runs) // 2]
                procs = max(max(r["processes"] or [0]) for r in runs)
                failed = sum(r["failed"] for r in runs)
                perf.log(f"{name} StartServers {n}: {rps:.0f} req/s, per second {series}, up to {procs} children")
                rows.append([name, n, f"{rps:.0f}", " ".join(str(x) for x in series), procs, failed])
    finally:
        shutil.rmtree(top, ignore_errors=True)
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    text = "\n".join([
        f"# Growth when the listeners are the bottleneck ({started})", "",
        f"- command: `{shlex.join(['Benchmarks/growth/run.py'] + argv)}`",
        f"- commit {commit}; {os.cpu_count()} cores; `wrk -t2 -c{a.conns} -d{a.duration}s` keep-alive, GET /index.html (128 B); "
        f"medians of {a.reps} runs",
        "- sizing: " + ", ".join(f"{k} {v}" for k, v in SIZING),
        "- *per second*: req/s in each second of the run, from `Total Accesses` sampled every second",
        "", peers.md_table(["server", "StartServers", "req/s (wrk)", "req/s per second", "children (max)", "failed"], rows), ""])
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
