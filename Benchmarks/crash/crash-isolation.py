#!/usr/bin/env python3
"""Crash isolation: what one trapping handler costs Skep (prefork, worker, event) and a
plain single-process SwiftNIO server running the same handler.

    swift build -c release --product SkepTestApp
    python3 Benchmarks/crash/crash-isolation.py --skep .build/release/SkepTestApp
    python3 Benchmarks/crash/crash-isolation.py --skep .build/release/SkepTestApp --quick

Each server is started on a free loopback port: Tests/SkepTestApp under each MPM, with
../shared/bench/peers.py's generated config plus `SetHandler slow` and `SetHandler
crash-unwrap`, and Benchmarks' `single-process-server` (built here with `swift build -c
release --package-path Benchmarks` when --nio is not given). 32 client threads
(http.client, keep-alive) loop `GET /slow?100` for 6 s; at 2 s one `GET /crash-unwrap` on
a new connection makes the handler force-unwrap nil. Recorded: the requests in flight
when the process died and how many of them failed, all failed requests, the requests
served after the crash, how soon a new connection is served again, whether the server
still serves at the end, and the server's own account (Skep's AH00052 line; the NIO
process's exit and its Swift runtime message). 3 repetitions, servers interleaved; the
report gives medians and writes Benchmarks/results/crash-isolation-DATE.md.

Loopback only; every load is bounded in time; only the processes started here (and their
descendants) are signalled, TERM then KILL (peers.py's Server.stop).
"""
from __future__ import annotations

import argparse
import collections
import http.client
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(REPO, "Benchmarks", "perf"))
import run as perf  # noqa: E402  (Benchmarks/perf/run.py: peers.py loading, Bench, machine)

MPMS = ("prefork", "worker", "event")
SERVERS = [f"skep-{m}" for m in MPMS] + ["nio-single"]
# Every client and the crash request need a process (prefork) or a thread (worker) at
# once, so the sizes leave room above the 32 clients; all of it is started up front.
SIZING = {
    "prefork": [("StartServers", 40), ("MinSpareServers", 4), ("MaxSpareServers", 48),
                ("ServerLimit", 48), ("MaxRequestWorkers", 48), ("MaxConnectionsPerChild", 0)],
    "worker": [("StartServers", 4), ("ServerLimit", 4), ("ThreadLimit", 16),
               ("ThreadsPerChild", 16), ("MinSpareThreads", 16), ("MaxSpareThreads", 64),
               ("MaxRequestWorkers", 64), ("MaxConnectionsPerChild", 0)],
}
SIZING["event"] = SIZING["worker"]
SHAPE = {"prefork": "40 processes (max 48)", "worker": "4 processes x 16 threads",
         "event": "4 processes x 16 threads", "nio-single": "1 process, 2 event loops"}
HANDLERS = """
<Location /slow>
    SetHandler slow
</Location>
<Location /crash-unwrap>
    SetHandler crash-unwrap
</Location>
"""
# A client whose request failed waits this long before the next one, about what a
# successful /slow?100 takes, so every client keeps sending ~10 requests/s whatever happens.
FAIL_PAUSE = 0.1
peers = None


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def start_single_process(srv) -> None:
    """peers.Server.start for single-process-server, which has no docroot: it is ready
    when /slow?0 answers (peers.Server.start waits for /index.html)."""
    with open(srv.ctx.p("logs", "stdout.log"), "wb") as out:
        srv.proc = subprocess.Popen(srv.cmd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + peers.START_TIMEOUT
    while time.monotonic() < deadline and srv.alive():
        if answers(srv.ctx.port, 2.0):
            return
        time.sleep(0.1)
    raise peers.BenchError(f"single-process-server did not start\n{srv.diagnostics()}")


def answers(port: int, timeout: float) -> bool:
    try:
        return peers.http_get(port, "/slow?0", timeout)[0] == 200
    except OSError:
        return False


def failure(e: BaseException) -> str:
    """What the client saw, in a word: `closed` is a FIN before any response (http.client's
    RemoteDisconnected, itself a ConnectionResetError), `reset` an RST."""
    if isinstance(e, (http.client.RemoteDisconnected, http.client.IncompleteRead)):
        return "closed"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, (ConnectionResetError, BrokenPipeError)):
        return "reset"
    if isinstance(e, TimeoutError):
        return "timeout"
    return type(e).__name__


