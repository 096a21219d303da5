#!/usr/bin/env python3
"""The Markdown report of Benchmarks/listener/run.sh: peers.py's JSON (Skep event's three
variants, apache-event, nginx), profile.py's JSON (per-thread CPU and switches, perf) and
the run's facts (command, load averages) into one file. Standard library only.

    python3 Benchmarks/listener/report.py --dir .build/listener-bench/RUN --command CMD \
        --started ISO --load-before "0.5 0.6 0.7" --load-after "..." > results.md
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

A, B, C = "skep-event-default", "skep-event-nolistener", "skep-event-nocache"
LABELS = {A: "(a) Skep event, default (listener answers)",
          B: "(b) Skep event, `ListenerHandlers Off` (worker)",
          C: "(c) Skep event, `FileCacheSize 0` (worker, open/read/close)",
          "apache-event": "Apache httpd event", "nginx": "nginx"}
VLABEL = {"default": "(a) default", "nolistener": "(b) ListenerHandlers Off",
          "nocache": "(c) FileCacheSize 0"}
SCEN = {"ka-small": "GET /index.html (128 B), 50 keep-alive connections",
        "close-small": "the same with `Connection: close` (a new TCP connection per request)"}


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def f(v, spec=".0f"):
    return "—" if v is None else format(v, spec)


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i == 0 else "---:"
                                                          for i in range(len(head))) + "|"]
    return "\n".join(out + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def machine() -> list[str]:
    model = "?"
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "?")
    except OSError:
        pass
    mem = 0
    with open("/proc/meminfo") as fh:
        for ln in fh:
            if ln.startswith("MemTotal:"):
                mem = int(ln.split()[1])
    commit = subprocess.run(["git", "-C", REPO, "log", "-1", "--format=%h %s"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return [f"- machine: `nproc` {os.cpu_count()} ({model}), {mem / 1048576:.1f} GiB memory, "
            f"Linux {platform.release()}",
            f"- code: `{commit[:80]}`{' (with uncommitted changes)' if dirty else ''}"]


def loads(path: str) -> str:
    try:
        with open(path) as fh:
            rows = [ln.split() for ln in fh if len(ln.split()) > 1]
    except OSError:
        return "not sampled"
    if not rows:
        return "not sampled"
    one = [float(r[1]) for r in rows]
    running = [int(r[4].split("/")[0]) for r in rows if len(r) > 4 and "/" in r[4]]
    text = (f"1-minute load average sampled every 5 s: min {min(one):.2f}, median "
            f"{statistics.median(one):.2f}, max {max(one):.2f} ({len(one)} samples)")
    if running:
        text += (f"; threads runnable at each sample (4th field of /proc/loadavg, the "
                 f"sampler itself included): median {statistics.median(running):.0f}, "
                 f"max {max(running)}")
    return text + (". The load average counts every runnable thread, the benchmark's own "
                   "too (each Skep or Apache event server has 4 children of 64 workers, a listener and a main thread; *wait µs/req* x req/s in the "
                   "per-thread tables is how many of the server's threads waited for a CPU "
                   "on average), so it is no measure of neighbours here; the *other* cores "
                   "column (CPU used by anything but the server and wrk) is")


def ratio(res, s, num, den, key="rps"):
    """Median over reps of num/den, each rep's pair measured minutes apart at most."""
    a, b = res.get(num, {}).get(s, []), res.get(den, {}).get(s, [])
    return med([x[key] / y[key] for x, y in zip(a, b) if y[key]])


def peers_section(p: dict) -> list[str]:
    res, out = p["results"], []
    for s in [s for s in SCEN if any(s in v for v in res.values())]:
        rows = []
        for n in [A, B, C, "apache-event", "nginx"]:
            runs = res.get(n, {}).get(s)
            if not runs:
                continue
            g = lambda k, spec: f(med([r[k] for r in runs]), spec)  # noqa: E731
            errs = sum(sum(r["errors"].values()) for r in runs)
            rows.append([LABELS[n], g("rps", ".0f"), g("p50_ms", ".2f"), g("p99_ms", ".2f"),
                         g("srv_us_req", ".1f"),
                         f"{g('srv_cores', '.2f')} / {g('wrk_cores', '.2f')} / {g('other_cores', '.2f')}",
                         errs, " ".join(f(r["rps"]) for r in runs)])
        out += [f"\n### {s}: {SCEN[s]}\n",
                table(["server", "req/s", "p50 ms", "p99 ms", "server CPU µs/req",
                       "cores: server / wrk / other", "errors", "req/s each rep"], rows)]
        rr = []
        for other, what in [(B, "(a) / (b) ListenerHandlers Off"), (C, "(a) / (c) FileCacheSize 0"),
                            ("apache-event", "(a) / apache-event"), ("nginx", "(a) / nginx")]:
            if other not in res or A not in res:
                continue
            rr.append([what, f(ratio(res, s, A, other), ".2f"),
                       f(ratio(res, s, A, other, "p99_ms"), ".2f"),
                       f(ratio(res, s, A, other, "srv_us_req"), ".2f"),
                       f(ratio(res, s, other, A, "srv_us_req"), ".2f")])
        out += [f"\nRatios for {s} (median over the reps of the ratio within each rep):\n",
                table(["pair", "req/s", "p99", "server CPU/req", "other's CPU/req ÷ (a)'s"], rr)]
    return out


