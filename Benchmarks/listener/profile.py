#!/usr/bin/env python3
"""Where Skep event's time goes on the listener path and on the worker path: CPU and
context switches per request, split by thread (listener, workers, the rest), and
optionally a `perf record -e cpu-clock -g` of the children for two variants.

    python3 Benchmarks/listener/profile.py --skep .build/release/skep --json OUT.json
    python3 Benchmarks/listener/profile.py ... --perf default,nolistener --perf-secs 4

Called by Benchmarks/listener/run.sh, which documents the whole measurement. Servers are
started through ../shared/bench/peers.py's own classes (its generated event config, 4 x
64 threads), each variant through skep-variant.sh, interleaved per rep; every wrk run is
peers.py's `ka-small` or `close-small` (`wrk -t2 -c50`, GET /index.html, 128 B). Counters
come from /proc/PID/task/TID/{comm,schedstat,status} of every thread of the server, read
right before and right after the measured wrk run, so they cover the requests wrk counted
(plus the few ms between wrk's start and end and the reads). Loopback only; only the servers started here are
signalled (peers.py's Server.stop).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "perf"))
from run import demangle, load_peers, log  # noqa: E402  (Benchmarks/perf/run.py's helpers)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VARIANT_SH = os.path.join(HERE, "skep-variant.sh")

# name -> (label, directives appended to the generated config)
VARIANTS = {
    "default": ("(a) default: listener answers", []),
    "nolistener": ("(b) ListenerHandlers Off: every request to a worker", ["ListenerHandlers Off"]),
    "nocache": ("(c) FileCacheSize 0: worker, open/read/close per request", ["FileCacheSize 0"]),
}

peers = None  # ../shared/bench/peers.py, loaded in main()




def template(skep: str, directives: list[str]) -> str:
    """The --server command of a variant (also what run.sh passes to peers.py)."""
    return shlex.join([VARIANT_SH, skep, "{conf}"] + directives).replace("'{conf}'", "{conf}")


def role(master: int, pid: int, comm: str) -> str:
    if comm == "skep-listener":
        return "listener"
    if comm.startswith("skep-worker"):
        return "workers"
    return "master" if pid == master else "child main"


def threads(srv) -> dict[tuple[int, int], dict]:
    """Every thread of the server: role, ns on CPU and waiting to run, voluntary and
    involuntary context switches."""
    out = {}
    for pid in srv.pids():
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            base = f"/proc/{pid}/task/{tid}"
            try:
                with open(f"{base}/comm") as f:
                    comm = f.read().rstrip("\n")
                with open(f"{base}/schedstat") as f:
                    run_ns, wait_ns = (int(x) for x in f.read().split()[:2])
                with open(f"{base}/status") as f:
                    status = f.read()
            except OSError:
                continue
            sw = dict(re.findall(r"^(voluntary_ctxt_switches|nonvoluntary_ctxt_switches):\s*(\d+)",
                                 status, re.M))
            out[(pid, int(tid))] = {
                "role": role(srv.proc.pid, pid, comm),
                "run_ns": run_ns, "wait_ns": wait_ns,
                "vol": int(sw.get("voluntary_ctxt_switches", 0)),
                "invol": int(sw.get("nonvoluntary_ctxt_switches", 0))}
    return out


def split(before: dict, after: dict, requests: int) -> dict:
    """Per role, per request: µs on CPU and µs runnable but waiting for a CPU (schedstat,
    in ns, not ticks: a tick-rounded utime loses up to a tick on each of 256 threads),
    voluntary and involuntary context switches; threads, and threads that ran."""
    roles: dict[str, dict] = {}
    n = max(requests, 1)
    for key, b in after.items():
        a0 = before.get(key, {"run_ns": 0, "wait_ns": 0, "vol": 0, "invol": 0})
        r = roles.setdefault(b["role"], {"us_req": 0.0, "wait_us_req": 0.0, "vol_req": 0.0,
                                         "invol_req": 0.0, "threads": 0, "threads_used": 0})
        r["us_req"] += (b["run_ns"] - a0["run_ns"]) / 1e3 / n
        r["wait_us_req"] += (b["wait_ns"] - a0["wait_ns"]) / 1e3 / n
        r["vol_req"] += (b["vol"] - a0["vol"]) / n
        r["invol_req"] += (b["invol"] - a0["invol"]) / n
        r["threads"] += 1
        r["threads_used"] += (b["vol"] - a0["vol"] + b["invol"] - a0["invol"]) > 0
    return roles


def run_wrk(port: int, path: str, secs: int, close: bool, lua: str) -> dict:
    cmd = ["wrk", "-t2", "-c50", f"-d{secs}s", "--timeout", "5s", "-s", lua]
    if close:
        cmd += ["-H", "Connection: close"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 60)
    rows = [ln.split()[1:] for ln in p.stdout.splitlines() if ln.startswith("PEERS ")]
    if p.returncode or not rows:
        raise peers.BenchError(f"wrk failed: {shlex.join(cmd)}\n{p.stdout}{p.stderr}")
    n, dur, _nbytes, conn, rd, wr, status, tmo, p50, p99 = map(int, rows[0])
    return {"requests": n, "rps": n / (dur / 1e6), "p50_ms": p50 / 1e3, "p99_ms": p99 / 1e3,
            "errors": conn + rd + wr + status + tmo}


def perf_profile(srv, secs: int, lua: str, top: str, name: str) -> dict:
    """perf record -e cpu-clock -g of the children under ka-small; shares by thread role,
    kernel/user, and the top symbols."""
    data = os.path.join(top, f"perf-{name}.data")
    kids = [p for p in srv.pids() if p != srv.proc.pid]
    wrk = subprocess.Popen(["wrk", "-t2", "-c50", f"-d{secs + 1}s", "--timeout", "5s", "-s", lua,
                            f"http://127.0.0.1:{srv.ctx.port}/index.html"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(0.5)
    rec = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-g", "-o", data,
                          "-p", ",".join(map(str, kids)), "--", "sleep", str(secs)],
                         capture_output=True, text=True, timeout=secs + 60)
    out, _ = wrk.communicate(timeout=secs + 60)
    if rec.returncode != 0 or not os.path.exists(data):
        return {"skipped": f"perf record failed: {rec.stderr[-300:]}"}
    rows = [ln.split()[1:] for ln in out.splitlines() if ln.startswith("PEERS ")]
    rps = int(rows[0][0]) / (int(rows[0][1]) / 1e6) if rows else None
    # Sample counts (-n), not the printed percentages: rounded to 0.01 over thousands of
    # (thread, symbol) rows of one or two samples each, those add up to far over 100%.
    q = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none",
                        "-n", "--sort", "comm,dso,sym", "--percent-limit", "0"],
                       capture_output=True, text=True, timeout=300)
    rows = []
    for ln in q.stdout.splitlines():
        m = re.match(r"\s*[\d.]+%\s+(\d+)\s+(\S+)\s+(\S+)\s+\[([.kHgu])\]\s+(.+?)\s*$", ln)
        if m and not ln.lstrip().startswith("#"):
            rows.append((int(m.group(1)), m.group(2), m.group(3), m.group(4), m.group(5)))
    samples = sum(r[0] for r in rows)
    by_role: dict[str, float] = {}
    kernel: dict[str, float] = {}
    syms: dict[tuple[str, str], float] = {}
    for n, comm, dso, mark, sym in rows:
        pct = 100.0 * n / max(samples, 1)
        r = role(-1, 0, comm)
        by_role[r] = by_role.get(r, 0.0) + pct
        if mark == "k":
            kernel[r] = kernel.get(r, 0.0) + pct
        syms[(dso, sym)] = syms.get((dso, sym), 0.0) + pct
    top_syms = sorted(((v, d, s) for (d, s), v in syms.items()), reverse=True)[:25]
    names = demangle([s for _, _, s in top_syms])
    return {"rps": rps, "secs": secs, "samples": samples, "by_role": by_role, "kernel": kernel,
            "top": [(v, d, n) for (v, d, _), n in zip(top_syms, names)]}


def main(argv: list[str]) -> int:
    global peers
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skep", default=os.path.join(REPO, ".build", "release", "skep"))
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(REPO), "shared"))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--scenarios", default="ka-small,close-small")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=4, help="seconds per measured run (4)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--perf", default="", help="variants to profile with perf record, e.g. "
                    "default,nolistener (needs perf)")
    ap.add_argument("--perf-secs", type=int, default=4)
    ap.add_argument("--json", required=True)
    a = ap.parse_args(argv)
    peers = load_peers(os.path.join(a.shared, "bench", "peers.py"))
    skep = os.path.abspath(a.skep)
    variants = [v for v in a.variants.split(",") if v]
    scen = [s for s in a.scenarios.split(",") if s]
    res: dict = {"variants": {v: {"label": VARIANTS[v][0], "directives": VARIANTS[v][1],
                                  "runs": {s: [] for s in scen}} for v in variants},
                 "perf": {}, "duration": a.duration, "reps": a.reps}
    top = tempfile.mkdtemp(prefix="listener-profile-")
    os.chmod(top, 0o755)
    doc = peers.make_docroot(top)
    lua = os.path.join(top, "report.lua")
    with open(lua, "w") as f:
        f.write(peers.WRK_LUA)
    defs = {v: peers.apache_def(f"skep-event-{v}", "event", template(skep, VARIANTS[v][1]))
            for v in variants}
    srv, rc = None, 0
    try:
        for rep in range(1, a.reps + 1):
            for v in variants:
                srv = peers.start_server(defs[v], top, doc, f"r{rep}", False)
                time.sleep(1.0)
                for s in scen:
                    sc = peers.SCENARIOS[s]
                    if a.warmup:
                        run_wrk(srv.ctx.port, sc.path, a.warmup, sc.close, lua)
                    t0, c0 = threads(srv), srv.cpu_seconds()
                    r = run_wrk(srv.ctx.port, sc.path, a.duration, sc.close, lua)
                    t1, c1 = threads(srv), srv.cpu_seconds()
                    r["srv_us_req"] = (c1 - c0) * 1e6 / max(r["requests"], 1)
                    r["roles"] = split(t0, t1, r["requests"])
                    r["threads_us_req"] = sum(x["us_req"] for x in r["roles"].values())
                    res["variants"][v]["runs"][s].append(r)
                    ro = r["roles"]
                    log(f"[threads {rep}/{a.reps}] {v:10} {s:11} {r['rps']:7.0f} req/s "
                        f"srv {r['srv_us_req']:5.1f} ({r['threads_us_req']:5.1f}) µs/req: " + ", ".join(
                            f"{k} {x['us_req']:.1f} µs {x['vol_req'] + x['invol_req']:.2f} cs"
                            for k, x in sorted(ro.items())))
                srv.stop()
                srv = None
        for v in [v for v in a.perf.split(",") if v]:
            if not shutil.which("perf"):
                res["perf"]["skipped"] = "perf is not installed (apt-get install linux-perf)"
                break
            srv = peers.start_server(defs[v] if v in defs else peers.apache_def(
                f"skep-event-{v}", "event", template(skep, VARIANTS[v][1])), top, doc, "perf", False)
            time.sleep(1.0)
            run_wrk(srv.ctx.port, "/index.html", a.warmup or 1, False, lua)
            res["perf"][v] = perf_profile(srv, a.perf_secs, lua, top, v)
            log(f"[perf] {v}: {res['perf'][v].get('samples')} samples, by thread "
                f"{res['perf'][v].get('by_role')}")
            srv.stop()
            srv = None
    except peers.BenchError as e:
        log(f"ERROR: {e}")
        rc = 1
    except KeyboardInterrupt:
        rc = 130
    finally:
        if srv is not None:
            srv.stop()
        shutil.rmtree(top, ignore_errors=True)
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