class Client(threading.Thread):
    """One keep-alive client: GET /slow?100 until `end`; a failure closes the connection,
    waits FAIL_PAUSE and goes on with a new one. Records (start, end, failure or None)."""

    def __init__(self, port: int, t0: float, end: float):
        super().__init__(daemon=True)
        self.port, self.t0, self.end, self.log = port, t0, end, []

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        while (start := time.monotonic()) < self.end:
            err = None
            try:
                conn.request("GET", "/slow?100")
                r = conn.getresponse()
                body = r.read()
                if r.status != 200 or body != b"slept\n":
                    err = f"status {r.status}"
                if r.will_close or err:
                    conn.close()
            except (OSError, http.client.HTTPException) as e:
                err = failure(e)
                conn.close()
            self.log.append((start - self.t0, time.monotonic() - self.t0, err))
            if err:
                time.sleep(FAIL_PAUSE)
        conn.close()


def crash(port: int) -> tuple[str, float]:
    """GET /crash-unwrap on a new connection: (what came back, when, monotonic)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/crash-unwrap")
        r = conn.getresponse()
        r.read()
        return f"answered {r.status}", time.monotonic()
    except (OSError, http.client.HTTPException) as e:
        return failure(e), time.monotonic()
    finally:
        conn.close()


def children(srv) -> set[int]:
    master = srv.proc.pid
    return {p for p in srv.pids() if (peers.proc_stat(p) or (0,))[0] == master}


def after_crash(srv, end: float, before: set[int]) -> tuple:
    """Until `end`: when a new connection is first answered 200, and (Skep) when a child
    that was not there before the crash is first seen. None: not seen."""
    first_ok = replaced = None
    skep = srv.d.mpm != ""
    while time.monotonic() < end and (first_ok is None or (skep and replaced is None)):
        if first_ok is None and answers(srv.ctx.port, 0.5):
            first_ok = time.monotonic()
        if skep and replaced is None and children(srv) - before:
            replaced = time.monotonic()
        time.sleep(0.01)
    return first_ok, replaced


def server_account(srv) -> str:
    """Skep: the master's AH00052 line (the requests it lists counted); the NIO server:
    how its process ended."""
    if srv.d.mpm:
        lines = [ln for ln in peers.tail(srv.ctx.p("logs", "error.log"), 200).splitlines()
                 if "AH00052" in ln]
        if not lines:
            return "no AH00052 line"
        head, _, serving = lines[0].split("] ", 3)[-1].partition("; it was serving ")
        reqs = collections.Counter(re.findall(r'"([A-Z]+ \S+) HTTP/[0-9.]+" from ', serving))
        return head + (f"; it was serving {sum(reqs.values())}: " + ", ".join(
            f"{n} x `{r}`" for r, n in reqs.most_common()) if reqs else "")
    out = peers.tail(srv.ctx.p("logs", "stdout.log"), 400)
    why = re.search(r"\*\*\* (Swift runtime failure: [^*]+?) \*\*\*", out)
    bt = re.search(r"Backtrace took ([0-9.]+s)", out)
    rc = srv.proc.poll()
    how = "still running" if rc is None else (f"killed by signal {-rc}" if rc < 0 else f"exit {rc}")
    return (f"process {how}; {why.group(1) if why else 'no runtime message'}"
            + (f"; Swift backtracer ran ({bt.group(1)})" if bt else ""))


def one_run(a, b, name: str, rep: int) -> dict:
    kind, _, mpm = name.partition("-")
    if kind == "skep":
        peers.MPM_CONF.clear()
        peers.MPM_CONF.update(SIZING)
        d = peers.ServerDef(name, f"{a.skep} -f {{conf}}",
                            lambda c, m=mpm: peers.apache_conf(c, m) + HANDLERS, mpm)
        srv = b.start(d, f"r{rep}")
    else:
        d = peers.ServerDef(name, f"{a.nio} {{port}}", lambda c: "")
        srv = b.current = peers.Server(d, b.top, b.doc, f"r{rep}", False)
        start_single_process(srv)
    try:
        perf.settle(srv, 10)
        t0 = time.monotonic()
        end = t0 + a.duration
        clients = [Client(srv.ctx.port, t0, end) for _ in range(a.clients)]
        for c in clients:
            c.start()
        time.sleep(max(0.0, t0 + a.crash_at - time.monotonic()))
        before = children(srv)
        held = perf.established_by_pid(sorted(before) or [srv.proc.pid], srv.ctx.port)
        t_sent = time.monotonic()
        saw, t_dead_abs = crash(srv.ctx.port)
        first_ok, replaced = after_crash(srv, end, before)
        for c in clients:
            c.join(a.duration + 15)
        serving_at_end = answers(srv.ctx.port, 2.0)
        time.sleep(0.2)  # the master logs the death when it reaps the child
        account = server_account(srv)
        procs_at_end = len(srv.pids())
    finally:
        b.stop(srv)
    reqs = [r for c in clients for r in c.log]
    # The death: the crash request's connection closing, or the first client failure
    # after the crash request was sent if a client thread noticed first (the GIL).
    t_sent -= t0
    t_dead = min([t_dead_abs - t0] + [e for _, e, err in reqs if err and e >= t_sent])
    def since(t):  # ms from the death
        return None if t is None else (t - t0 - t_dead) * 1e3

    lost_clients = [c.log for c in clients if any(err and s < t_dead for s, _, err in c.log)]
    back = [min((e for s, e, err in lg if not err and s >= t_dead), default=None)
            for lg in lost_clients]
    pid = re.search(r"child pid (\d+)", account)
    victim = int(pid.group(1)) if pid else srv.proc.pid
    r = {
        "rep": rep, "crash_sent_s": t_sent, "crash_saw": saw,
        "to_death_ms": (t_dead - t_sent) * 1e3,
        "conns_on_victim": held.get(victim), "conns_by_process": spread(held),
        "in_flight": sum(1 for s, e, err in reqs if s < t_dead and (err or e >= t_dead)),
        "in_flight_lost": sum(1 for s, _, err in reqs if err and s < t_dead),
        "failed_before": sum(1 for _, e, err in reqs if err and e < t_sent),
        "failed": sum(1 for *_, err in reqs if err),
        "failures": ", ".join(f"{k} {n}" for k, n in collections.Counter(
            err for *_, err in reqs if err).most_common()),
        "served": sum(1 for *_, err in reqs if not err),
        "served_after": sum(1 for _, e, err in reqs if not err and e >= t_dead),
        "first_new_ms": since(first_ok), "replacement_ms": since(replaced),
        "lost_clients": len(lost_clients),
        "lost_clients_back_ms": None if not back or None in back
        else (max(back) - t_dead) * 1e3,
        "serving_at_end": serving_at_end, "procs_at_end": procs_at_end, "account": account,
    }
    log(f"[rep {rep}] {name:11} crash -> {saw} after {r['to_death_ms']:.0f} ms; in flight "
        f"{r['in_flight']}, lost {r['in_flight_lost']}; failed {r['failed']} ({r['failures']}); "
        f"served after {r['served_after']}; first new {fmt_ms(r['first_new_ms'])}; "
        f"replacement {fmt_ms(r['replacement_ms'])}; serving at end {serving_at_end}\n           {account}")
    return r


def spread(held: dict[int, int]) -> str:
    """Client connections per process at the crash: `14/10/8/0`, or `32 x 1, 8 x 0`."""
    counts = sorted(held.values(), reverse=True)
    if len(counts) <= 8:
        return "/".join(map(str, counts))
    return ", ".join(f"{n} x {k}" for k, n in sorted(collections.Counter(counts).items(),
                                                       reverse=True))


def fmt_ms(v) -> str:
    return "never" if v is None else f"{v:.0f} ms"


def med(runs: list[dict], key: str):
    vals = [r[key] for r in runs]
    if any(v is None for v in vals):
        present = [v for v in vals if v is not None]
        return None if len(present) * 2 <= len(vals) else statistics.median(present)
    return statistics.median(vals)


def num(v) -> str:
    return "—" if v is None else f"{v:g}"


def spread_of(runs: list[dict], key: str) -> str:
    """The median, and the lowest and highest repetition when they differ."""
    vals = [r[key] for r in runs]
    lo, hi = min(vals), max(vals)
    return num(med(runs, key)) + (f" ({lo:g}–{hi:g})" if lo != hi else "")


def table(res: dict) -> str:
    rows = ["| server | shape | in-flight requests lost (lowest–highest rep) | failed requests, "
            "whole run | served after the crash | crash request → process dead | first new "
            "request served after | hit clients served again after | serving at the end | "
            "afterwards |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for name, runs in res.items():
        skep = name.startswith("skep")
        after = (f"replacement child after {fmt_ms(med(runs, 'replacement_ms'))}; "
                 f"{runs[0]['procs_at_end']} processes at the end"
                 if skep else "nothing listening: the port refuses connections")
        back = ("no client hit" if all(r["lost_clients"] == 0 for r in runs)
                else fmt_ms(med([r for r in runs if r["lost_clients"]], "lost_clients_back_ms")))
        rows.append(
            f"| {name} | {SHAPE[name.split('-', 1)[1] if skep else name]} "
            f"| **{spread_of(runs, 'in_flight_lost')}** of {num(med(runs, 'in_flight'))} "
            f"| {spread_of(runs, 'failed')} | {num(med(runs, 'served_after'))} "
            f"| {fmt_ms(med(runs, 'to_death_ms'))} | {fmt_ms(med(runs, 'first_new_ms'))} "
            f"| {back} "
            f"| {sum(r['serving_at_end'] for r in runs)}/{len(runs)} | {after} |")
    return "\n".join(rows)


def report(a, res: dict, mach: dict, elapsed: float) -> str:
    L = [f"# Crash isolation: Skep's MPMs against a single-process SwiftNIO server, "
         f"{time.strftime('%F')}", "",
         f"- machine: {mach['cores']} CPUs ({mach['cpu']}), {mach['mem_gib']} GiB memory, "
         f"Linux {mach['kernel']}; commit `{mach['commit']}`; {mach['date']}; "
         f"{elapsed / 60:.1f} min",
         f"- command: `{a.command}`",
         f"- load: {a.clients} client threads (Python http.client, keep-alive), each looping "
         f"`GET /slow?100` (the handler sleeps 100 ms) for {a.duration:g} s; a failed request "
         f"closes its connection, waits {FAIL_PAUSE * 1e3:.0f} ms and goes on with a new one",
         f"- crash: one `GET /crash-unwrap` on a new connection at {a.crash_at:g} s; the "
         f"handler force-unwraps nil (`missing!`)",
         f"- {a.reps} repetition(s), servers interleaved; medians, with the lowest and highest "
         "repetition in brackets where they differ",
         "- servers: Tests/SkepTestApp (peers.py's config + `SetHandler slow`, `SetHandler "
         "crash-unwrap`), and `single-process-server` (Benchmarks/Sources/SingleProcessServer: "
         "SwiftNIO, one process, `MultiThreadedEventLoopGroup(numberOfThreads: 2)`, the sleep "
         "a task scheduled on the event loop)",
         "", table(res), "",
         "Columns: *in flight* are the client requests sent before the process died (the "
         "crash request's connection closing) that were not yet answered then; *lost* are "
         "those that failed (connection reset or closed without a response); the crash "
         "request itself is not counted. *Failed, whole run* counts every failed attempt, "
         "including connections refused after the crash. *First new request* is a fresh "
         "connection's `GET /slow?0`, tried every 10 ms from the death on. *Hit clients "
         "served again*: the slowest of the clients that lost a request, until its next "
         "success (it waits 100 ms first). *Processes at the end*: the server's processes, "
         "master included.", "",
         "## Each repetition", "",
         "| server | rep | client conns per process | on the dead one | in flight | lost | failed | what the "
         "failed requests saw | crash request saw | served after | first new | replacement "
         "| the server's account |",
         "|---|---:|---|---:|---:|---:|---:|---|---|---:|---:|---:|---|"]
    for name, runs in res.items():
        for r in runs:
            L.append(f"| {name} | {r['rep']} | {r['conns_by_process']} "
                     f"| {num(r['conns_on_victim'])} | {r['in_flight']} "
                     f"| {r['in_flight_lost']} | {r['failed']} | {r['failures'] or '—'} "
                     f"| {r['crash_saw']} | {r['served_after']} | {fmt_ms(r['first_new_ms'])} "
                     f"| {fmt_ms(r['replacement_ms']) if r['account'].startswith('AH') else '—'} "
                     f"| {r['account'].replace('|', '/')} |")
    if any(r["failed_before"] for runs in res.values() for r in runs):
        L += ["", "Some requests failed before the crash: "
              + ", ".join(f"{n} rep {r['rep']}: {r['failed_before']}" for n, runs in res.items()
                          for r in runs if r["failed_before"])]
    return "\n".join(L) + "\n"


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skep", default=os.path.join(REPO, ".build", "release", "SkepTestApp"),
                    help="the SkepTestApp binary (swift build -c release --product SkepTestApp)")
    ap.add_argument("--nio", help="the single-process-server binary (default: built here)")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(REPO), "shared"),
                    help="the shared/ directory beside the repository (../shared)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=float, default=6.0, help="seconds of load per run (6)")
    ap.add_argument("--crash-at", type=float, default=2.0, help="seconds into the load (2)")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--out", help="the report (Benchmarks/results/crash-isolation-DATE.md; "
                    "--quick: .build/crash-isolation-quick.md)")
    ap.add_argument("--quick", action="store_true", help="1 repetition of 3 s, crash at 1 s")
    a = ap.parse_args(argv)
    a.command = shlex.join(["python3", "Benchmarks/crash/crash-isolation.py"] + argv)
    if a.quick:
        a.reps, a.duration, a.crash_at = 1, 3.0, 1.0
    if a.out is None:
        a.out = (os.path.join(REPO, ".build", "crash-isolation-quick.md") if a.quick else
                 os.path.join(REPO, "Benchmarks", "results",
                              f"crash-isolation-{time.strftime('%F')}.md"))
    a.servers = [s for s in a.servers.split(",") if s]
    if unknown := set(a.servers) - set(SERVERS):
        ap.error(f"unknown server(s) {', '.join(sorted(unknown))}; known: {', '.join(SERVERS)}")
    a.skep = os.path.abspath(a.skep)
    return a


def build_nio() -> str:
    cmd = ["swift", "build", "-c", "release", "--package-path", os.path.join(REPO, "Benchmarks")]
    subprocess.run(cmd + ["--product", "single-process-server"], check=True,
                   stdout=sys.stderr)
    out = subprocess.run(cmd + ["--show-bin-path"], check=True, capture_output=True, text=True)
    return os.path.join(out.stdout.strip(), "single-process-server")


def main(argv) -> int:
    global peers
    a = parse_args(argv)
    if not os.access(a.skep, os.X_OK):
        log(f"ERROR: {a.skep} not found: swift build -c release --product SkepTestApp")
        return 2
    peers_py = os.path.join(a.shared, "bench", "peers.py")
    if not os.path.exists(peers_py):
        log(f"ERROR: {peers_py} not found: put shared/ beside the repository, or give --shared")
        return 2
    a.nio = os.path.abspath(a.nio) if a.nio else build_nio()
    peers = perf.peers = perf.load_peers(peers_py)
    perf.SKEP_BIN[0] = a.skep
    perf.STABLE_SECS[0] = 0.5
    b = perf.Bench(a)
    res: dict = {n: [] for n in a.servers}
    t_start = time.monotonic()
    try:
        for rep in range(1, a.reps + 1):
            for name in a.servers:
                res[name].append(one_run(a, b, name, rep))
    finally:
        b.stop(b.current)
        shutil.rmtree(b.top, ignore_errors=True)
    elapsed = time.monotonic() - t_start
    text = report(a, res, perf.machine(), elapsed)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(text)
    print(table(res))
    log(f"wrote {a.out} in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
