"""The Markdown report and the PNG plots of Benchmarks/perf/run.py's results (results.json).

    python3 Benchmarks/perf/report.py docs/performance     # rewrite README.md and plots
    python3 Benchmarks/perf/report.py --no-plots docs/performance
                        # rewrite README.md only, linking the PNG plots already there
"""
from __future__ import annotations

import json
import os
import statistics
import sys

MPMS = ("prefork", "worker", "event")


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec=".0f") -> str:
    return "—" if v is None else format(v, spec)


def table(headers, rows, left=1) -> str:
    """Markdown table; the first `left` columns are left-aligned, the rest right-aligned."""
    out = ["| " + " | ".join(headers) + " |",
           "|" + "|".join("---" if i < left else "---:" for i in range(len(headers))) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def sizing_text(s: list) -> str:
    return ", ".join(f"{k} {v}" for k, v in s)


# ---------------------------------------------------------------------------------------
# Numbers the claims and the summary use
# ---------------------------------------------------------------------------------------
def conc(res, server, level, key="rps"):
    runs = res.get("concurrency", {}).get("runs", {}).get(server, {}).get(str(level), [])
    return med([r[key] for r in runs])


def conc_failed(res, server, level):
    runs = res.get("concurrency", {}).get("runs", {}).get(server, {}).get(str(level), [])
    return sum(r["failed"] for r in runs) if runs else None


def mem(res, server, level, key="pss_mib"):
    row = res.get("memory", {}).get("runs", {}).get(server)
    if not row or str(level) not in row["levels"]:
        return None
    return row["levels"][str(level)]["held"][key]


def served(res, server, level):
    row = res.get("memory", {}).get("runs", {}).get(server)
    if not row or str(level) not in row["levels"]:
        return None
    return row["levels"][str(level)]["served"]


def crash_failed(res, server):
    return med([r["failed_total"] for r in res.get("crash", {}).get("runs", {}).get(server, [])])


def peers_val(res, server, scen, key):
    runs = res.get("peers", {}).get("results", {}).get(server, {}).get(scen, [])
    return med([r[key] for r in runs])


def ratio(x, y):
    return None if x is None or not y else x / y


def limit_of(res, sweep_sizing_key, mpm):
    s = dict(res["settings"]["sizing"][sweep_sizing_key][mpm])
    return s["MaxRequestWorkers"]


def claims(res) -> list[list[str]]:
    """[claim, how measured, Skep, Apache, holds?] for each seed claim."""
    rows = []
    levels = res.get("memory", {}).get("levels", [])
    clevels = res.get("concurrency", {}).get("levels", [])
    yes = lambda ok: ("—" if ok is None else "a tie (within 3%)" if ok == "tie"  # noqa
                      else "**holds**" if ok else "**does not hold**")

    def both(fn):
        return [fn("skep"), fn("apache")]

    # 1. prefork uses the most memory
    lv = max([k for k in levels if all(served(res, f"skep-{m}", k) == k for m in MPMS)],
             default=None)
    if lv is not None:
        def f(fam):
            v = {m: mem(res, f"{fam}-{m}", lv) for m in MPMS}
            ok = None if None in v.values() else v["prefork"] > max(v["worker"], v["event"])
            return (f"PSS with {lv} connections held: prefork {fmt(v['prefork'], '.1f')}, worker "
                    f"{fmt(v['worker'], '.1f')}, event {fmt(v['event'], '.1f')} MiB", ok)
        s, ap = both(f)
        rows.append(["prefork uses the most memory", "sweep 2: total PSS of all the server's "
                     "processes while holding the connections", s[0], ap[0],
                     f"Skep {yes(s[1])}, Apache {yes(ap[1])}"])
    # 2. prefork isolates best
    if res.get("crash", {}).get("runs"):
        def f(fam):
            v = {m: crash_failed(res, f"{fam}-{m}") for m in MPMS}
            ok = None if None in v.values() else v["prefork"] < min(v["worker"], v["event"])
            return (f"requests lost per crashed child: prefork {fmt(v['prefork'])}, worker "
                    f"{fmt(v['worker'])}, event {fmt(v['event'])}", ok)
        s, ap = both(f)
        rows.append(["prefork isolates best (a crash costs the least)",
                     f"sweep 5: SIGSEGV to the busiest child under {res['crash']['conns']} "
                     "keep-alive connections", s[0], ap[0], f"Skep {yes(s[1])}, Apache {yes(ap[1])}"])
    # 3. prefork answers a single request slightly faster
    if 1 in clevels:
        def f(fam):
            v = {m: conc(res, f"{fam}-{m}", 1) for m in MPMS}
            lat = {m: conc(res, f"{fam}-{m}", 1, "p50_ms") for m in MPMS}
            best = max(v["worker"] or 0, v["event"] or 0)
            d = ratio(v["prefork"], best)
            ok = None if d is None else True if d > 1.03 else False if d < 0.97 else "tie"
            return (f"1 connection: prefork {fmt(v['prefork'])} req/s (p50 "
                    f"{fmt(lat['prefork'], '.3f')} ms), worker {fmt(v['worker'])} "
                    f"({fmt(lat['worker'], '.3f')}), event {fmt(v['event'])} "
                    f"({fmt(lat['event'], '.3f')}); prefork/best other "
                    f"{fmt(d, '.2f')}x", ok)
        s, ap = both(f)
        rows.append(["prefork answers a single request slightly faster",
                     "sweep 1: one keep-alive connection, req/s and median latency", s[0], ap[0],
                     f"Skep {yes(s[1])}, Apache {yes(ap[1])}"])
    # 4. worker serves 1000 clients with 10 processes of 100 threads instead of 1000 processes
    if 1000 in clevels:
        def f(fam):
            w, p = f"{fam}-worker", f"{fam}-prefork"
            wp = conc(res, w, 1000, "procs")
            pp = conc(res, p, 1000, "procs")
            wf = conc_failed(res, w, 1000)
            ws, ps = served(res, w, 1000), served(res, p, 1000)
            wm, pm = mem(res, w, 1000), mem(res, p, 1000)
            ok = None if wf is None else (wf == 0 and (wp or 0) <= 12
                                          and (ws is None or ws == 1000))
            return (f"1000 busy connections: worker {fmt(conc(res, w, 1000))} req/s with "
                    f"{fmt(wp)} processes ({fmt(wf)} failed), prefork "
                    f"{fmt(conc(res, p, 1000))} req/s with {fmt(pp)} processes; 1000 held: "
                    f"worker {fmt(wm, '.1f')} MiB PSS, prefork {fmt(pm, '.1f')} MiB", ok)
        s, ap = both(f)
        rows.append(["worker serves 1000 clients with 10 processes of 100 threads instead of "
                     "1000 processes", "sweeps 1 and 2 at 1000 connections (10 x 100 threads "
                     "against 1000 prefork processes)", s[0], ap[0],
                     f"Skep {yes(s[1])}, Apache {yes(ap[1])}"])
    # 5. event holds more connections than it has threads
    top = max(levels, default=None)
    if top:
        def f(fam):
            e, w = f"{fam}-event", f"{fam}-worker"
            threads = limit_of(res, "sweeps 1-2", "event")
            se, sw = served(res, e, top), served(res, w, top)
            ok = None if se is None else se > threads
            return (f"of {top} opened: event held {fmt(se)} with {threads} worker threads "
                    f"({fmt(mem(res, e, top), '.1f')} MiB PSS); worker held {fmt(sw)}", ok)
        s, ap = both(f)
        rows.append(["event holds more connections than it has threads",
                     "sweep 2: idle keep-alive connections held, each served one request",
                     s[0], ap[0], f"Skep {yes(s[1])}, Apache {yes(ap[1])}"])
    # 6. a graceful restart loses no requests (Apache's documentation)
    if res.get("restart", {}).get("runs"):
        def f(fam):
            v = {m: med([r["failed_total"] for r in res["restart"]["runs"].get(f"{fam}-{m}", [])])
                 for m in MPMS}
            mx = {m: med([r["max_ms"] for r in res["restart"]["runs"].get(f"{fam}-{m}", [])])
                  for m in MPMS}
            ok = None if None in v.values() else all(x == 0 for x in v.values())
            return ("failed requests (wrk + probe): " + ", ".join(
                f"{m} {fmt(v[m])} (max latency {fmt(mx[m], '.0f')} ms)" for m in MPMS), ok)
        s, ap = both(f)
        rows.append(["a graceful restart loses no requests (Apache's documentation)",
                     f"sweep 6: `-k graceful` under {res['restart']['conns']} keep-alive "
                     "connections", s[0], ap[0], f"Skep {yes(s[1])}, Apache {yes(ap[1])}"])
    return rows


# ---------------------------------------------------------------------------------------
# The issues' goals
# ---------------------------------------------------------------------------------------
# Why a missed goal is missed, keyed by the kind of goal; every {field} is filled from the
# run's data (the profile section, sweeps 2 and 3, the allocation counts).
GOAL_LIMITS = {
    "throughput": "server CPU {cpu} µs/req against {other}'s {ocpu}; keep-alive profile: "
                  "{profile}",
    "cpu": "keep-alive profile ({scen} is not profiled): {profile}",
    "pss": "RSS per idle process {rss} MiB against {orss} MiB: every process maps the Swift "
           "runtime's libraries (no memory profile in this run)",
    "idle": "{start} MiB of RSS before any connection, over {procs} processes: the Swift "
            "runtime, counted once per process",
    "fresh": "the idle test is not profiled",
    "alloc": "{mallocs} malloc calls and {bytes} B per request ({server}); keep-alive profile: "
             "{profile}",
}
PEER_SCENARIO = {50: "ka-small", 256: "ka-256"}  # peers.py's keep-alive scenarios by conns


def trim_x(v) -> str:
    return format(v, ".2f").rstrip("0").rstrip(".") + "x"


def judge(value, target, show, higher=True, strict=False):
    """(verdict, how far) of a measured value against its target; show formats both."""
    if value is None:
        return "not measured in this run", "—"
    if higher:
        ok = value > target if strict else value >= target
    else:
        ok = value < target if strict else value <= target
    v, t = show(value), (show(target) if target else "0")
    said = f"{v} of {t}" if higher else f"{v} against {'<' if strict else '≤'} {t}"
    if not target:
        return ("**met**", said) if ok else ("**missed**", f"{said}: missed by {v}")
    gap = abs(value - target) / target
    return ("**met**", f"{said}: {gap:.0%} to spare") if ok else (
        "**missed**", f"{said}: missed by {gap:.0%}")


def server_label(n) -> str:
    """skep-event -> Skep event, apache-worker -> Apache worker, nginx -> nginx."""
    kind, _, m = n.partition("-")
    return f"{kind.capitalize()} {m}" if kind in ("skep", "apache") and m else n


def peer_names(res) -> list[str]:
    """The servers of peers.py's run that are not Skep (Apache's MPMs, nginx, ...)."""
    return [n for n in res.get("peers", {}).get("results", {}) if not n.startswith("skep")]


def best_peer(res, scen, key, lowest=False):
    """(server, value) of the best peer in a peers.py scenario, or (None, None)."""
    vals = [(n, peers_val(res, n, scen, key)) for n in peer_names(res)]
    vals = [(n, v) for n, v in vals if v is not None]
    if not vals:
        return None, None
    return (min if lowest else max)(vals, key=lambda x: x[1])


def pair(res, a, b, where):
    """Req/s and server CPU µs/req of servers a and b, [(ra, ca), (rb, cb), source]: `where`
    is a peers.py scenario, or a number of keep-alive connections, read from peers.py's
    scenario for it when both servers have it, else from sweep 1's nearest level."""
    scen = PEER_SCENARIO.get(where, where)
    if isinstance(scen, str):
        if None not in (peers_val(res, a, scen, "rps"), peers_val(res, b, scen, "rps")):
            return ([(peers_val(res, n, scen, "rps"), peers_val(res, n, scen, "srv_us_req"))
                     for n in (a, b)] + [f"peers.py {scen}"])
        if not isinstance(where, int):
            return [(None, None), (None, None), None]
    levels = res.get("concurrency", {}).get("levels", [])
    lv = min(levels, key=lambda x: abs(x - where), default=None)
    if lv is None or None in (conc(res, a, lv), conc(res, b, lv)):
        return [(None, None), (None, None), None]
    return ([(conc(res, n, lv), conc(res, n, lv, "srv_us_req")) for n in (a, b)]
            + [f"sweep 1, {lv} connections"])


def idle_prefork(res):
    """({"skep": (PSS, RSS per process in MiB, processes), "apache": ...}, source) of the idle
    prefork servers, both from sweep 2 or both from peers.py's idle test; (None, None)."""
    mem_idle = lambda fam: res.get("memory", {}).get("runs", {}).get(  # noqa: E731
        f"{fam}-prefork", {}).get("idle")
    peer_idle = lambda fam: next((r["start"] for r in res.get("peers", {}).get(  # noqa: E731
        "results", {}).get(f"{fam}-prefork", {}).get("idle", [])), None)
    for src, get in (("sweep 2, idle", mem_idle), ("peers.py idle, at start", peer_idle)):
        got = {fam: get(fam) for fam in ("skep", "apache")}
        if all(got.values()):
            return {fam: (m["pss_mib"] / m["procs"], m["rss_mib"] / m["procs"], m["procs"])
                    for fam, m in got.items()}, src
    return None, None


def profile_summary(res) -> str:
    pf = res.get("profile", {})
    if not pf.get("symbols"):
        return "no profile in this run"
    kern, _, groups = profile_shares(pf)
    top = sorted(groups.items(), key=lambda g: -g[1])[:3]
    return ", ".join([f"kernel {kern:.0f}%"] + [f"{n.split(' (')[0]} {v:.1f}%" for n, v in top])


def goals(res) -> list[list[str]]:
    """[issue, goal, measured, target, verdict, how far, limit] for each goal of the issues."""
    rows = []
    prof = profile_summary(res)
    unmeasured = judge(None, 0, str)

    def add(issue, goal, measured, target, verdict, limit=""):
        v, far = verdict
        rows.append([issue, goal, measured, target, v, far, limit if v == "**missed**" else ""])

    def versus(issue, a, b, what, where, factor, b_said=None):
        """a's req/s at least `factor` times b's."""
        (ra, ca), (rb, cb), source = pair(res, a, b, where)
        r = ratio(ra, rb)
        add(issue, f"{server_label(a)} ≥ {trim_x(factor)} {b_said or server_label(b)}, {what}",
            "—" if r is None else f"{r:.2f}x ({fmt(ra)} / {fmt(rb)} req/s, {source})",
            f"≥ {trim_x(factor)}", judge(r, factor, trim_x),
            GOAL_LIMITS["throughput"].format(cpu=fmt(ca, ".1f"), other=server_label(b),
                                             ocpu=fmt(cb, ".1f"), profile=prof))

    # Issue 5: prefork
    versus("5", "skep-prefork", "apache-prefork", "small-file keep-alive req/s", 50, 2)
    versus("5", "skep-prefork", "apache-prefork", "`Connection: close` req/s", "close-small",
           1.5)
    goal = "Skep prefork PSS per idle child ≤ Apache prefork's"
    per, src = idle_prefork(res)
    if per:
        (s, srss, n), (a, arss, _) = per["skep"], per["apache"]
        add("5", goal, f"{s:.3f} MiB against {a:.3f} (total PSS / {n} processes, {src})",
            "≤ Apache prefork's", judge(s, a, lambda v: f"{v:.3f} MiB", higher=False),
            GOAL_LIMITS["pss"].format(rss=f"{srss:.1f}", orss=f"{arss:.1f}"))
    else:
        add("5", goal, "—", "≤ Apache prefork's", unmeasured)

    # Issue 6: worker
    versus("6", "skep-worker", "apache-worker", "small-file keep-alive req/s", 50, 2)
    versus("6", "skep-worker", "apache-worker", "req/s at 256 keep-alive connections", 256, 2)
    versus("6", "skep-worker", "apache-worker", "`Connection: close` req/s", "close-small",
           1.5)

    # Issue 7: event
    versus("7", "skep-event", "apache-event", "small-file keep-alive req/s", 50, 2)
    best, _ = best_peer(res, "ka-small", "rps")
    versus("7", "skep-event", best or "the best peer", "small-file keep-alive req/s",
           "ka-small", 1, f"the best peer ({server_label(best)})" if best else None)
    for scen, label in (("close-small", "`Connection: close`"), ("file-1m", "1 MiB file")):
        c = peers_val(res, "skep-event", scen, "srv_us_req")
        bn, bv = best_peer(res, scen, "srv_us_req", lowest=True)
        add("7", f"Skep event server CPU per request ≤ the best peer's, {label}",
            "—" if c is None else f"{c:.1f} µs/req (peers.py {scen}, `srv us/req`)",
            "—" if bv is None else f"≤ {server_label(bn)}'s {bv:.1f} µs/req",
            judge(None if bv is None else c, bv, lambda v: f"{v:.1f} µs", higher=False),
            GOAL_LIMITS["cpu"].format(scen=scen, profile=prof))
    idle = res.get("peers", {}).get("results", {}).get("skep-event", {}).get("idle", [])
    big = [r for r in idle if r["k"] >= 10000]
    held = "10,000 idle keep-alive connections held"
    if big:
        k = big[0]["k"]
        sv, rss = med([r["served"] for r in big]), med([r["held"]["rss_mib"] for r in big])
        add("7", f"Skep event: {held}, total RSS < 64 MiB",
            f"held {fmt(sv)} of {k}, RSS {rss:.1f} MiB", "all held, < 64 MiB",
            judge(rss, 64, lambda v: f"{v:.1f} MiB", higher=False, strict=True) if sv == k
            else ("**missed**", f"held {fmt(sv)} of {k}"),
            GOAL_LIMITS["idle"].format(start=fmt(med([r["start"]["rss_mib"] for r in big])),
                                       procs=big[0]["start"]["procs"]))
        fm = med([r["fresh_ms"] for r in big])
        add("7", f"Skep event: a fresh client answered while {held}",
            "timed out" if fm is None else f"{fm:.1f} ms (median of {len(big)})", "< 5 ms",
            ("**missed**", "timed out") if fm is None else
            judge(fm, 5, lambda v: f"{v:.1f} ms", higher=False, strict=True),
            GOAL_LIMITS["fresh"])
    else:
        seen = "—"
        if idle:
            fm = med([r["fresh_ms"] for r in idle])
            seen = (f"only {idle[0]['k']} opened in this run: held "
                    f"{fmt(med([r['served'] for r in idle]))}, RSS "
                    f"{med([r['held']['rss_mib'] for r in idle]):.1f} MiB, a fresh request "
                    f"{'timed out' if fm is None else format(fm, '.1f') + ' ms'}")
        add("7", f"Skep event: {held}, total RSS < 64 MiB", seen, "all held, < 64 MiB",
            unmeasured)
        add("7", f"Skep event: a fresh client answered while {held}", "—", "< 5 ms",
            unmeasured)

    # Issue 9: allocations
    mine = {n: r for n, r in res.get("alloc", {}).get("runs", {}).items()
            if n.startswith("skep-")}
    worst = max(mine, key=lambda n: mine[n]["allocs_per_req"], default=None)
    per_req = worst and mine[worst]["allocs_per_req"]
    if per_req is not None and per_req < 0.05:
        per_req = 0.0  # counted as free of allocations, as in the allocation section
    add("9", "allocator calls per request, static 128 B file, steady state (Skep, each MPM)",
        "; ".join(f"{n[5:]} {r['allocs_per_req']:.2f}" for n, r in mine.items()) or "—", "0",
        judge(per_req, 0, lambda v: f"{v:.2f}/req", higher=False),
        worst and GOAL_LIMITS["alloc"].format(
            mallocs=f"{mine[worst]['allocs_per_req']:.1f}", server=worst,
            bytes=f"{mine[worst]['bytes_per_req']:.0f}", profile=prof))
    return rows


def goals_section(res) -> list[str]:
    rows = goals(res)
    headers = ["issue", "goal", "measured", "target", "verdict", "how far"]
    if any(r[4] == "**missed**" for r in rows):
        headers.append("limit (from the profile)")
    else:
        rows = [r[:6] for r in rows]
    return ["## Goals", "",
            "The issues' goals against this run. Keep-alive, `Connection: close`, 256 "
            "connections, 1 MiB and idle read peers.py's scenarios (the harness the issues "
            "name; sweep 3 and [peers.md](peers.md)), or sweep 1's nearest level when "
            "peers.py did not run them; sweep 1 at 100 connections is under Headline ratios. "
            "Best peer: the best server of peers.py's run that is not Skep. The limits quote "
            "the profile of the event MPM's keep-alive path (below) and the same run's "
            "numbers.", "",
            table(headers, rows, left=len(headers)), ""]


# ---------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------
COLORS = {"prefork": "tab:red", "worker": "tab:blue", "event": "tab:green", "nginx": "black"}


def style(name):
    kind, _, mpm = name.partition("-")
    if kind == "nginx":
        return {"color": "black", "linestyle": ":", "marker": "s", "label": "nginx"}
    return {"color": COLORS.get(mpm, "gray"), "linestyle": "-" if kind == "skep" else "--",
            "marker": "o" if kind == "skep" else "^", "label": name}


def plots(res, out) -> list[str]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is missing (apt-get install python3-matplotlib): no plots",
              file=sys.stderr)
        return []
    made = []

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(os.path.join(out, name), dpi=90)
        plt.close(fig)
        made.append(name)

    c = res.get("concurrency", {})
    if c.get("runs"):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
        for name, by in c["runs"].items():
            xs = [lv for lv in c["levels"] if str(lv) in by]
            ax1.plot(xs, [med([r["rps"] for r in by[str(x)]]) for x in xs], **style(name))
            ax2.plot(xs, [med([r["p99_ms"] for r in by[str(x)]]) for x in xs], **style(name))
        for ax, t, y in ((ax1, "throughput", "requests/s"), (ax2, "p99 latency", "ms (log)")):
            ax.set_xscale("log")
            ax.set_xlabel("concurrent keep-alive connections (log)")
            ax.set_ylabel(y)
            ax.set_title(f"Sweep 1: {t}, GET 128 B, median of {res['settings']['reps']}")
            ax.grid(True, alpha=0.3)
        ax2.set_yscale("log")
        ax1.legend(fontsize=8)
        save(fig, "sweep1-concurrency.png")

    m = res.get("memory", {})
    if m.get("runs"):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
        for name, row in m["runs"].items():
            xs = [k for k in m["levels"] if str(k) in row["levels"]]
            for ax, key in ((ax1, "pss_mib"), (ax2, "rss_mib")):
                ys = [row["levels"][str(k)]["held"][key] for k in xs]
                ax.plot(xs, ys, **style(name))
                for k, y in zip(xs, ys):
                    sv = row["levels"][str(k)]["served"]
                    if sv < k:  # stopped: mark it and say how many were held
                        ax.scatter([k], [y], s=120, facecolors="none",
                                   edgecolors=style(name)["color"])
                        ax.annotate(f"{sv}", (k, y), fontsize=7, xytext=(4, 4),
                                    textcoords="offset points")
        for ax, t in ((ax1, "PSS"), (ax2, "RSS (shared pages counted per process)")):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("connections opened and held (log); circled: not all held, "
                          "number = held")
            ax.set_ylabel("MiB, all processes (log)")
            ax.set_title(f"Sweep 2: total {t}")
            ax.grid(True, alpha=0.3)
        ax1.legend(fontsize=8)
        save(fig, "sweep2-memory.png")

    pr = res.get("peers", {}).get("results", {})
    if pr:
        fig, axes = plt.subplots(1, 3, figsize=(14, 4.5))
        for ax, (scen, key, t) in zip(axes, (("close-small", "rps", "Connection: close, req/s"),
                                             ("close-small", "srv_us_req",
                                              "Connection: close, server CPU µs/req"),
                                             ("file-1m", "mbps", "1 MiB file (sendfile), MB/s"))):
            names = [n for n in pr if pr[n].get(scen)]
            vals = [peers_val(res, n, scen, key) for n in names]
            ax.bar(range(len(names)), vals, color=[style(n)["color"] for n in names],
                   hatch=None, alpha=0.85,
                   edgecolor="black")
            for i, n in enumerate(names):
                if n.startswith("apache"):
                    ax.patches[i].set_hatch("//")
            ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
            ax.set_title(f"Sweep 3: {t}", fontsize=10)
            ax.grid(True, axis="y", alpha=0.3)
        save(fig, "sweep3-close-and-file.png")

    php = res.get("php", {})
    if php.get("rows"):
        fig, ax = plt.subplots(figsize=(5, 4))
        names = list(php["rows"])
        ax.bar(names, [php["rows"][n]["rps"] for n in names],
               color=["tab:green" if n.startswith("skep") else "tab:olive" for n in names])
        ax.set_ylabel("requests/s (median)")
        ax.set_title(f"Sweep 4: hello.php via PHP-FPM\nSkep/Apache {fmt(php.get('ratio'), '.2f')}x")
        save(fig, "sweep4-php.png")

    for sweep, fname, title in (("crash", "sweep5-crash.png", "one child SIGSEGVed"),
                                ("restart", "sweep6-graceful.png", "graceful restart")):
        s = res.get(sweep, {})
        if not s.get("runs"):
            continue
        names = list(s["runs"])
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5),
                                       gridspec_kw={"width_ratios": [1, 2]})
        ax1.bar(range(len(names)), [med([r["failed_total"] for r in s["runs"][n]]) for n in names],
                color=[style(n)["color"] for n in names], edgecolor="black")
        for i, n in enumerate(names):
            if n.startswith("apache"):
                ax1.patches[i].set_hatch("//")
        ax1.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax1.set_ylabel("failed requests (wrk + probe), median")
        ax1.set_title(f"Sweep {'5' if sweep == 'crash' else '6'}: {title}, "
                      f"{s['conns']} keep-alive conns", fontsize=10)
        ax1.grid(True, axis="y", alpha=0.3)
        for n in names:
            r = s["runs"][n][0]
            at = r["at_s"]
            pts = [(t - at, ms) for t, ms in r["probe"] if ms is not None]
            fails = [t - at for t, ms in r["probe"] if ms is None]
            st = style(n)
            ax2.plot([p[0] for p in pts], [p[1] for p in pts], color=st["color"],
                     linestyle=st["linestyle"], linewidth=0.8, label=n)
            if fails:
                ax2.scatter(fails, [0.01] * len(fails), marker="x", color=st["color"])
        ax2.axvline(0, color="gray", linewidth=1)
        ax2.set_yscale("log")
        ax2.set_xlabel(f"seconds from the {'crash' if sweep == 'crash' else 'restart command'}"
                       " (x at the bottom: a failed probe request)")
        ax2.set_ylabel("probe request latency, ms (log)")
        ax2.set_title("latency of a probe request every 10 ms, first rep", fontsize=10)
        ax2.legend(fontsize=7, ncol=2)
        ax2.grid(True, alpha=0.3)
        save(fig, fname)
    return made


