#!/usr/bin/env python3
"""Requests lost while children stop (issue 15): Skep's three MPMs and Apache httpd's, each
under `wrk -t2 -c64` keep-alive on a small file, once with a graceful restart every 2 s
and once with `MaxConnectionsPerChild 200`; wrk's socket errors (connect, read, write,
timeout) and non-2xx responses per server, and req/s, as a Markdown table. Losses are
the point, not speed: run it on a busy machine as well as on an idle one.

    swift build -c release --static-swift-stdlib --product skep
    python3 Benchmarks/graceful/run.py                  # 6 servers x 2 runs x 20 s: ~5 min
    python3 Benchmarks/graceful/run.py --quick          # 3 s runs (Benchmarks/run-all --quick)
    python3 Benchmarks/graceful/run.py --out Benchmarks/results/graceful-DATE.md
    python3 Benchmarks/graceful/run.py --servers skep-event,apache-event --duration 10

Servers get ../shared/bench/peers.py's generated config (its `Server` and
`apache_conf`, through Benchmarks/perf/run.py's `load_peers`), with the MPM sizing below
and `MaxKeepAliveRequests 100` (Apache's default, so wrk reconnects and children meet
new connections, which is what MaxConnectionsPerChild counts). The graceful restart is
`SIGUSR1` to the PID in the server's PidFile, what `skep -k graceful` and `apache2 -k
graceful` send. Loopback only; only the servers started here are signalled.
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "Benchmarks", "perf"))
sys.dont_write_bytecode = True
import run as perf  # noqa: E402  (Benchmarks/perf/run.py: load_peers, log, WRK_LUA, parse_wrk)

MPMS = ("prefork", "worker", "event")
SERVERS = [f"skep-{m}" for m in MPMS] + [f"apache-{m}" for m in MPMS]

# 64 keep-alive connections with room for an old generation still finishing while the
# new one serves: 80 prefork processes (up to 200), or 2 children of 64 threads (up to 8).
SIZING = {
    "prefork": [("StartServers", 80), ("MinSpareServers", 8), ("MaxSpareServers", 100),
                ("ServerLimit", 200), ("MaxRequestWorkers", 200)],
    "worker": [("StartServers", 2), ("ServerLimit", 8), ("ThreadLimit", 64),
               ("ThreadsPerChild", 64), ("MinSpareThreads", 64), ("MaxSpareThreads", 256),
               ("MaxRequestWorkers", 512)],
}
SIZING["event"] = SIZING["worker"]

# (name, MaxConnectionsPerChild, graceful restart interval in seconds or 0)
RUNS = [("graceful restart every 2 s", 0, 2.0),
        ("MaxConnectionsPerChild 200", 200, 0.0)]

peers = None


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 s runs (CI smoke run)")
    ap.add_argument("--duration", type=int, default=20, help="seconds per wrk run (20; --quick: 3)")
    ap.add_argument("--conns", type=int, default=64, help="wrk connections (64)")
    ap.add_argument("--skep", default=os.path.join(REPO, ".build", "release", "skep"))
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(REPO), "shared"),
                    help="the shared/ directory beside the repository (../shared)")
    ap.add_argument("--servers", default=",".join(SERVERS), help="comma list of " + ",".join(SERVERS))
    ap.add_argument("--out", help="write the report here too (it always goes to stdout)")
    ap.add_argument("--command", default=None, help=argparse.SUPPRESS)  # as typed, for the report
    a = ap.parse_args(argv)
    if a.quick:
        a.duration = 3
    a.skep = os.path.abspath(a.skep)
    a.servers = [s for s in a.servers.split(",") if s]
    unknown = [s for s in a.servers if s not in SERVERS]
    if unknown:
        ap.error(f"unknown server(s) {unknown}: choose from {SERVERS}")
    return a


def master_pid(srv) -> int | None:
    try:
        with open(srv.ctx.p("run", "httpd.pid")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


class Restarter(threading.Thread):
    """USR1 to the server's master every `interval` seconds until stopped; also counts
    the distinct child processes seen (sampled every 0.25 s), to show the churn."""

    def __init__(self, srv, interval: float):
        super().__init__(daemon=True)
        self.srv, self.interval = srv, interval
        self.done = threading.Event()
        self.restarts, self.children = 0, set()

    def run(self) -> None:
        start = time.monotonic()
        next_restart = start + self.interval if self.interval else float("inf")
        while not self.done.wait(0.25):
            master = master_pid(self.srv)
            self.children.update(p for p in self.srv.pids() if p != master)
            if time.monotonic() >= next_restart and master:
                os.kill(master, signal.SIGUSR1)
                self.restarts += 1
                next_restart += self.interval


def one_run(a, lua: str, top: str, doc: str, name: str, max_conns: int, interval: float) -> dict:
    mpm = name.partition("-")[2]
    peers.MPM_CONF.clear()
    peers.MPM_CONF[mpm] = SIZING[mpm] + [("MaxConnectionsPerChild", max_conns)]
    srv = peers.start_server(perf.server_def(name, a.skep), top, doc, "graceful", False)
    try:
        time.sleep(1)  # the children of a big prefork start settle
        restarter = Restarter(srv, interval)
        r, cmd = perf.wrk_beside(srv.ctx.port, lua, a.conns, a.duration, restarter)
        r.update(restarts=restarter.restarts, children=len(restarter.children),
                 alive=srv.alive(), cmd=shlex.join(cmd))
        return r
    finally:
        srv.stop()


def table(results: list[tuple[str, str, dict]]) -> str:
    head = ["server", "run", "restarts", "children seen", "requests", "req/s",
            "connect", "read", "write", "timeout", "non-2xx", "failed (sum)"]
    rows = []
    for name, run, r in results:
        e = r["errors"]
        rows.append([name, run, r["restarts"], r["children"], r["requests"], f"{r['rps']:.0f}",
                     e["connect"], e["read"], e["write"], e["timeout"], e["non2xx"],
                     f"**{r['failed']}**" if r["failed"] else "0"])
    return peers.md_table(head, rows)


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main(argv) -> int:
    global peers
    a = parse_args(argv)
    peers_py = os.path.join(a.shared, "bench", "peers.py")
    if not os.path.exists(peers_py):
        perf.log(f"ERROR: {peers_py} not found (--shared DIR)")
        return 2
    if any(s.startswith("skep-") for s in a.servers) and not os.access(a.skep, os.X_OK):
        perf.log(f"ERROR: {a.skep} not found: swift build -c release --static-swift-stdlib")
        return 2
    peers = perf.peers = perf.load_peers(peers_py)
    peers.KEEPALIVE_REQUESTS = 100
    top = tempfile.mkdtemp(prefix="skep-graceful-")
    os.chmod(top, 0o755)
    doc = peers.make_docroot(top)
    lua = os.path.join(top, "bench.lua")
    with open(lua, "w") as f:
        f.write(perf.WRK_LUA)
    started, load_before = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), loadavg()
    results, failures = [], []
    try:
        for run, max_conns, interval in RUNS:
            if interval and a.quick:
                interval = 1.0
                run = "graceful restart every 1 s"
            for name in a.servers:
                try:
                    r = one_run(a, lua, top, doc, name, max_conns, interval)
                except peers.BenchError as e:
                    perf.log(f"ERROR {name}, {run}: {e}")
                    failures.append(f"{name}, {run}: {peers.one_line(str(e))}")
                    continue
                results.append((name, run, r))
                perf.log(f"{name:14} {run}: {r['requests']} requests, {r['rps']:.0f}/s, "
                         f"lost {r['failed']} {r['errors']}, {r['restarts']} restarts, "
                         f"{r['children']} children seen")
    finally:
        shutil.rmtree(top, ignore_errors=True)
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    lines = [f"# Requests lost while children stop ({started})", "",
             f"- command: `{a.command or shlex.join(['Benchmarks/graceful/run.py'] + argv)}`",
             f"- commit {commit}; {os.cpu_count()} cores; load average before {load_before}, "
             f"after {loadavg()}",
             f"- load: `wrk -t2 -c{a.conns} -d{a.duration}s --timeout 5s` keep-alive, "
             "GET /index.html (128 B), peers.py's config with `MaxKeepAliveRequests 100`",
             "- runs: a graceful restart (`SIGUSR1` to the PidFile's PID) every "
             f"{'1' if a.quick else '2'} s with `MaxConnectionsPerChild 0`; then "
             "`MaxConnectionsPerChild 200` with no restart",
             "- sizing: " + "; ".join(f"{m}: " + ", ".join(f"{k} {v}" for k, v in SIZING[m])
                                      for m in ("prefork", "worker")) + " (event as worker)",
             "- columns: wrk's socket errors (connect, read, write, timeout) and non-2xx "
             "responses; a read error is a connection closed under a request wrk had sent. "
             "*children seen*: distinct child PIDs sampled every 0.25 s.",
             "", table(results), ""]
    if failures:
        lines += ["Runs that failed:", ""] + [f"- {f}" for f in failures] + [""]
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
        perf.log(f"wrote {a.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
