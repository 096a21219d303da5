#!/usr/bin/env python3
"""TLS handshakes per second, full and resumed: Skep against nginx, Apache httpd (event
MPM), h2o and lighttpd, on loopback, with `openssl s_time` (issue 19: "full and resumed
handshakes per second >= nginx's").

    python3 Benchmarks/tls/handshakes.py --skep /work/tmp/bin/skep
    python3 Benchmarks/tls/handshakes.py --quick                  # smoke run, about 2 min
    python3 Benchmarks/tls/handshakes.py --servers skep,nginx --scenarios tls13-full,tls13-resumed

Every server gets the same throw-away ECDSA P-256 certificate and a TLS port, from the
configuration generators of ../shared/bench/peers.py (imported by path, `--peers`); Skep
and Apache read one Apache config (event MPM, 2 children x 25 threads, no mod_http2),
nginx runs 2 workers (auto, on 2 cores), h2o its default thread per core, lighttpd its
single process. Session cache and session tickets are on everywhere.

Each scenario runs CLIENTS parallel `openssl s_time` processes for DURATION seconds
against one server; handshakes/s is the sum of their connection counts over their wall
times. s_time prints one character per connection ('r' when the session was resumed),
which gives the resumption rate of every measurement. The servers' CPU time (utime +
stime of all their processes, /proc/PID/stat) before and after gives the server CPU per
handshake: on a small machine the clients and the server share the cores, so that, and
its ratio to nginx's, is the fairer comparison. Before measuring, one `openssl s_client
-sess_out` / `-sess_in` pair per server and protocol shows whether it resumes at all.

Servers are interleaved in every round (rotated), ROUNDS rounds, medians reported. Python
3.11 standard library only; needs the openssl CLI. Servers run in their own sessions and
only their processes are signalled (Skep is stopped with `skep -k stop` first); they are
stopped on exit, error or Ctrl-C, and the temporary directory is removed unless --keep.
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
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_PEERS = REPO.parent / "shared" / "bench" / "peers.py"
BASE = "nginx"  # the ratios' reference
# Apache and Skep, event MPM: 2 children x 25 threads, all started up front.
EVENT_MPM = [("StartServers", 2), ("ServerLimit", 2), ("ThreadLimit", 25),
             ("ThreadsPerChild", 25), ("MinSpareThreads", 25), ("MaxSpareThreads", 50),
             ("MaxRequestWorkers", 50), ("MaxConnectionsPerChild", 0)]
SKEP_STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Scenario:
    name: str
    proto: str   # s_time's protocol flag: tls1_3 or tls1_2
    mode: str    # new (a full handshake per connection) or reuse (resume one session)
    www: bool    # also GET /index.html on each connection (s_time -www)
    what: str


SCENARIOS = {s.name: s for s in [
    Scenario("tls13-full", "tls1_3", "new", False,
             "TLS 1.3 full handshakes (`s_time -new`): ECDHE + ECDSA P-256 signature, "
             "no request"),
    Scenario("tls13-full-get", "tls1_3", "new", True,
             "TLS 1.3 full handshake + `GET /index.html` (128 B, HTTP/1.0) per connection "
             "(`s_time -new -www`): the reference for tls13-resumed"),
    Scenario("tls13-resumed", "tls1_3", "reuse", True,
             "TLS 1.3 resumed (PSK + ECDHE) handshake + `GET /index.html` per connection "
             "(`s_time -reuse -www`: a TLS 1.3 ticket arrives after the handshake, so "
             "s_time only has one to offer when it reads the response)"),
    Scenario("tls12-full", "tls1_2", "new", False,
             "TLS 1.2 full handshakes (`s_time -new -tls1_2`): ECDHE-ECDSA, no request"),
    Scenario("tls12-resumed", "tls1_2", "reuse", False,
             "TLS 1.2 resumed handshakes (`s_time -reuse -tls1_2`, session ticket: "
             "abbreviated handshake, no key exchange), no request"),
]}
DEFAULT_SCENARIOS = list(SCENARIOS)
ALL_SERVERS = ["skep", "nginx", "apache", "h2o", "lighttpd"]


class BenchError(Exception):
    pass


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load_peers(path: Path):
    """peers.py as a module (its generators, Server and TLS helpers)."""
    if not path.is_file():
        raise BenchError(f"{path} not found (--peers)")
    sys.dont_write_bytecode = True  # no __pycache__ beside peers.py
    spec = importlib.util.spec_from_file_location("peers", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["peers"] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    mod.MPM_CONF["event"] = EVENT_MPM  # this module's copy only
    return mod


# ---------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------
def apache_http1_conf(peers, c) -> str:
    """peers.py's Apache event config without mod_http2 (Skep has none yet: issue 21;
    s_time offers no ALPN anyway), read by both Apache and Skep."""
    out = []
    for line in peers.apache_conf(c, "event").splitlines():
        if "http2_module" in line:
            continue
        out.append(line.replace("Protocols h2 http/1.1", "Protocols http/1.1"))
    return "\n".join(out) + "\n"


def server_defs(peers, a) -> tuple[list, dict[str, str]]:
    """The ServerDefs to run, and why the others are skipped."""
    skipped, defs = {}, []
    builtin = peers.builtin_servers()
    for name in a.servers:
        if name == "skep":
            if not os.access(a.skep, os.X_OK):
                raise BenchError(f"{a.skep} is not an executable (--skep; build with "
                                 "`swift build -c release`)")
            defs.append(peers.ServerDef("skep", f"{shlex.quote(a.skep)} -f {{conf}} -k start",
                                        lambda c: apache_http1_conf(peers, c), "event"))
        elif name == "apache":
            if not os.access(peers.APACHE, os.X_OK):
                skipped[name] = f"{peers.APACHE} not installed (apt-get install apache2)"
                continue
            defs.append(peers.ServerDef("apache", f"{peers.APACHE} -f {{conf}} -DFOREGROUND",
                                        lambda c: apache_http1_conf(peers, c), "event"))
        elif name in ("nginx", "h2o", "lighttpd"):
            d = builtin[name]
            if not shutil.which(d.template.split()[0]):
                skipped[name] = f"{name} not installed (apt-get install {name})"
                continue
            if d.tls_needs[0] and not os.path.exists(d.tls_needs[0]):
                skipped[name] = f"{d.tls_needs[0]} missing ({d.tls_needs[1]})"
                continue
            defs.append(d)
        else:
            raise BenchError(f"unknown server {name!r}; known: {', '.join(ALL_SERVERS)}")
    for n, why in skipped.items():
        log(f"skipping {n}: {why}")
    return defs, skipped


def make_server_class(peers, skep: str):
    class Running(peers.Server):
        """peers.Server; Skep (daemonized by -k start) is stopped with -k stop first."""

        def stop(self) -> None:
            if self.d.name == "skep" and self.proc is not None and self.pids():
                try:
                    p = subprocess.run([skep, "-f", self.conf, "-k", "stop"],
                                       capture_output=True, text=True, timeout=SKEP_STOP_TIMEOUT)
                    if p.returncode:
                        log(f"  skep -k stop: status {p.returncode} {p.stdout}{p.stderr}")
                except subprocess.TimeoutExpired:
                    log("  skep -k stop did not return")
                deadline = time.monotonic() + SKEP_STOP_TIMEOUT
                while self.pids() and time.monotonic() < deadline:
                    time.sleep(0.05)
            super().stop()  # SIGTERM, then SIGKILL, whatever of it is left; reaps
    return Running


def start(peers, cls, d, top: str, doc: str, tls) -> object:
    """A started server (its HTTP and TLS ports answer, within peers' deadline)."""
    for attempt in range(3):
        srv = cls(d, top, doc, "hs", False, tls)
        try:
            srv.start()
            return srv
        except BaseException as e:
            srv.stop()
            if not (isinstance(e, peers.BenchError) and "in use" in str(e) and attempt < 2):
                raise
    raise AssertionError("unreachable")


def version_of(name: str, skep: str, peers) -> str:
    cmd = {"skep": [skep, "-v"], "apache": [peers.APACHE, "-v"], "nginx": ["nginx", "-v"],
           "h2o": ["h2o", "--version"], "lighttpd": ["lighttpd", "-v"]}[name]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (p.stdout + p.stderr).strip()
    m = re.search(r"(Skep/\S+|Apache/\S+|nginx/\S+|h2o version \S+|lighttpd/\S+)", text)
    return m[1] if m else text.splitlines()[0] if text else "?"


def log_lines(path: str) -> list[str]:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


# ---------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------
def s_client_pair(port: int, proto: str, tmp: str) -> dict:
    """Two `openssl s_client` connections, the second offering the first's session:
    what the first negotiated and whether the second says `Reused`."""
    sess = os.path.join(tmp, f"sess-{port}-{proto}.pem")
    req = b"GET /index.html HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
    out = []
    for extra in (["-sess_out", sess], ["-sess_in", sess]):
        cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", f"-{proto}",
               "-ign_eof", *extra]
        try:
            p = subprocess.run(cmd, input=req, capture_output=True, timeout=20)
        except subprocess.TimeoutExpired:
            return {"ok": False, "desc": f"s_client timed out: {shlex.join(cmd)}"}
        out.append(p.stdout.decode("utf-8", "replace"))
        if extra[0] == "-sess_out" and not os.path.exists(sess):
            return {"ok": False, "desc": "no session written by s_client -sess_out"}
    first, second = out

    def grab(rx: str, text: str) -> str:
        m = re.search(rx, text, re.M)
        return m[1].strip() if m else "?"
    status2 = grab(r"^(New|Reused),", second)
    key = grab(r"^(?:Server|Peer) Temp Key: (.*)$", first)
    sig = grab(r"^Peer signature type: (.*)$", first)
    version, cipher = grab(r"^(?:New|Reused), (\S+),", first), grab(r"Cipher is (\S+)", first)
    desc = (f"{version} {cipher}, key exchange {key}, signature {sig}; "
            f"second connection: {status2}")
    return {"ok": status2 == "Reused", "desc": desc, "first": first, "second": second}


