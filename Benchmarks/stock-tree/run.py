#!/usr/bin/env python3
"""Debian's stock Apache configuration tree on Skep and on Apache (issue 17): the tree as
the apache2 package installs it (deflate on, the access log on, the event MPM), started
as apache2ctl starts it (`-d CONFDIR -k start`, envvars sourced), the same files served
by both. Two loads, each `wrk -t2 -cCONNS` keep-alive with a browser's
`Accept-Encoding: gzip, deflate`:

  small   Debian's default page, /index.html (10.7 KiB of HTML, compressed by mod_deflate)
  100k    a 100 KiB HTML file (Debian's licence texts), compressed

For each: requests per second, the servers' CPU per request (every process of the server,
from /proc), and bytes per response. Rounds alternate the servers; medians are quoted,
with the ratio Skep / Apache from the same run.

    swift build -c release --static-swift-stdlib --product skep
    sudo python3 Benchmarks/stock-tree/run.py [--duration 10] [--rounds 3] [--conns 50] \
        [--skep .build/release/skep] [--out Benchmarks/results/stock-tree-DATE.md]

Needs root (the stock tree's User www-data), apache2, wrk and network access for
`apt-get download apache2`. The tree lives in a temporary directory: only ports.conf's
Listen, the default site's `*:80` and envvars' run, lock and log paths are changed. The
100 KiB file is written into /var/www/html (the tree's DocumentRoot) and removed at the
end. Loopback only; only the servers started here are signalled.
"""
from __future__ import annotations

import argparse
import html
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "Benchmarks", "perf"))
sys.dont_write_bytecode = True
import run as perf  # noqa: E402  (Benchmarks/perf/run.py: log, WRK_LUA, parse_wrk)

POSTINST_MODULES = ["mpm_event", "authz_host", "auth_basic", "access_compat", "authn_file", "authz_user",
                    "alias", "dir", "autoindex", "env", "mime", "negotiation", "setenvif",
                    "filter", "deflate", "status", "reqtimeout"]
POSTINST_CONFS = ["charset", "localized-error-pages", "other-vhosts-access-log", "security", "serve-cgi-bin"]
DOCROOT = "/var/www/html"
BIG = "skep-stock-tree-100k.html"
LOADS = [("small", "/index.html"), ("100k", "/" + BIG)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rewrite(path: str, old: str, new: str) -> None:
    with open(path) as f:
        text = f.read()
    if old not in text:
        raise SystemExit(f"{path} no longer holds {old!r}")
    with open(path, "w") as f:
        f.write(text.replace(old, new))


class Tree:
    """The apache2 package's /etc/apache2, enabled as its postinst does on a fresh install."""

    def __init__(self, top: str, port: int):
        self.top, self.port = top, port
        self.confdir = os.path.join(top, "etc", "apache2")
        debs = os.path.join(top, "deb")
        os.makedirs(debs)
        subprocess.run(["apt-get", "download", "-q", "apache2"], cwd=debs, check=True, capture_output=True)
        deb = next(os.path.join(debs, n) for n in os.listdir(debs) if n.endswith(".deb"))
        subprocess.run(["dpkg-deb", "-x", deb, top], check=True)
        for name in ("run", "lock", "log", "state"):
            os.makedirs(os.path.join(top, name))
        rewrite(os.path.join(self.confdir, "ports.conf"), "Listen 80\n", f"Listen 127.0.0.1:{port}\n")
        rewrite(os.path.join(self.confdir, "sites-available", "000-default.conf"), "<VirtualHost *:80>", f"<VirtualHost *:{port}>")
        envvars = os.path.join(self.confdir, "envvars")
        for var, path in (("RUN_DIR", "run"), ("LOCK_DIR", "lock"), ("LOG_DIR", "log")):
            old = {"RUN_DIR": "/var/run/apache2$SUFFIX", "LOCK_DIR": "/var/lock/apache2$SUFFIX",
                   "LOG_DIR": "/var/log/apache2$SUFFIX"}[var]
            rewrite(envvars, f"export APACHE_{var}={old}", f"export APACHE_{var}={os.path.join(top, path)}")
        rewrite(envvars, "export APACHE_PID_FILE=/var/run/apache2$SUFFIX/apache2.pid",
                f"export APACHE_PID_FILE={self.pid_file}")
        self.env = self.sourced_env()
        subprocess.run(["a2enmod", "-m", "-q"] + POSTINST_MODULES, env=self.env, check=True)
        subprocess.run(["a2enconf", "-m", "-q"] + POSTINST_CONFS, env=self.env, check=True)
        subprocess.run(["a2ensite", "-q", "000-default"], env=self.env, check=True)

    @property
    def pid_file(self) -> str:
        return os.path.join(self.top, "run", "apache2.pid")

    def sourced_env(self) -> dict:
        base = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C",
                "APACHE_CONFDIR": self.confdir}
        out = subprocess.run(["sh", "-c", 'set -a; . "$APACHE_CONFDIR/envvars"; env'], env=base,
                             check=True, capture_output=True, text=True).stdout
        env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        env["APACHE_STATE_DIRECTORY"] = os.path.join(self.top, "state")
        return env

    def master(self) -> int | None:
        try:
            pid = int(open(self.pid_file).read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def start(self, binary: str) -> None:
        subprocess.run([binary, "-d", self.confdir, "-k", "start"], env=self.env, check=True,
                       capture_output=True, timeout=60)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"{binary} did not answer on {self.port}")

    def stop(self) -> None:
        pid = self.master()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.master() is not None:
            time.sleep(0.05)
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                time.sleep(0.05)
            except OSError:
                return

    def cpu_seconds(self) -> float:
        """CPU of every process in the master's session (the master and its children)."""
        return perf.session_cpu_seconds(self.master())


