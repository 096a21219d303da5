#!/usr/bin/env python3
"""Skep's MPM benchmark suite: the peer comparison and six sweeps, Skep against Apache
httpd (same generated config) and nginx, written as a Markdown report, JSON and PNG plots.

    Benchmarks/run-all                 # builds Skep (release), then runs this; ~30 min
    Benchmarks/run-all --quick         # smoke run of seconds (CI): one tiny point per sweep

Called by Benchmarks/run-all (which installs the packages and builds Skep); see
docs/performance/README.md for what each sweep measures. Loopback only, every load is
bounded in time and size; only processes started here (and their descendants) are
signalled. Servers are started through ../shared/bench/peers.py's own classes, so they
get exactly the configs peers.py generates (with the MPM sizing of each sweep).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MPMS = ("prefork", "worker", "event")
CONC_LEVELS = [1, 10, 50, 100, 250, 500, 1000]
MEM_LEVELS = [10, 100, 1000, 5000]

# MPM sizing of the sweeps. "big" is the seed claim's own figure: 1000 clients as 1000
# prefork processes, or 10 processes of 100 threads (worker, event). "peers" is peers.py's
# sizing (256 processes, or 4 x 64 threads), used for the crash and restart sweeps.
SIZING = {
    "big": {
        "prefork": [("StartServers", 1000), ("MinSpareServers", 16), ("MaxSpareServers", 1000),
                    ("ServerLimit", 1000), ("MaxRequestWorkers", 1000),
                    ("MaxConnectionsPerChild", 0)],
        "worker": [("StartServers", 10), ("ServerLimit", 10), ("ThreadLimit", 100),
                   ("ThreadsPerChild", 100), ("MinSpareThreads", 100), ("MaxSpareThreads", 1000),
                   ("MaxRequestWorkers", 1000), ("MaxConnectionsPerChild", 0)],
    },
    # --quick: the same shapes, tiny
    "tiny": {
        "prefork": [("StartServers", 8), ("MinSpareServers", 2), ("MaxSpareServers", 8),
                    ("ServerLimit", 8), ("MaxRequestWorkers", 8), ("MaxConnectionsPerChild", 0)],
        "worker": [("StartServers", 2), ("ServerLimit", 2), ("ThreadLimit", 4),
                   ("ThreadsPerChild", 4), ("MinSpareThreads", 4), ("MaxSpareThreads", 8),
                   ("MaxRequestWorkers", 8), ("MaxConnectionsPerChild", 0)],
    },
}
for _s in SIZING.values():
    _s["event"] = _s["worker"]

peers = None  # ../shared/bench/peers.py, loaded in main()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def session_cpu_seconds(session: int | None) -> float:
    """CPU of every process in `session` (a server's master and its children): utime and
    stime, and the cutime and cstime of children they reaped, from /proc."""
    ticks = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        if int(fields[3]) == session:
            ticks += sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def load_peers(path: str):
    spec = importlib.util.spec_from_file_location("peers", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["peers"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def use_sizing(name: str) -> None:
    """peers.apache_conf reads peers.MPM_CONF when it renders a config."""
    if name != "peers":
        peers.MPM_CONF.clear()
        peers.MPM_CONF.update(SIZING[name])
    else:
        peers.MPM_CONF.clear()
        peers.MPM_CONF.update(PEERS_SIZING)


def mpm_limits(sizing: str, mpm: str) -> dict:
    d = dict((SIZING[sizing] if sizing != "peers" else PEERS_SIZING)[mpm])
    return {"MaxRequestWorkers": d["MaxRequestWorkers"], "ServerLimit": d["ServerLimit"],
            "ThreadsPerChild": d.get("ThreadsPerChild", 1)}


# ---------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------
class Bench:
    """Shared state: temp dir, docroot, server definitions, the raw results."""

    def __init__(self, a):
        self.a = a
        self.top = tempfile.mkdtemp(prefix="skep-bench-")
        os.chmod(self.top, 0o755)
        self.doc = peers.make_docroot(self.top)
        self.current = None
        self.res: dict = {}

    def defs(self, names: list[str]) -> list:
        out = []
        builtin = peers.builtin_servers()
        for n in names:
            kind, _, mpm = n.partition("-")
            if kind == "skep":
                out.append(peers.apache_def(n, mpm, f"{self.a.skep} -f {{conf}}"))
            elif kind == "apache":
                out.append(builtin[n])
            elif n == "nginx":
                out.append(builtin["nginx"])
        return out

    def start(self, d, tag: str):
        srv = peers.start_server(d, self.top, self.doc, tag, False)
        self.current = srv
        return srv

    def stop(self, srv) -> None:
        if srv is not None:
            srv.stop()
        self.current = None


STABLE_SECS = [1.0]


def settle(srv, secs: float) -> dict:
    """Wait until the process count stops changing (prefork starts 1000 children)."""
    deadline, last, same_since = time.monotonic() + secs, -1, time.monotonic()
    while time.monotonic() < deadline:
        n = len(srv.pids())
        if n != last:
            last, same_since = n, time.monotonic()
        elif time.monotonic() - same_since >= STABLE_SECS[0]:
            break
        time.sleep(0.1)
    return srv.memory()


def kind_of(name: str) -> str:
    return name.split("-")[0]


# ---------------------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------------------
WRK_LUA = """done = function(s, lat, req)
  local e = s.errors
  io.write(string.format("SKEPBENCH %d %d %d %d %d %d %d %d %d %d %d %d\\n", s.requests,
    s.duration, s.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    lat:percentile(50), lat:percentile(99), lat:percentile(99.9), lat.max))
end
"""


def wrk_cmd(b: Bench, port: int, path: str, conns: int, secs: float, close=False) -> list[str]:
    cmd = ["wrk", f"-t{min(2, conns)}", f"-c{conns}", f"-d{max(1, int(round(secs)))}s",
           "--timeout", "5s", "-s", b.lua]
    if close:
        cmd += ["-H", "Connection: close"]
    return cmd + [f"http://127.0.0.1:{port}{path}"]


def parse_wrk(out: str, cmd: list[str]) -> dict:
    rows = [ln.split()[1:] for ln in out.splitlines() if ln.startswith("SKEPBENCH ")]
    if not rows:
        raise peers.BenchError(f"wrk gave no result: {shlex.join(cmd)}\n{out}")
    n, dur, nbytes, conn, rd, wr, st, tmo, p50, p99, p999, mx = map(int, rows[0])
    errs = {"connect": conn, "read": rd, "write": wr, "non2xx": st, "timeout": tmo}
    return {"requests": n, "rps": n / (dur / 1e6), "mbps": nbytes / dur, "p50_ms": p50 / 1e3,
            "p99_ms": p99 / 1e3, "p999_ms": p999 / 1e3, "max_ms": mx / 1e3, "errors": errs,
            "failed": sum(errs.values())}


def run_wrk(b: Bench, srv, path: str, conns: int, secs: float, close=False) -> dict:
    cmd = wrk_cmd(b, srv.ctx.port, path, conns, secs, close)
    cpu0, t0 = srv.cpu_seconds(), time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 60)
    r = parse_wrk(p.stdout + p.stderr, cmd)
    r["srv_us_req"] = (srv.cpu_seconds() - cpu0) * 1e6 / max(r["requests"], 1)
    r["wall_s"] = time.monotonic() - t0
    return r


def wrk_beside(port: int, lua: str, conns: int, secs: int, companion) -> tuple[dict, list[str]]:
    """`wrk -t2` keep-alive on /index.html for `secs` while `companion` runs: a thread that
    stops when its `done` Event is set (a restarter, a sampler). Returns parse_wrk's result
    and the command."""
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{secs}s", "--timeout", "5s", "-s", lua,
           f"http://127.0.0.1:{port}/index.html"]
    companion.start()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 60)
    finally:
        companion.done.set()
        companion.join()
    return parse_wrk(p.stdout + p.stderr, cmd), cmd


def server_def(name: str, skep: str):
    """peers.py's definition of `name`: `skep-MPM` runs the binary at `skep` on the
    generated Apache config; any other name is one of peers.py's own servers."""
    kind, _, mpm = name.partition("-")
    if kind == "skep":
        return peers.apache_def(name, mpm, f"{skep} -f {{conf}}")
    return peers.builtin_servers()[name]


class Probe(threading.Thread):
    """One request every 10 ms on a keep-alive connection, as a browser sends them: a
    request that fails on a reused connection (closed by the server meanwhile) is retried
    once on a new one, as clients do for idempotent requests. Records (t, ms or None for
    a failure after the retry) for the crash and restart time lines, and the retries."""

    REQ = b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    def __init__(self, port: int, secs: float):
        super().__init__(daemon=True)
        self.port, self.secs, self.samples, self.retries = port, secs, [], 0
        self.sock = None

    def once(self) -> None:
        fresh = self.sock is None
        try:
            if fresh:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            self.sock.sendall(self.REQ)
            buf = bytearray()
            while not peers.response_complete(buf):
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise OSError("closed")
                buf += chunk
            if not buf.startswith(b"HTTP/1.1 200"):
                raise OSError("status")
            if b"connection: close" in buf.lower():
                self.sock.close()
                self.sock = None
        except OSError:
            if self.sock is not None:
                self.sock.close()
            self.sock = None
            if fresh:
                raise
            self.retries += 1
            self.once()

    def run(self) -> None:
        t0 = time.monotonic()
        while (now := time.monotonic()) - t0 < self.secs:
            try:
                self.once()
                self.samples.append((now - t0, (time.monotonic() - now) * 1e3))
            except OSError:
                self.samples.append((now - t0, None))
            time.sleep(max(0.0, 0.01 - (time.monotonic() - now)))
        if self.sock is not None:
            self.sock.close()


# ---------------------------------------------------------------------------------------
# Sweep 0 (and 3): peers.py
# ---------------------------------------------------------------------------------------
def sweep_peers(b: Bench) -> None:
    a = b.a
    names = [n for n in a.servers if not n.startswith("skep-")]
    skep_mpms = [n.split("-")[1] for n in a.servers if n.startswith("skep-")]
    cmd = [sys.executable, a.peers, "--reps", str(a.reps), "--duration", str(a.duration),
           "--warmup", str(a.warmup), "--json", os.path.join(a.out, "peers.json")]
    if a.quick:
        cmd += ["--scenarios", "close-small,file-1m"]
    else:
        cmd += ["--scenarios", "ka-small,close-small,file-1m,ka-256,idle"]
    # The event MPM's goals name every peer in the run: lighttpd and h2o join when installed.
    if not a.quick:
        names += [n for n in ("lighttpd", "h2o") if shutil.which(n) and n not in names]
    if names:
        cmd += ["--only", ",".join(names)]
    if "nginx" not in names:
        cmd += ["--baseline", names[0] if names else f"skep-{skep_mpms[0]}"]
    if skep_mpms:
        cmd += ["--server", f"skep:{','.join(skep_mpms)}={a.skep} -f {{conf}}"]
    log(f"== peers: {shlex.join(cmd)}")
    shown = ["python3", "../shared/bench/peers.py"] + cmd[2:]
    b.res["peers_cmd"] = shlex.join(shown).replace(a.out, "OUT").replace(a.skep, "SKEP")
    with open(os.path.join(a.out, "peers.md"), "w") as out:
        p = subprocess.run(cmd, stdout=out, stderr=None if a.verbose else subprocess.PIPE,
                           text=True, timeout=3600)
    if p.returncode != 0:
        raise peers.BenchError(f"peers.py failed ({p.returncode})\n{(p.stderr or '')[-3000:]}")
    with open(os.path.join(a.out, "peers.json")) as f:
        b.res["peers"] = json.load(f)


# ---------------------------------------------------------------------------------------
# Sweep 1: throughput and p99 against keep-alive connections
# ---------------------------------------------------------------------------------------
def sweep_concurrency(b: Bench) -> None:
    a = b.a
    use_sizing(a.sizing)
    out = b.res.setdefault("concurrency", {"levels": a.conc_levels, "sizing": a.sizing,
                                           "runs": {}})
    for rep in range(1, a.reps + 1):
        for d in b.defs(a.servers):
            srv = b.start(d, f"conc{rep}")
            try:
                mem = settle(srv, 30)
                for c in a.conc_levels:
                    if a.warmup:
                        run_wrk(b, srv, "/index.html", c, a.warmup)
                    r = run_wrk(b, srv, "/index.html", c, a.duration)
                    r["procs"], r["threads"] = mem["procs"], mem["threads"]
                    out["runs"].setdefault(d.name, {}).setdefault(str(c), []).append(r)
                    log(f"[conc rep {rep}] {d.name:14} c={c:<5} {r['rps']:8.0f} req/s p99 "
                        f"{r['p99_ms']:7.2f} ms failed {r['failed']}")
            finally:
                b.stop(srv)


# ---------------------------------------------------------------------------------------
# Sweep 2: memory against open connections
# ---------------------------------------------------------------------------------------
def sweep_memory(b: Bench) -> None:
    a = b.a
    use_sizing(a.sizing)
    peers.FRESH_TIMEOUT = 2.0 if a.quick else 5.0
    out = b.res.setdefault("memory", {"levels": a.mem_levels, "sizing": a.sizing, "runs": {}})
    for d in b.defs(a.servers):
        srv = b.start(d, "mem")
        try:
            base = settle(srv, 30)
            row = {"idle": base, "levels": {}}
            for k in a.mem_levels:
                r = peers.idle_test(srv, k, a.open_secs)
                row["levels"][str(k)] = r
                log(f"[mem] {d.name:14} k={k:<5} served {r['served']:5} PSS "
                    f"{r['held']['pss_mib']:7.1f} MiB RSS {r['held']['rss_mib']:8.1f} MiB "
                    f"procs {r['held']['procs']} threads {r['held']['threads']}")
                time.sleep(0.5)
                if not srv.alive():
                    raise peers.BenchError(f"{d.name} died\n{srv.diagnostics()}")
            out["runs"][d.name] = row
        finally:
            b.stop(srv)


# ---------------------------------------------------------------------------------------
# Sweep 4: PHP through PHP-FPM (Benchmarks/php/php-fpm-bench.py)
# ---------------------------------------------------------------------------------------
def sweep_php(b: Bench) -> None:
    a = b.a
    script = os.path.join(REPO, "Benchmarks", "php", "php-fpm-bench.py")
    if not os.path.exists(script):
        b.res["php"] = {"skipped": "Benchmarks/php/php-fpm-bench.py is missing"}
        return
    if not any(re.fullmatch(r"php-fpm[0-9.]*", n) for n in os.listdir("/usr/sbin")):
        b.res["php"] = {"skipped": "php-fpm is not installed"}
        return
    cmd = [sys.executable, script, "--skep", a.skep, "--reps", str(a.reps),
           "--duration", str(a.duration), "--warmup", str(max(1, a.warmup))]
    if a.quick:
        cmd += ["--fpm-children", "2", "--threads", "4", "--children", "1", "--connections", "4"]
    log(f"== php: {shlex.join(cmd)}")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        raise peers.BenchError(f"php-fpm-bench.py failed ({p.returncode}):\n{p.stderr[-3000:]}")
    rows = {}
    for ln in p.stdout.splitlines():
        m = re.match(r"\| (\S+-event) \| (\d+) \| ([\d ]+) \| (.*) \|$", ln)
        if m:
            rows[m.group(1)] = {"rps": float(m.group(2)),
                                "each": [float(x) for x in m.group(3).split()],
                                "errors": m.group(4)}
    ratio = re.search(r"\*\*([\d.]+)x\*\*", p.stdout)
    b.res["php"] = {"cmd": shlex.join(["python3", "Benchmarks/php/php-fpm-bench.py"] + cmd[2:])
                    .replace(a.skep, ".build/release/skep"),
                    "rows": rows, "ratio": float(ratio.group(1)) if ratio else None,
                    "report": p.stdout}


# ---------------------------------------------------------------------------------------
# Sweeps 5 and 6: a crashed child, a graceful restart, under steady load
# ---------------------------------------------------------------------------------------
def established_by_pid(pids: list[int], port: int) -> dict[int, int]:
    """How many established client connections to `port` each process holds."""
    inodes = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                for line in list(f)[1:]:
                    p = line.split()
                    if p[3] == "01" and int(p[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(p[9])
        except OSError:
            pass
    out = {}
    for pid in pids:
        n = 0
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    n += 1
        except OSError:
            continue
        out[pid] = n
    return out


def under_load(b: Bench, srv, secs: float, at: float, action) -> dict:
    """wrk (keep-alive, a.load_conns) and the probe for `secs`; `action()` at `at` s."""
    a = b.a
    cmd = wrk_cmd(b, srv.ctx.port, "/index.html", a.load_conns, secs)
    probe = Probe(srv.ctx.port, secs)
    wrk = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    probe.start()
    t0 = time.monotonic()
    time.sleep(at)
    info = action()
    info["at_s"] = time.monotonic() - t0
    out, _ = wrk.communicate(timeout=secs + 60)
    probe.join(secs + 10)
    r = parse_wrk(out, cmd)
    lat = [ms for _, ms in probe.samples if ms is not None]
    r.update(info)
    r["probe"] = [(round(t, 4), None if ms is None else round(ms, 3)) for t, ms in probe.samples]
    r["probe_failed"] = sum(ms is None for _, ms in probe.samples)
    r["probe_retries"] = probe.retries
    r["failed_total"] = r["failed"] + r["probe_failed"]
    r["probe_max_ms"] = max(lat) if lat else None
    r["probe_p50_ms"] = statistics.median(lat) if lat else None
    return r


def event_sweep(b: Bench, key: str, servers: list[str], make_action, describe) -> None:
    """Each server under steady load, with `make_action(srv)()` run 40% into the load."""
    a = b.a
    use_sizing(a.crash_sizing)
    out = b.res.setdefault(key, {"sizing": a.crash_sizing, "conns": a.load_conns, "runs": {}})
    for rep in range(1, a.crash_reps + 1):
        for d in b.defs(servers):
            srv = b.start(d, f"{key}{rep}")
            try:
                settle(srv, 30)
                r = under_load(b, srv, a.event_secs, a.event_secs * 0.4, make_action(srv))
                out["runs"].setdefault(d.name, []).append(r)
                log(f"[{key} rep {rep}] {d.name:14} {describe(r)}; wrk failed {r['failed']} "
                    f"{r['errors']}; max {r['max_ms']:.1f} ms; probe failed "
                    f"{r['probe_failed']}, max {fmt_ms(r['probe_max_ms'])}")
            finally:
                b.stop(srv)


def fmt_ms(v) -> str:
    return "—" if v is None else f"{v:.1f} ms"


def sweep_crash(b: Bench) -> None:
    def make_action(srv):
        def crash():
            master = srv.proc.pid
            kids = [p for p in srv.pids() if (peers.proc_stat(p) or (0,))[0] == master]
            held = established_by_pid(kids, srv.ctx.port)
            victim = max(kids, key=lambda p: held.get(p, 0))
            os.kill(victim, signal.SIGSEGV)
            return {"victim_conns": held.get(victim, 0), "total_conns": sum(held.values()),
                    "children": len(kids)}
        return crash

    event_sweep(b, "crash", b.a.crash_servers, make_action,
                lambda r: f"victim held {r['victim_conns']} of {r['total_conns']} conns")


def sweep_restart(b: Bench) -> None:
    a = b.a

    def make_action(srv):
        kind = kind_of(srv.d.name)
        if kind == "skep":
            cmd = [a.skep, "-f", srv.conf, "-k", "graceful"]
        elif kind == "apache":
            cmd = [peers.APACHE, "-f", srv.conf, "-k", "graceful"]
        else:
            cmd = ["nginx", "-p", srv.ctx.root, "-e", srv.ctx.p("logs", "error.log"),
                   "-c", srv.conf, "-s", "reload"]

        def graceful():
            t = time.monotonic()
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=srv.ctx.root)
            return {"cmd_rc": p.returncode, "cmd_s": time.monotonic() - t,
                    "cmd_out": (p.stdout + p.stderr)[-500:]}
        return graceful

    event_sweep(b, "restart", a.restart_servers, make_action,
                lambda r: f"command rc {r['cmd_rc']} in {r['cmd_s']:.2f} s"
                          + (f" ({r['cmd_out'].strip()})" if r["cmd_rc"] else ""))


# ---------------------------------------------------------------------------------------
# Profile and allocations per request
# ---------------------------------------------------------------------------------------
def demangle(names: list[str]) -> list[str]:
    if not shutil.which("swift"):
        return names
    try:
        p = subprocess.run(["swift", "demangle", "--simplified", "--compact"],
                           input="\n".join(names), capture_output=True, text=True, timeout=60)
        out = p.stdout.splitlines()
        return out if len(out) == len(names) else names
    except (OSError, subprocess.SubprocessError):
        return names


def sweep_profile(b: Bench) -> None:
    a = b.a
    if not shutil.which("perf"):
        b.res["profile"] = {"skipped": "perf is not installed (apt-get install linux-perf)"}
        return
    use_sizing("peers")
    d = b.defs(["skep-event"])[0]
    srv = b.start(d, "profile")
    data = os.path.join(b.top, "perf.data")
    try:
        settle(srv, 10)
        master = srv.proc.pid
        kids = [p for p in srv.pids() if p != master]
        run_wrk(b, srv, "/index.html", 50, 1)
        wrk = subprocess.Popen(wrk_cmd(b, srv.ctx.port, "/index.html", 50, a.profile_secs + 1),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(0.5)
        rec = ["perf", "record", "-e", "cpu-clock", "-g", "-o", data,
               "-p", ",".join(map(str, kids)), "--", "sleep", str(a.profile_secs)]
        p = subprocess.run(rec, capture_output=True, text=True, timeout=a.profile_secs + 60)
        out, _ = wrk.communicate(timeout=a.profile_secs + 60)
        r = parse_wrk(out, [])
    finally:
        b.stop(srv)
    if p.returncode != 0 or not os.path.exists(data):
        b.res["profile"] = {"skipped": f"perf record failed: {p.stderr[-500:]}"}
        return

    q = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                        "--sort", "dso,sym", "--percent-limit", "0.2", "-g", "none"],
                       capture_output=True, text=True, timeout=300)
    rows = []  # (percent, dso, symbol)
    for ln in q.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[([.kHgu])\]\s+(.+?)\s*$", ln)
        if m and not ln.lstrip().startswith("#"):
            rows.append((float(m.group(1)), m.group(2), m.group(4)))
    names = demangle([sym for _, _, sym in rows])
    syms = [(pct, dso, n) for (pct, dso, _), n in zip(rows, names)]
    dsos: dict[str, float] = {}
    for pct, dso, _ in syms:
        dsos[dso] = dsos.get(dso, 0.0) + pct
    b.res["profile"] = {"rps": r["rps"], "secs": a.profile_secs, "children": len(kids),
                        "symbols": syms, "dsos": sorted(((v, k) for k, v in dsos.items()),
                                                        reverse=True),
                        "cmd": f"perf record -e cpu-clock -g -p CHILDREN -- sleep "
                               f"{a.profile_secs}, under wrk -c50 GET /index.html"}


def sweep_alloc(b: Bench) -> None:
    a = b.a
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        b.res["alloc"] = {"skipped": "no C compiler"}
        return
    so = os.path.join(b.top, "malloc_count.so")
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", so,
                    os.path.join(HERE, "malloc_count.c")], check=True)
    os.chmod(so, 0o755)
    use_sizing("peers")
    out = b.res.setdefault("alloc", {"runs": {}})
    for name in a.alloc_servers:
        counter = os.path.join(b.top, f"malloc-{name}.count")
        with open(counter, "wb") as f:
            f.write(bytes(4096))
        os.chmod(counter, 0o666)
        d = b.defs([name])[0]
        exe = a.skep if kind_of(name) == "skep" else peers.APACHE
        extra = "" if kind_of(name) == "skep" else " -DFOREGROUND"
        d = peers.apache_def(name, d.mpm, f"env LD_PRELOAD={so} MALLOC_COUNT_FILE={counter} "
                             f"{exe} -f {{conf}}{extra}")

        def read() -> tuple[int, ...]:
            with open(counter, "rb") as f:
                return struct.unpack("4q", f.read(32))

        srv = b.start(d, "alloc")
        try:
            settle(srv, 10)
            run_wrk(b, srv, "/index.html", 50, max(1, a.warmup))
            c0 = read()
            time.sleep(a.alloc_secs)  # the background: master's timers, the scoreboard
            c1 = read()
            r = run_wrk(b, srv, "/index.html", 50, a.alloc_secs)
            c2 = read()
        finally:
            b.stop(srv)
        n = max(r["requests"], 1)
        idle = [y - x for x, y in zip(c0, c1)]
        load = [y - x for x, y in zip(c1, c2)]
        per = [(l - i) / n for l, i in zip(load, idle)]
        out["runs"][name] = {"requests": r["requests"], "idle": idle, "load": load,
                             "allocs_per_req": per[0], "reallocs_per_req": per[1],
                             "frees_per_req": per[2], "bytes_per_req": per[3],
                             "counted": c2[0] > 0}
        log(f"[alloc] {name:14} {per[0]:.2f} allocs/req, {per[1]:.2f} reallocs/req, "
            f"{per[3]:.0f} B/req over {r['requests']} requests (idle {idle[0]} allocs)")


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------
PEERS_SIZING: dict = {}
SKEP_BIN = [""]
SWEEPS = {"peers": sweep_peers, "concurrency": sweep_concurrency, "memory": sweep_memory,
          "php": sweep_php, "crash": sweep_crash, "restart": sweep_restart,
          "profile": sweep_profile, "alloc": sweep_alloc}


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run of seconds (CI)")
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "performance"),
                    help="report directory (docs/performance; --quick: .build/bench-quick)")
    ap.add_argument("--skep", default=os.path.join(REPO, ".build", "release", "skep"))
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(REPO), "shared"),
                    help="the shared/ directory beside the repository (../shared)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of peers and sweep 1 (3)")
    ap.add_argument("--duration", type=int, default=3, help="seconds per measured run (3)")
    ap.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per run (1)")
    ap.add_argument("--sweeps", default=",".join(SWEEPS), help="comma list of " + ",".join(SWEEPS))
    ap.add_argument("--servers", dest="servers_only", help="comma list: only these of skep-MPM, apache-MPM, nginx")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="show peers.py's progress")
    ap.add_argument("--command", default=None, help=argparse.SUPPRESS)  # as typed, for the report
    a = ap.parse_args(argv)
    a.servers = [f"skep-{m}" for m in MPMS] + [f"apache-{m}" for m in MPMS]
    if shutil.which("nginx"):
        a.servers.append("nginx")
    a.crash_servers = list(a.servers)
    a.restart_servers = list(a.servers)
    a.alloc_servers = ["skep-prefork", "skep-worker", "skep-event", "apache-event"]
    a.sizing, a.crash_sizing = "big", "peers"
    a.conc_levels, a.mem_levels = CONC_LEVELS, MEM_LEVELS
    a.load_conns, a.event_secs, a.crash_reps = 64, 6.0, 2
    a.open_secs, a.profile_secs, a.alloc_secs = 5.0, 5, 3
    if a.quick:
        if a.out == os.path.join(REPO, "docs", "performance"):
            a.out = os.path.join(REPO, ".build", "bench-quick")
        a.reps, a.duration, a.warmup = 1, 1, 0
        a.servers = ["skep-event", "apache-event"]
        a.crash_servers = a.restart_servers = a.servers
        a.alloc_servers = ["skep-event"]
        a.sizing = a.crash_sizing = "tiny"
        a.conc_levels, a.mem_levels = [4], [4]
        a.load_conns, a.event_secs, a.crash_reps = 4, 2.0, 1
        a.open_secs, a.profile_secs, a.alloc_secs = 2.0, 1, 1
    if a.servers_only:
        keep = a.servers_only.split(",")
        a.servers, a.crash_servers, a.restart_servers, a.alloc_servers = (
            [n for n in x if n in keep] for x in (a.servers, a.crash_servers,
                                                  a.restart_servers, a.alloc_servers))
    if a.quick:
        STABLE_SECS[0] = 0.3
    a.peers = os.path.join(a.shared, "bench", "peers.py")
    a.skep = os.path.abspath(a.skep)
    a.out = os.path.abspath(a.out)
    return a