def profile_section(pr: dict) -> list[str]:
    out = [f"\n## Where the CPU goes, per thread ({pr['reps']} reps x {pr['duration']} s, medians)\n",
           "`profile.py`: the same config and wrk load, a separate server start per variant "
           "and rep (interleaved). CPU from each thread's `/proc/PID/task/TID/schedstat` (ns), "
           "context switches from its `status`, read right before and after the measured wrk "
           "run, per request wrk counted. *wait*: time the server's threads were runnable "
           "but not running, summed over threads, per request; times req/s it is the "
           "average number of the server's threads waiting for one of the 2 cores (shared "
           "with wrk). cs: voluntary + involuntary context switches. *worker threads that "
           "ran*: those with a context switch during the run, of 4 x 64.\n"]
    for s in ["ka-small", "close-small"]:
        rows = []
        for v, d in pr["variants"].items():
            runs = d["runs"].get(s)
            if not runs:
                continue
            g = lambda fn, spec=".1f": f(med([fn(r) for r in runs]), spec)  # noqa: E731
            ro = lambda r, k, key: r["roles"].get(k, {}).get(key, 0.0)  # noqa: E731
            rows.append([VLABEL[v], g(lambda r: r["rps"], ".0f"),
                         g(lambda r: r["threads_us_req"]),
                         g(lambda r: ro(r, "listener", "us_req")),
                         g(lambda r: ro(r, "workers", "us_req")),
                         g(lambda r: ro(r, "listener", "vol_req") + ro(r, "listener", "invol_req"), ".2f"),
                         g(lambda r: ro(r, "workers", "vol_req") + ro(r, "workers", "invol_req"), ".2f"),
                         g(lambda r: sum(x["wait_us_req"] for x in r["roles"].values())),
                         g(lambda r: ro(r, "workers", "threads_used"), ".0f")])
        if rows:
            out += [f"\n{s}:\n", table(["variant", "req/s", "CPU µs/req (all threads)",
                                        "listener µs/req", "workers µs/req", "listener cs/req",
                                        "workers cs/req", "wait µs/req", "worker threads that ran"],
                                       rows)]
    perf = {k: v for k, v in pr.get("perf", {}).items() if isinstance(v, dict)}
    if pr.get("perf", {}).get("skipped"):
        out.append(f"\nperf: skipped ({pr['perf']['skipped']})")
    if perf:
        out += ["\n## perf record -e cpu-clock -g of the children (ka-small)\n",
                "One server start per variant; `perf record -e cpu-clock -g -p CHILDREN -- "
                "sleep N` under `wrk -t2 -c50` GET /index.html; `perf report --no-children "
                "--sort comm,dso,sym`. cpu-clock in a VM cannot sample with interrupts off, so "
                "kernel time shows up where they are re-enabled (`finish_task_switch`, "
                "`_raw_spin_unlock_irqrestore`).\n"]
        rows = []
        for v, p in perf.items():
            if "skipped" in p:
                rows.append([VLABEL[v], "skipped", "", "", ""])
                continue
            role = lambda k: f"{p['by_role'].get(k, 0):.0f}% ({p['kernel'].get(k, 0):.0f}% kernel)"  # noqa: E731
            rows.append([VLABEL[v], f(p["rps"], ".0f"), p["samples"], role("listener"), role("workers")])
        out.append(table(["variant", "req/s while recorded", "samples", "listener thread",
                          "worker threads"], rows))
        for v, p in perf.items():
            if "top" not in p:
                continue
            out += [f"\nTop symbols, {VLABEL[v]}:\n",
                    table(["%", "dso", "symbol"], [[f"{pct:.1f}", d, "`" + n[:90].replace("|", "\\|") + "`"]
                                                   for pct, d, n in p["top"][:15]])]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True, help="the run's directory (peers.json, peers.md, ...)")
    ap.add_argument("--command", required=True)
    ap.add_argument("--peers-command", default="")
    ap.add_argument("--started", required=True)
    ap.add_argument("--finished", default="")
    ap.add_argument("--load-before", required=True)
    ap.add_argument("--load-after", required=True)
    a = ap.parse_args()
    p = json.load(open(os.path.join(a.dir, "peers.json")))
    out = [f"# Listener path against worker path: Skep event, {a.started[:10]}\n",
           f"- date: {a.started} to {a.finished} (UTC)", *machine(),
           f"- load average (1, 5, 15 min) before: {a.load_before}; after: {a.load_after}",
           f"- load during the run: {loads(os.path.join(a.dir, 'loadavg.log'))}",
           f"- command: `{a.command}`",
           f"- peers.py command: `{a.peers_command}`" if a.peers_command else "",
           "- servers: " + "; ".join(f"{n} = {v}" for n, v in p.get("versions", {}).items()),
           "- variants: the config peers.py generates (event: 4 processes x 64 threads), with "
           "`skep-variant.sh` appending nothing (a), `ListenerHandlers Off` (b) or "
           "`FileCacheSize 0` (c). Each is a separate server in the same peers.py run, so all "
           "five are interleaved in every rep. wrk: `-t2 -c50`, 128-byte /index.html.",
           "", "## Medians (peers.py)"]
    out += peers_section(p)
    prof = os.path.join(a.dir, "profile.json")
    if os.path.exists(prof):
        out += profile_section(json.load(open(prof)))
    md = os.path.join(a.dir, "peers.md")
    if os.path.exists(md):
        body = "\n".join("#" + ln if ln.startswith("##") else ln for ln in open(md).read().splitlines())
        out += ["\n## Appendix: peers.py's own report of the run\n", body]
    print("\n".join(x for x in out if x is not None))


if __name__ == "__main__":
    main()