# ---------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------
def markdown(res, plot_files) -> str:
    mc, st = res["machine"], res["settings"]
    L = ["# Performance: Skep's MPMs against Apache httpd and nginx", ""]
    if st.get("quick"):
        L += ["**Smoke run (`--quick`)**: tiny sizes and 1 s runs; the numbers mean nothing.", ""]
    L += [f"- date: {mc['date']}; took {res['elapsed_s'] / 60:.1f} min",
          f"- machine: {mc['cores']} cores ({mc['cpu']}), {mc['mem_gib']} GiB memory, Linux "
          f"{mc['kernel']}; shared with other jobs, loopback only, wrk on the same cores",
          f"- command: `{res['command']}` (commit `{mc['commit']}`)",
          f"- servers: Skep {mc['skep']}, Apache {mc['apache']}, nginx {mc['nginx']}; "
          f"client {mc['wrk']}",
          f"- runs: {st['reps']} rep(s) x {st['duration']} s (+{st['warmup']} s warm-up) per "
          "point for peers.py and sweep 1, servers interleaved within each rep; medians",
          "- raw numbers: [results.json](results.json) (all sweeps), "
          "[peers.json](peers.json) and [peers.md](peers.md) (peers.py's own report)", ""]
    if res.get("failed"):
        L += ["**Failed sweeps:** " + "; ".join(f"{k}: {v.splitlines()[0]}"
                                                for k, v in res["failed"].items()), ""]
    L += goals_section(res)
    L += ["## The claims", "",
          "People choose an MPM from claims like these; each is measured here on Skep and on "
          "Apache from the same generated configuration.", ""]
    L += [table(["claim", "how it is measured", "Skep", "Apache", "verdict"], claims(res), left=5), ""]
    L += headline(res)

    def img(name, alt):
        if name in plot_files:
            L.extend([f"![{alt}]({name})", ""])

    # Sweep 1
    c = res.get("concurrency", {})
    if c.get("runs"):
        sz = st["sizing"]["sweeps 1-2"]
        L += ["## Sweep 1: throughput and p99 latency against concurrent keep-alive connections",
              "",
              f"`wrk -t2 -cN -d{st['duration']}s` GET /index.html (128 B) on keep-alive "
              "connections, the levels one after another on one start of each server. MPM "
              f"sizing: prefork {sizing_text(sz['prefork'])}; worker and event "
              f"{sizing_text(sz['worker'])}. "
              "nginx: 2 worker processes.", ""]
        img("sweep1-concurrency.png", "throughput and p99 against connections")
        lv = c["levels"]
        rows = []
        for n, by in c["runs"].items():
            rows.append([n] + [fmt(conc(res, n, x)) + (f" ({conc_failed(res, n, x)} failed)"
                                                       if conc_failed(res, n, x) else "")
                               for x in lv])
        L += ["Requests/s (median):", "", table(["server"] + [str(x) for x in lv], rows), ""]
        rows = [[n] + [fmt(conc(res, n, x, "p99_ms"), ".2f") for x in lv] for n in c["runs"]]
        L += ["p99 latency, ms (median):", "", table(["server"] + [str(x) for x in lv], rows), ""]
        rows = [[n] + [fmt(conc(res, n, x, "srv_us_req"), ".1f") for x in lv]
                for n in c["runs"]]
        L += ["Server CPU µs per request (all its processes; the least noisy number):", "",
              table(["server"] + [str(x) for x in lv], rows), ""]

    # Sweep 2
    m = res.get("memory", {})
    if m.get("runs"):
        lv = m["levels"]
        L += ["## Sweep 2: total memory against open connections", "",
              "K connections are opened at once; each sends one request and reads the answer, "
              "then stays open (keep-alive, 30 s timeout). While they are held, RSS (VmRSS) and "
              "PSS (`/proc/PID/smaps_rollup`) are summed over the master and every descendant. "
              "RSS counts the pages the processes share once per process; PSS divides them. "
              f"Connections not served within {st['open_secs']:.0f} s count as not held "
              "(they wait in the listen backlog). Same sizing as sweep 1.", ""]
        img("sweep2-memory.png", "memory against connections")
        rows = []
        for n, row in m["runs"].items():
            idle = row["idle"]
            cells = [n, f"{idle['pss_mib']:.1f} / {idle['rss_mib']:.0f} "
                        f"({idle['procs']} procs, {idle['threads']} threads)"]
            for k in lv:
                r = row["levels"].get(str(k))
                if r is None:
                    cells.append("—")
                    continue
                held = "" if r["served"] == k else f" **held {r['served']}**"
                cells.append(f"{r['held']['pss_mib']:.1f} / {r['held']['rss_mib']:.0f}{held}")
            rows.append(cells)
        L += ["PSS / RSS in MiB (**held N**: only N of the K connections were served):", "",
              table(["server", "idle"] + [f"{k} conns" for k in lv], rows), ""]
        L += ["Where each stops:", ""]
        for n, row in m["runs"].items():
            stops = [k for k in lv if str(k) in row["levels"] and row["levels"][str(k)]["served"] < k]
            if not stops:
                L.append(f"- {n}: held every level up to {max(lv)}.")
                continue
            k = stops[0]
            r = row["levels"][str(k)]
            why = ""
            kind, _, mpm = n.partition("-")
            if mpm in ("prefork", "worker"):
                why = (f": MaxRequestWorkers {limit_of(res, 'sweeps 1-2', mpm)} — every "
                       "connection holds a process (prefork) or a thread (worker) until its "
                       "keep-alive timeout")
            elif n == "apache-event":
                why = (": Apache's accept throttle, connections per child < ThreadsPerChild + "
                       "AsyncRequestWorkerFactor (2) x idle threads")
            L.append(f"- {n}: of {k} opened, held {r['served']}{why}; a fresh request "
                     f"{'timed out' if r['fresh_ms'] is None else 'took ' + format(r['fresh_ms'], '.1f') + ' ms'}.")
        L.append("")

    # Sweep 3
    pr = res.get("peers", {}).get("results", {})
    if pr:
        L += ["## Sweep 3: `Connection: close` (accept cost) and a 1 MiB file (sendfile)", "",
              "From peers.py (`close-small`: 50 connections, a new TCP connection per request; "
              "`file-1m`: 8 keep-alive connections, GET /static/1m.bin), peers.py's sizing "
              f"(prefork {sizing_text(st['sizing']['sweeps 5-6']['prefork'])}; worker/event "
              f"{sizing_text(st['sizing']['sweeps 5-6']['worker'])}). Full tables, ka-small, "
              "ka-256 and the idle test: [peers.md](peers.md).", ""]
        img("sweep3-close-and-file.png", "Connection: close and 1 MiB file")
        rows = []
        for n in pr:
            rows.append([n, fmt(peers_val(res, n, "close-small", "rps")),
                         fmt(peers_val(res, n, "close-small", "srv_us_req"), ".1f"),
                         fmt(peers_val(res, n, "close-small", "p99_ms"), ".2f"),
                         fmt(peers_val(res, n, "file-1m", "mbps")),
                         fmt(peers_val(res, n, "file-1m", "srv_us_req"), ".1f"),
                         fmt(peers_val(res, n, "ka-small", "rps")),
                         fmt(peers_val(res, n, "ka-256", "rps"))])
        L += [table(["server", "close req/s", "close CPU µs/req", "close p99 ms",
                     "1 MiB MB/s", "1 MiB CPU µs/req", "ka-small req/s", "ka-256 req/s"],
                    rows), "", f"peers.py command: `{res.get('peers_cmd', '?')}`", ""]

    # Sweep 4
    php = res.get("php", {})
    L += ["## Sweep 4: PHP through PHP-FPM (hello.php), Skep event against Apache event", ""]
    if php.get("rows"):
        L += ["`Benchmarks/php/php-fpm-bench.py`: one private PHP-FPM pool (static, Unix "
              "socket) shared by both servers, event MPM, `SetHandler "
              "\"proxy:unix:...|fcgi://localhost\"`, servers interleaved.", ""]
        img("sweep4-php.png", "PHP-FPM")
        L += [table(["server", "req/s (median)", "each rep", "errors"],
                    [[n, fmt(r["rps"]), " ".join(fmt(x) for x in r["each"]), r["errors"]]
                     for n, r in php["rows"].items()]), "",
              f"Skep / Apache: **{fmt(php.get('ratio'), '.2f')}x**. Command: `{php['cmd']}`", ""]
    else:
        L += [f"Skipped: {php.get('skipped', 'not run')}.", ""]

    # Sweeps 5 and 6
    for sweep, title in (("crash", "Sweep 5: the cost of a crash"),
                         ("restart", "Sweep 6: a graceful restart under steady load")):
        s = res.get(sweep, {})
        if not s.get("runs"):
            continue
        sz = st["sizing"]["sweeps 5-6"]
        L += [f"## {title}", ""]
        if sweep == "crash":
            L += [f"wrk holds {s['conns']} keep-alive connections on GET /index.html for "
                  f"{st['event_secs']:.0f} s; at {0.4 * st['event_secs']:.1f} s the child "
                  "holding the most of them (counted from /proc/net/tcp and each child's fds) "
                  "gets SIGSEGV. Failed requests = wrk's errors (connections reset or closed "
                  "under a request, timeouts, non-2xx) in that run; with no crash they are 0. "
                  "A probe client sends one request every 10 ms on its own connection "
                  f"(the plot's time line). Sizing: prefork {sizing_text(sz['prefork'])}; "
                  f"worker/event {sizing_text(sz['worker'])}; nginx 2 workers. "
                  f"{st['crash_reps']} rep(s).", ""]
            img("sweep5-crash.png", "crash")
            rows = []
            for n, runs in s["runs"].items():
                rows.append([n, " ".join(f"{r['victim_conns']}/{r['total_conns']}" for r in runs),
                             fmt(med([r["failed_total"] for r in runs])),
                             "; ".join(f"{r['failed']}+{r['probe_failed']} ({r.get('probe_retries', 0)} retried)"
                                       for r in runs),
                             error_kinds(runs),
                             fmt(med([r["max_ms"] for r in runs]), ".0f"),
                             fmt(med([r["rps"] for r in runs]))])
            L += [table(["server", "conns held by the crashed child / all (each rep)",
                         "failed requests per crash (median)", "each rep: wrk + probe (probe requests retried)",
                         "wrk error kinds", "max latency ms", "req/s over the run"], rows), ""]
        else:
            L += [f"wrk holds {s['conns']} keep-alive connections on GET /index.html for "
                  f"{st['event_secs']:.0f} s; at {0.4 * st['event_secs']:.1f} s the graceful "
                  "restart command runs (`skep -f CONF -k graceful`, which returns once the "
                  "new generation serves; `apache2 -f CONF -k graceful`; `nginx -s reload`). "
                  "Failed requests = wrk's errors plus the probe's; latency: wrk's maximum and p99.9, and "
                  "a probe request every 10 ms (plot). Same sizing as sweep 5. wrk never "
                  "retries: a keep-alive connection the server closes while wrk's next request "
                  "is on its way counts as a failed request (a `read` error). Browsers and most "
                  "HTTP clients retry an idempotent request once on a new connection when that "
                  "happens; the probe does the same, so its failures are the requests such a "
                  "client would really lose, and *retried* counts the races it hit.", ""]
            img("sweep6-graceful.png", "graceful restart")
            rows = []
            for n, runs in s["runs"].items():
                rows.append([n, fmt(med([r["failed_total"] for r in runs])),
                             "; ".join(f"{r['failed']}+{r['probe_failed']} ({r.get('probe_retries', 0)} retried)"
                                       for r in runs),
                             error_kinds(runs),
                             fmt(med([r["max_ms"] for r in runs]), ".0f"),
                             fmt(med([r["p999_ms"] for r in runs]), ".1f"),
                             fmt(med([r["p99_ms"] for r in runs]), ".2f"),
                             fmt(med([r["probe_max_ms"] for r in runs]), ".0f"),
                             fmt(med([r["cmd_s"] for r in runs]), ".2f")
                             + ("" if all(r["cmd_rc"] == 0 for r in runs) else " (failed)")])
            L += [table(["server", "failed (median)", "each rep: wrk + probe (probe requests retried)",
                         "wrk error kinds", "max ms", "p99.9 ms", "p99 ms", "probe max ms",
                         "command took s"], rows), ""]

    # Profile and allocations
    pf = res.get("profile", {})
    L += ["## Profile of the event MPM's hot path", ""]
    if pf.get("symbols"):
        kern = [x for x in pf["symbols"] if "kernel" in x[1]]
        user = [x for x in pf["symbols"] if "kernel" not in x[1]]
        cell = lambda n: "`" + n.replace("|", "\\|")[:120] + "`"  # noqa: E731
        L += [f"`{pf['cmd']}` ({pf['children']} children, {fmt(pf['rps'])} req/s meanwhile); "
              "`perf report --no-children --sort dso,sym` (self time, % of all samples in "
              "the children; symbols from 0.2%).", "",
              "By object:", "",
              table(["self %", "object"], [[f"{p:.1f}", n] for p, n in pf["dsos"]]
                    + [[f"{100 - sum(p for p, _ in pf['dsos']):.1f}",
                        "(symbols under 0.2% each, all objects)"]]), ""]
        L += profile_notes(pf)
        L += ["User-space symbols (Skep, the Swift runtime, libc):", "",
              table(["self %", "object", "symbol"],
                    [[f"{p:.2f}", o, cell(n)] for p, o, n in user[:30]], left=0), "",
              "Kernel symbols (top 10):", "",
              table(["self %", "symbol"], [[f"{p:.2f}", cell(n)] for p, _, n in kern[:10]]), ""]
    else:
        L += [f"Skipped: {pf.get('skipped', 'not run')}.", ""]
    al = res.get("alloc", {})
    L += ["## Allocations per request (static 128 B file, keep-alive)", ""]
    if al.get("runs"):
        L += ["`Benchmarks/perf/malloc_count.c` is built into a small .so and LD_PRELOADed "
              "into the server: it defines malloc, calloc, realloc, free, memalign, "
              "aligned_alloc, posix_memalign, valloc and pvalloc, forwards them to glibc's "
              "`__libc_*`, and counts them in a file every process of the server maps shared "
              "(the same interposition as `Sources/CMallocCounter` in the parser benchmark). "
              "Counts are read after a warm-up, across an idle interval (the background) and "
              "across a wrk run (50 keep-alive connections); per request = (run - idle) / "
              "requests. Goal: 0 in steady state.", "",
              table(["server", "requests", "mallocs/req", "reallocs/req", "frees/req",
                     "bytes/req", "idle interval allocs"],
                    [[n, r["requests"], f"{r['allocs_per_req']:.2f}",
                      f"{r['reallocs_per_req']:.2f}", f"{r['frees_per_req']:.2f}",
                      f"{r['bytes_per_req']:.0f}", r["idle"][0]]
                     for n, r in al["runs"].items()]), ""]
        ev = al["runs"].get("skep-event")
        if ev:
            verdict = "met" if ev["allocs_per_req"] < 0.05 else "not met"
            L += [f"Skep event: {ev['allocs_per_req']:.2f} allocator calls per request: the "
                  f"zero-allocation goal is **{verdict}**.", ""]
    else:
        L += [f"Skipped: {al.get('skipped', 'not run')}.", ""]
    t = res.get("timing", {})
    L += ["## Time per part", "", ", ".join(f"{k} {v / 60:.1f} min" for k, v in t.items()), ""]
    return "\n".join(L)