def hundred_kib_html() -> str:
    """100 KiB of HTML that compresses as prose does (about 3:1), not as one page repeated
    (which gzip's 32 KiB window shrinks to almost nothing): the licence texts Debian ships."""
    texts = []
    for name in sorted(os.listdir("/usr/share/common-licenses")):
        path = os.path.join("/usr/share/common-licenses", name)
        if os.path.isfile(path):
            with open(path, errors="replace") as f:
                texts.append(html.escape(f.read()))
    body = "".join(f"<p>{t}</p>\n" for t in texts)
    head = "<!DOCTYPE html>\n<html><head><title>100 KiB</title></head><body>\n"
    return (head + body * (102400 // max(len(body), 1) + 1))[:102400 - 15] + "</body></html>\n"


def measure(tree: Tree, lua: str, path: str, conns: int, secs: int) -> dict:
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{secs}s", "--timeout", "5s", "-s", lua,
           "-H", "Accept-Encoding: gzip, deflate", f"http://127.0.0.1:{tree.port}{path}"]
    cpu0 = tree.cpu_seconds()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 60)
    r = perf.parse_wrk(p.stdout + p.stderr, cmd)
    r["cpu_us_req"] = (tree.cpu_seconds() - cpu0) * 1e6 / max(r["requests"], 1)
    r["bytes_resp"] = r["mbps"] * 1e6 / max(r["rps"], 1e-9)  # (bytes / µs) / (requests / s)
    return r


def main(argv) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skep", default=os.path.join(REPO, ".build", "release", "skep"))
    ap.add_argument("--apache", default="/usr/sbin/apache2")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("run as root: the stock tree's children run as www-data")
    skep = os.path.abspath(a.skep)
    top = tempfile.mkdtemp(prefix="skep-stock-tree-")
    os.chmod(top, 0o755)
    big = os.path.join(DOCROOT, BIG)
    servers = [("apache", a.apache), ("skep", skep)]
    results = {name: {load: [] for load, _ in LOADS} for name, _ in servers}
    try:
        tree = Tree(top, free_port())
        with open(big, "w") as f:
            f.write(hundred_kib_html())
        lua = os.path.join(top, "bench.lua")
        with open(lua, "w") as f:
            f.write(perf.WRK_LUA)
        for round_ in range(a.rounds):
            for name, binary in (servers if round_ % 2 == 0 else servers[::-1]):
                tree.start(binary)
                try:
                    for load, path in LOADS:
                        measure(tree, lua, path, a.conns, 1)  # warm-up: caches, children
                        r = measure(tree, lua, path, a.conns, a.duration)
                        perf.log(f"round {round_ + 1} {name} {load}: {r['rps']:.0f} req/s, "
                                 f"{r['cpu_us_req']:.1f} us CPU/req, {r['bytes_resp']:.0f} B/resp, {r['failed']} failed")
                        results[name][load].append(r)
                finally:
                    tree.stop()
    finally:
        if os.path.exists(big):
            os.unlink(big)
        shutil.rmtree(top, ignore_errors=True)

    def med(name, load, key):
        return statistics.median(r[key] for r in results[name][load])

    lines = [f"# Debian's stock tree: Skep event vs Apache event ({time.strftime('%Y-%m-%d')})", "",
             f"`{' '.join(['python3', 'Benchmarks/stock-tree/run.py'] + argv)}` — wrk -t2 -c{a.conns}, "
             f"{a.duration} s per run, {a.rounds} rounds alternating the servers, medians; "
             f"Accept-Encoding: gzip, deflate; {os.cpu_count()} cores.", "",
             "| load | server | req/s | CPU µs/req | bytes/resp | failed |", "|---|---|---:|---:|---:|---:|"]
    for load, _ in LOADS:
        for name, _ in servers:
            failed = sum(r["failed"] for r in results[name][load])
            lines.append(f"| {load} | {name} | {med(name, load, 'rps'):.0f} | {med(name, load, 'cpu_us_req'):.1f} | "
                         f"{med(name, load, 'bytes_resp'):.0f} | {failed} |")
        lines.append(f"| {load} | **skep / apache** | **{med('skep', load, 'rps') / med('apache', load, 'rps'):.2f}x** | "
                     f"**{med('apache', load, 'cpu_us_req') / med('skep', load, 'cpu_us_req'):.2f}x less** | | |")
    report = "\n".join(lines) + "\n"
    print(report)
    if a.out:
        with open(a.out, "w") as f:
            f.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