def machine() -> dict:
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for ln in f:
            if ln.startswith("MemTotal:"):
                mem_kib = int(ln.split()[1])
    model = "?"
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break

    def ver(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            return (p.stdout + p.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    commit = ver(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = ver(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"])
    return {"cores": os.cpu_count(), "cpu": model, "mem_gib": round(mem_kib / 2**20, 1),
            "kernel": platform.release(), "commit": commit + ("" if dirty == "?" else "+dirty"),
            "apache": ver([peers.APACHE, "-v"]).split(":", 1)[-1].strip(),
            "nginx": ver(["nginx", "-v"]).split(":", 1)[-1].strip(),
            "wrk": ver(["wrk", "-v"]).split(" Copyright")[0].strip(),
            "skep": ver([SKEP_BIN[0], "-v"]).split(":", 1)[-1].strip(),
            "date": time.strftime("%Y-%m-%d %H:%M %Z")}


def main(argv) -> int:
    global peers
    a = parse_args(argv)
    if not os.path.exists(a.peers):
        log(f"ERROR: {a.peers} not found: clone the repository with shared/ beside it, "
            "or give --shared")
        return 2
    if not os.access(a.skep, os.X_OK):
        log(f"ERROR: {a.skep} not found: swift build -c release (Benchmarks/run-all does)")
        return 2
    peers = load_peers(a.peers)
    SKEP_BIN[0] = a.skep
    PEERS_SIZING.update({k: list(v) for k, v in peers.MPM_CONF.items()})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 20
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # the servers inherit it
    if max(a.mem_levels) + 500 > want:
        log(f"warning: open-file limit {want}: memory levels above {want - 500} dropped")
        a.mem_levels = [k for k in a.mem_levels if k + 500 <= want]
    os.makedirs(a.out, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    b = Bench(a)
    b.lua = os.path.join(b.top, "bench.lua")
    with open(b.lua, "w") as f:
        f.write(WRK_LUA)
    b.res["machine"] = machine()
    b.res["command"] = a.command or shlex.join(["Benchmarks/run-all"] + argv)
    b.res["settings"] = {"reps": a.reps, "duration": a.duration, "warmup": a.warmup,
                         "quick": a.quick, "servers": a.servers, "load_conns": a.load_conns,
                         "event_secs": a.event_secs, "crash_reps": a.crash_reps,
                         "open_secs": a.open_secs,
                         "sizing": {"sweeps 1-2": SIZING[a.sizing] if a.sizing != "peers"
                                    else PEERS_SIZING,
                                    "sweeps 5-6": SIZING[a.crash_sizing]
                                    if a.crash_sizing != "peers" else PEERS_SIZING}}
    wanted = [s.strip() for s in a.sweeps.split(",") if s.strip()]
    rc, t_start = 0, time.monotonic()
    b.res["timing"] = {}
    try:
        for name in wanted:
            if name not in SWEEPS:
                raise peers.BenchError(f"unknown sweep {name!r}")
            t = time.monotonic()
            log(f"== {name}")
            try:
                SWEEPS[name](b)
            except peers.BenchError as e:
                log(f"ERROR in {name}: {e}")
                b.res.setdefault("failed", {})[name] = str(e)[-2000:]
                rc = 1
            b.res["timing"][name] = time.monotonic() - t
    except KeyboardInterrupt:
        log("interrupted")
        rc = 130
    finally:
        b.stop(b.current)
        shutil.rmtree(b.top, ignore_errors=True)
    b.res["elapsed_s"] = time.monotonic() - t_start
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(b.res, f, indent=1)
    sys.path.insert(0, HERE)
    sys.dont_write_bytecode = True
    import report  # noqa: E402  (Benchmarks/perf/report.py)
    plots = [] if a.no_plots else report.plots(b.res, a.out)
    with open(os.path.join(a.out, "README.md"), "w") as f:
        f.write(report.markdown(b.res, plots))
    log(f"wrote {a.out}/README.md, results.json and {len(plots)} plot(s) in "
        f"{b.res['elapsed_s'] / 60:.1f} min")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