def error_kinds(runs) -> str:
    tot = {k: sum(r["errors"][k] for r in runs) for k in runs[0]["errors"]}
    return ", ".join(f"{k} {v}" for k, v in tot.items() if v) or "none"


def profile_shares(pf) -> tuple[float, float, dict]:
    """(kernel %, Skep's own %, {group: %}) of all samples, grouped by what the code does."""
    tot = lambda f: sum(p for p, o, n in pf["symbols"] if f(o, n))  # noqa: E731
    groups = {
        "reference counting (swift_retain/release, bridgeObject)":
            lambda o, n: any(x in n for x in ("swift_retain", "swift_release",
                                              "swift_bridgeObjectRe", "swift_unknownObjectRe")),
        "the allocator (malloc/free, swift_allocObject/dealloc)":
            lambda o, n: any(x in n for x in ("malloc", "free", "swift_allocObject",
                                              "swift_deallocObject", "swift_slowAlloc",
                                              "swift_slowDealloc", "_int_", "cfree")),
        "String work (String.*, UTF-8 validation, hashing)":
            lambda o, n: "String" in n or "UTF8" in n or "_allASCII" in n or "Hasher" in n
            or "hash" in n.lower() and "kernel" not in o,
        "dictionary and dynamic casts": lambda o, n: "Dictionary" in n or "dynamicCast" in n
            or "conformsToProtocol" in n,
        "exclusivity checks": lambda o, n: "swift_beginAccess" in n or "swift_endAccess" in n,
        "memcpy/memmove": lambda o, n: "memcpy" in n or "memmove" in n,
    }
    return (tot(lambda o, n: "kernel" in o), tot(lambda o, n: o == "skep"),
            {name: tot(f) for name, f in groups.items()})