def cpu_busy() -> float:
    """CPU seconds the whole machine has used (all cores, idle and iowait excluded)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def s_time_cmd(port: int, sc: Scenario, secs: int, path: str) -> list[str]:
    return ["openssl", "s_time", "-connect", f"127.0.0.1:{port}", f"-{sc.mode}",
            f"-{sc.proto}", "-time", str(secs), *(["-www", path] if sc.www else [])]


RESULT_RX = re.compile(r"^(\d+) connections in [\d.]+s;", re.M)


def run_s_time(srv, sc: Scenario, secs: int, clients: int, path: str) -> dict:
    """CLIENTS parallel s_time runs against srv; rates, resumption, CPU."""
    cmd = s_time_cmd(srv.ctx.tlsport, sc, secs, path)
    res: list[dict] = [{} for _ in range(clients)]

    def one(i: int) -> None:
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 60)
            res[i] = {"rc": p.returncode, "out": p.stdout, "err": p.stderr,
                      "wall": time.monotonic() - t0}
        except subprocess.TimeoutExpired:
            res[i] = {"rc": -1, "out": "", "err": "timed out", "wall": time.monotonic() - t0}

    errlog = srv.ctx.p("logs", "error.log")
    log0, when = len(log_lines(errlog)), time.strftime("%H:%M:%S")
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    srv0, all0, t0 = srv.cpu_seconds(), cpu_busy(), time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    srv_cpu, all_cpu = srv.cpu_seconds() - srv0, cpu_busy() - all0
    cli_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    conns, rate, reused, marked, failures = 0, 0.0, 0, 0, []
    for r in res:
        m = RESULT_RX.search(r["out"])
        if r["rc"] or not m:
            failures.append(f"status {r['rc']}: {' '.join((r['err'] or r['out']).split())[-300:]}")
            continue
        n = int(m[1])
        conns += n
        rate += n / r["wall"]
        marks = "".join(ln.strip() for ln in r["out"].splitlines()
                        if re.fullmatch(r"[*rt3]+", ln.strip()))
        reused += marks.count("r")
        marked += len(marks)
    if failures:
        raise BenchError(f"{srv.d.name} {sc.name}: s_time failed ({shlex.join(cmd)}): "
                         + "; ".join(failures))
    return {"hs": rate, "conns": conns, "reused_pct": 100.0 * reused / max(marked, 1),
            "srv_us": srv_cpu * 1e6 / max(conns, 1), "srv_cores": srv_cpu / wall,
            "cli_cores": cli_cpu / wall,
            "other_cores": max(0.0, all_cpu - srv_cpu - cli_cpu) / wall,
            "errlog_lines": len(log_lines(errlog)) - log0, "at": when}


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------
def med(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v: float | None, spec: str = ".0f") -> str:
    return "—" if v is None else format(v, spec)


def md_table(headers: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def ratio(res: dict, name: str, sc: str, key: str) -> float | None:
    """Median over rounds of this server's value / nginx's in the same round."""
    base = res.get(BASE, {}).get(sc, [])
    return med([r[key] / b[key] for r, b in zip(res[name].get(sc, []), base) if b[key]])


def report(a, argv, res, checks, versions, skipped, errlogs, elapsed, load0) -> str:
    cpus = os.cpu_count()
    L = [f"# TLS handshakes per second, {time.strftime('%Y-%m-%d %H:%M %Z')}", "",
         f"- command: `{shlex.join(['python3', 'Benchmarks/tls/handshakes.py', *argv])}`",
         f"- machine: {cpus} CPUs (nproc), Linux {platform.release()}; load average "
         f"before {' '.join(f'{x:.2f}' for x in load0)}, after "
         f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
         f"- client: {subprocess.run(['openssl', 'version'], capture_output=True, text=True).stdout.strip()}; "
         f"{a.clients} parallel `openssl s_time` per measurement, {a.duration} s each "
         f"(s_time stops at the first whole second after it), {a.rounds} round(s), servers "
         f"rotated in each round, medians; {a.warmup} s warm-up (`s_time -new`) per server "
         "first" + (", took {:.1f} min".format(elapsed / 60) if elapsed else ", INCOMPLETE"),
         "- servers: " + "; ".join(f"{n} = {v}" for n, v in versions.items()),
         "- configs: ../shared/bench/peers.py's generators. Skep and Apache: one Apache "
         "config, event MPM " + ", ".join(f"{k} {v}" for k, v in EVENT_MPM)
         + ", mod_ssl with `SSLProtocol -all +TLSv1.2 +TLSv1.3`, `SSLSessionCache shmcb` "
         "(512000), `SSLSessionTickets on`, no mod_http2; nginx `worker_processes auto` "
         f"({cpus}), `ssl_session_cache shared:SSL:10m`, tickets on; h2o default threads, "
         "`ssl-session-resumption: all`; lighttpd one process, mod_openssl defaults",
         "- certificate: one throw-away ECDSA P-256 certificate for 127.0.0.1 (throw-away CA) "
         "for every server",
         "- columns: handshakes/s = sum over the s_time processes of connections / wall "
         "time; server CPU = utime + stime of all the server's processes over the run, per "
         "handshake; ratios = median over rounds of the round's value / nginx's; resumed = "
         "share of s_time's connections marked `r`; cores = CPU used per wall second by "
         "the server, the s_time clients and everything else; error-log lines = lines the "
         "server added to its error log during the scenario's measurements (all rounds)",
         ""]
    if skipped:
        L += ["- not run: " + "; ".join(f"{n}: {w}" for n, w in skipped.items()), ""]
    L += ["## Resumption check (`openssl s_client -sess_out`, then `-sess_in`)", "",
          md_table(["server", "protocol", "first connection", "resumed"],
                   [[n, p, c["desc"], "yes" if c["ok"] else "**no**"]
                    for (n, p), c in checks.items()]), ""]
    for s in a.scenarios:
        rows = []
        for n, by in res.items():
            if not (runs := by.get(s)):
                continue
            g = lambda k, spec: fmt(med([r[k] for r in runs]), spec)  # noqa: E731
            rows.append([n, g("hs", ".0f"), fmt(ratio(res, n, s, "hs"), ".2f"),
                         g("srv_us", ".0f"), fmt(ratio(res, n, s, "srv_us"), ".2f"),
                         g("reused_pct", ".0f") + " %",
                         f"{g('srv_cores', '.2f')} / {g('cli_cores', '.2f')} / "
                         f"{g('other_cores', '.2f')}",
                         str(sum(r["errlog_lines"] for r in runs)),
                         " ".join(fmt(r["hs"]) for r in runs)])
        if not rows:
            continue
        sc = SCENARIOS[s]
        L += [f"## {s}: {sc.what}", "",
              f"`{shlex.join(s_time_cmd(0, sc, a.duration, a.path)).replace(':0', ':PORT')}`"
              f" x {a.clients}", "",
              md_table(["server", "handshakes/s", "× nginx", "server CPU µs/handshake",
                        "CPU × nginx", "resumed", "cores: server / clients / other",
                        "error-log lines", "handshakes/s each round"], rows), ""]
    if "skep" in res and BASE in res:
        L += ["## Skep against nginx (medians of the per-round ratios)", "",
              md_table(["scenario", "handshakes/s ÷ nginx", "server CPU per handshake ÷ nginx",
                        ">= nginx in handshakes/s", "<= nginx in CPU per handshake"],
                       [[s, fmt(hr := ratio(res, "skep", s, "hs"), ".2f"),
                         fmt(cr := ratio(res, "skep", s, "srv_us"), ".2f"),
                         "—" if hr is None else "yes" if hr >= 1 else "no",
                         "—" if cr is None else "yes" if cr <= 1 else "no"]
                        for s in a.scenarios if res["skep"].get(s)]), ""]
    L += ["## Error logs during the run", ""]
    for n, lines in errlogs.items():
        if not lines:
            L.append(f"- {n}: empty")
            continue
        L += [f"- {n}: {len(lines)} line(s), the last ones:", "", "```",
              *[ln[:300] for ln in lines[-8:]], "```", ""]
    return "\n".join(L) + "\n"


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See Benchmarks/tls/README.md.")
    ap.add_argument("--skep", default=str(REPO / ".build" / "release" / "skep"),
                    help="the Skep binary (.build/release/skep)")
    ap.add_argument("--peers", type=Path, default=DEFAULT_PEERS,
                    help=f"peers.py to take the configs from ({DEFAULT_PEERS})")
    ap.add_argument("--servers", default=",".join(ALL_SERVERS),
                    help="comma list; those not installed are skipped (%(default)s)")
    ap.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                    help="comma list (%(default)s)")
    ap.add_argument("--duration", type=int, default=10, help="seconds per measurement (10)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds; medians reported (3)")
    ap.add_argument("--clients", type=int, default=4,
                    help="parallel s_time processes per measurement (4)")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up seconds per server (2)")
    ap.add_argument("--path", default="/index.html", help="what -www scenarios GET")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: --duration 2 --rounds 1 --warmup 1")
    ap.add_argument("--out", help="the Markdown report "
                    "(Benchmarks/results/tls-handshakes-DATE.md)")
    ap.add_argument("--json", help="also write the raw results here")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory (configs, logs)")
    a = ap.parse_args(argv)
    if a.quick:
        a.duration, a.rounds, a.warmup = 2, 1, 1
    a.servers = [s.strip() for s in a.servers.split(",") if s.strip()]
    a.scenarios = [s.strip() for s in a.scenarios.split(",") if s.strip()]
    if bad := [s for s in a.scenarios if s not in SCENARIOS]:
        ap.error(f"unknown scenario(s) {bad}; known: {', '.join(SCENARIOS)}")
    if min(a.duration, a.rounds, a.clients) < 1 or a.warmup < 0:
        ap.error("--duration, --rounds and --clients must be >= 1")
    a.skep = os.path.abspath(a.skep)
    a.out = a.out or str(REPO / "Benchmarks" / "results"
                         / f"tls-handshakes-{time.strftime('%Y-%m-%d')}.md")
    return a


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    if not shutil.which("openssl"):
        log("the openssl CLI is needed")
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` cleans up
    t_start, load0 = time.monotonic(), os.getloadavg()
    top = tempfile.mkdtemp(prefix="tls-handshakes-")
    os.chmod(top, 0o755)  # the servers' workers may run as www-data
    running: dict[str, object] = {}
    res: dict[str, dict[str, list]] = {}
    checks, versions, errlogs, elapsed = {}, {}, {}, 0.0
    skipped: dict[str, str] = {}
    try:
        peers = load_peers(a.peers)
        defs, skipped = server_defs(peers, a)
        tls, doc = peers.make_tls(top), peers.make_docroot(top)
        cls = make_server_class(peers, a.skep)
        protos = list(dict.fromkeys(SCENARIOS[s].proto for s in a.scenarios))
        for d in defs:
            log(f"starting {d.name}")
            srv = running[d.name] = start(peers, cls, d, top, doc, tls)
            versions[d.name] = version_of(d.name, a.skep, peers)
            log(f"  {versions[d.name]}: HTTP {srv.ctx.port}, TLS {srv.ctx.tlsport}, "
                f"{len(srv.pids())} processes, config {srv.conf}")
            for p in protos:
                c = checks[(d.name, p)] = s_client_pair(srv.ctx.tlsport, p, top)
                log(f"  {p}: {c['desc']}")
            if a.warmup:
                run_s_time(srv, SCENARIOS["tls13-full"], a.warmup, a.clients, a.path)
            res[d.name] = {}
        names = list(running)
        for rnd in range(a.rounds):
            for s in a.scenarios:
                k = (rnd + a.scenarios.index(s)) % len(names)
                for n in names[k:] + names[:k]:
                    r = run_s_time(running[n], SCENARIOS[s], a.duration, a.clients, a.path)
                    res[n].setdefault(s, []).append(r)
                    log(f"{r['at']} round {rnd + 1}/{a.rounds} {s:14} {n:8} {r['hs']:6.0f} hs/s "
                        f"{r['srv_us']:6.0f} µs/hs  resumed {r['reused_pct']:3.0f} %  "
                        f"cores srv {r['srv_cores']:.2f} cli {r['cli_cores']:.2f}"
                        + (f"  error log +{r['errlog_lines']}" if r["errlog_lines"] else ""))
        elapsed = time.monotonic() - t_start
    except (BenchError, KeyboardInterrupt) as e:
        log(f"error: {e}" if isinstance(e, BenchError) else "interrupted")
        return 1
    except Exception as e:  # peers.BenchError and the like: report, clean up
        if type(e).__name__ != "BenchError":
            raise
        log(f"error: {e}")
        return 1
    finally:
        for n, srv in running.items():
            errlogs[n] = log_lines(srv.ctx.p("logs", "error.log")) \
                + log_lines(srv.ctx.p("logs", "stdout.log"))
            srv.stop()
        if res and any(res.values()):
            text = report(a, argv, res, checks, versions, skipped, errlogs, elapsed, load0)
            os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
            with open(a.out, "w") as f:
                f.write(text)
            log(f"report: {a.out}")
            if a.json:
                with open(a.json, "w") as f:
                    json.dump({"results": res, "versions": versions,
                               "checks": {f"{n} {p}": c["desc"] for (n, p), c in checks.items()},
                               "args": vars(a) | {"peers": str(a.peers)}}, f, indent=1)
        if a.keep:
            log(f"kept {top}")
        else:
            shutil.rmtree(top, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