def profile_notes(pf) -> list[str]:
    """What the profile shows, in shares of all samples, grouped by what the code does."""
    kern, skep, groups = profile_shares(pf)
    parts = [f"{name} {share:.1f}%" for name, share in groups.items() if share >= 0.1]
    return [f"What it shows: {kern:.0f}% of the samples are in the kernel (loopback TCP "
            f"send/receive, epoll, scheduling of the threads that hand requests over), "
            f"{skep:.0f}% in Skep's own functions. Of all samples: " + "; ".join(parts) + ".",
            ""]


def headline(res) -> list[str]:
    """The ratios the repository README quotes."""
    out = []

    def r(label, a, b, spec=".2f", unit="x"):
        if a is not None and b:
            out.append(f"- {label}: **{a / b:{spec}}{unit}**")

    for mpm in MPMS:
        r(f"Skep {mpm} / Apache {mpm}, keep-alive 128 B, 100 connections (sweep 1)",
          conc(res, f"skep-{mpm}", 100), conc(res, f"apache-{mpm}", 100))
    for mpm in MPMS:
        r(f"Skep {mpm} / Apache {mpm}, `Connection: close` (sweep 3)",
          peers_val(res, f"skep-{mpm}", "close-small", "rps"),
          peers_val(res, f"apache-{mpm}", "close-small", "rps"))
    r("Skep event / nginx, keep-alive 128 B, 100 connections",
      conc(res, "skep-event", 100), conc(res, "nginx", 100))
    lv = 1000
    r(f"Skep prefork / Skep worker memory (PSS) with {lv} connections held",
      mem(res, "skep-prefork", lv), mem(res, "skep-worker", lv))
    r(f"Apache prefork / Apache worker memory (PSS) with {lv} connections held",
      mem(res, "apache-prefork", lv), mem(res, "apache-worker", lv))
    r(f"Skep event / Apache event memory (PSS) with {lv} connections held",
      mem(res, "skep-event", lv), mem(res, "apache-event", lv))
    php = res.get("php", {})
    if php.get("ratio"):
        out.append(f"- Skep event / Apache event, hello.php via PHP-FPM (sweep 4): "
                   f"**{php['ratio']:.2f}x**")
    if out:
        out = ["## Headline ratios", "", "Medians of this run; the ratios are steadier than the "
               "absolute numbers on this shared machine.", ""] + out + [""]
    return out


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--no-plots"]
    d = args[0] if args else "docs/performance"
    with open(os.path.join(d, "results.json")) as f:
        res = json.load(f)
    if "--no-plots" in sys.argv[1:]:
        made = sorted(f for f in os.listdir(d) if f.endswith(".png"))
    else:
        made = plots(res, d)
    with open(os.path.join(d, "README.md"), "w") as f:
        f.write(markdown(res, made))
    print(f"wrote {d}/README.md" + (f" (linking the {len(made)} plots there)"
                                    if "--no-plots" in sys.argv[1:] else
                                    f" and {len(made)} plots"), file=sys.stderr)
