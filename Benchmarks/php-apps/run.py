#!/usr/bin/env python3
"""PHP applications' shape on Skep and on Apache (issue 18): a WordPress-style front
controller (mod_rewrite rules in `.htaccess` under `AllowOverride All`, or the same rules in
the server config under `AllowOverride None`) in front of a private PHP-FPM pool, the same
generated config, tree and pool for every server.

Cases (each `wrk -t2 -cCONNS` keep-alive: a bounded number of connections for a bounded
time, --conns and --duration):

  static-plain     /wp-content/themes/skep/style.css (a file three directories deep),
                   AllowOverride None, no rewrite rules: the baseline, runs on any server
  static-none      the same file, AllowOverride None, WordPress's rules in <Directory>
  static-htaccess  the same file, AllowOverride All, WordPress's rules in /.htaccess
  php-none         /hello-world/ rewritten to /index.php (a trivial script) through
                   PHP-FPM, rules in <Directory>
  php-htaccess     the same through the rules in /.htaccess

For each: requests per second and the web server's own CPU per request (utime + stime of
every process in the server's session and of the children it reaped, from /proc, before
and after the measured run;
PHP-FPM runs in a session of its own and is not counted). Rounds alternate the servers'
order; medians of --rounds runs are reported.

    swift build -c release --static-swift-stdlib --product skep
    sudo python3 Benchmarks/php-apps/run.py [--servers apache-event,skep-event,skep-prefork] \\
        [--cases static-plain,...] [--duration 10] [--rounds 3] [--conns 32] [--out FILE]

Before each server runs a configuration, `-t` checks it and one request per case checks
the answer (the file's bytes; the front controller's text for an unknown URL, which
proves the rules ran). A server that refuses the configuration or answers wrongly is
reported as such and its cases of that configuration are skipped: until mod_rewrite and
.htaccess are in Skep, only `static-plain` runs there.

Needs apache2, php-fpm and wrk. Loopback only (ports from the kernel's free ones); only
the processes started here are signalled, by their process group.
"""
from __future__ import annotations

import argparse
import os
import re
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
import run as perf  # noqa: E402  (Benchmarks/perf/run.py: log, WRK_LUA, parse_wrk, session_cpu_seconds)

MODULES = "/usr/lib/apache2/modules"
STATIC = "/wp-content/themes/skep/style.css"
PRETTY = "/hello-world/"
FRONT = "front controller\n"

# WordPress's block, as it writes it into .htaccess (without its Authorization line).
RULES = r"""<IfModule mod_rewrite.c>
RewriteEngine On
RewriteBase /
RewriteRule ^index\.php$ - [L]
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_FILENAME} !-d
RewriteRule . /index.php [L]
</IfModule>
"""

# name: (configuration, path)
CASES = {
    "static-plain": ("plain", STATIC),
    "static-none": ("none", STATIC),
    "static-htaccess": ("htaccess", STATIC),
    "php-none": ("none", PRETTY),
    "php-htaccess": ("htaccess", PRETTY),
}
SERVERS = ("apache-event", "skep-event", "skep-prefork", "skep-worker", "apache-prefork", "apache-worker")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def php_fpm_binary() -> str:
    for name in sorted(os.listdir("/usr/sbin"), reverse=True):
        if re.fullmatch(r"php-fpm[0-9.]*", name):
            return "/usr/sbin/" + name
    raise SystemExit("php-fpm is not installed (apt-get install php-fpm)")


def css() -> str:
    """About 2 KiB of a theme's stylesheet."""
    rules = [f".c{i} {{ margin: {i % 7}px; padding: {i % 5}px; color: #{i * 4099 % 0xFFFFFF:06x}; }}\n" for i in range(64)]
    return "/* Theme Name: Skep */\n" + "".join(rules)[:2000] + "\n"


def write(path: str, text: str, mode: int = 0o644) -> None:
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


class Tree:
    """The docroots (one per configuration: only `htaccess` has the .htaccess file), the
    PHP-FPM pool, and the generated configs."""

    def __init__(self, top: str, fpm_children: int):
        self.top = top
        for d in ("conf", "logs", "run"):
            os.makedirs(os.path.join(top, d), mode=0o755)
        if os.getuid() == 0:
            shutil.chown(os.path.join(top, "logs"), "www-data")
        for variant in ("plain", "none", "htaccess"):
            root = self.docroot(variant)
            write(root + STATIC, css())
            write(root + "/index.php", f'<?php echo "{FRONT.strip()}\\n";\n')
            write(root + "/index.html", "index\n")
        write(self.docroot("htaccess") + "/.htaccess", "# BEGIN WordPress\n" + RULES + "# END WordPress\n")
        self.static_bytes = css().encode()
        self.socket = os.path.join(top, "run", "php-fpm.sock")
        self.fpm = self.start_fpm(fpm_children)

    def docroot(self, variant: str) -> str:
        return os.path.join(self.top, "htdocs-" + variant)

    def start_fpm(self, children: int) -> subprocess.Popen:
        user = "www-data" if os.getuid() == 0 else None
        conf = os.path.join(self.top, "conf", "php-fpm.conf")
        account = f"user = {user}\ngroup = {user}\n" if user else ""
        write(conf, f"""[global]
pid = {self.top}/run/php-fpm.pid
error_log = {self.top}/logs/php-fpm.log
daemonize = no
[bench]
{account}listen = {self.socket}
listen.mode = 0666
pm = static
pm.max_children = {children}
""")
        proc = subprocess.Popen([php_fpm_binary(), "-F", "-y", conf], stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(self.top, "logs", "php-fpm.stderr"), "w"),
                                start_new_session=True)
        deadline = time.monotonic() + 15
        while not os.path.exists(self.socket):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"php-fpm did not start; see {self.top}/logs")
            time.sleep(0.05)
        return proc

    def config(self, server: str, variant: str, port: int) -> str:
        kind, mpm = server.split("-")
        root = self.docroot(variant)
        lines = [f'ServerRoot "{self.top}"',
                 f"LoadModule mpm_{mpm}_module {MODULES}/mod_mpm_{mpm}.so",
                 f"LoadModule authz_core_module {MODULES}/mod_authz_core.so",
                 f"LoadModule mime_module {MODULES}/mod_mime.so",
                 f"LoadModule dir_module {MODULES}/mod_dir.so",
                 f"LoadModule proxy_module {MODULES}/mod_proxy.so",
                 f"LoadModule proxy_fcgi_module {MODULES}/mod_proxy_fcgi.so"]
        if variant != "plain":
            lines.append(f"LoadModule rewrite_module {MODULES}/mod_rewrite.so")
        if kind == "apache":
            if os.getuid() == 0:
                lines += ["User www-data", "Group www-data"]
            lines.append(f'DefaultRuntimeDir "{self.top}/run"')
        sizing = (["StartServers 2", "ServerLimit 2", "ThreadsPerChild 25", "MaxRequestWorkers 50"] if mpm != "prefork"
                  else ["StartServers 8", "MinSpareServers 8", "MaxSpareServers 16", "MaxRequestWorkers 50"])
        lines += [f"Listen 127.0.0.1:{port}", "ServerName 127.0.0.1",
                  f'PidFile "{self.top}/run/{server}.pid"', f'ErrorLog "{self.top}/logs/{server}-error.log"',
                  "LogLevel warn", "TypesConfig /etc/mime.types", *sizing, "MaxKeepAliveRequests 0",
                  "DirectoryIndex index.php index.html",
                  f'DocumentRoot "{root}"',
                  '<Directory "/">', "    AllowOverride None", "    Require all denied", "</Directory>",
                  f'<Directory "{root}">',
                  "    AllowOverride All" if variant == "htaccess" else "    AllowOverride None",
                  "    Require all granted"]
        if variant == "none":
            lines += ["    " + line for line in RULES.splitlines()]
        lines += ["</Directory>",
                  '<FilesMatch "^\\.ht">', "    Require all denied", "</FilesMatch>",
                  '<FilesMatch "\\.php$">', f'    SetHandler "proxy:unix:{self.socket}|fcgi://localhost"', "</FilesMatch>"]
        path = os.path.join(self.top, "conf", f"{server}-{variant}.conf")
        write(path, "\n".join(lines) + "\n")
        return path

    def stop(self) -> None:
        stop(self.fpm)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the process group the server leads (start_new_session), SIGKILL after 15 s."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def fetch(port: int, path: str) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    if b"transfer-encoding: chunked" in head.lower():
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2:]
        body = out
    return status, body


class Server:
    def __init__(self, tree: Tree, name: str, binary: str, variant: str):
        self.name, self.variant, self.port = name, variant, free_port()
        self.conf = tree.config(name, variant, self.port)
        self.binary = binary
        self.proc: subprocess.Popen | None = None

    def configtest(self) -> str | None:
        """None when `-t` accepts the config, else its first complaint."""
        p = subprocess.run([self.binary, "-t", "-f", self.conf], capture_output=True, text=True, timeout=60)
        if p.returncode == 0:
            return None
        lines = [ln for ln in (p.stderr + p.stdout).splitlines() if ln.strip() and "Syntax OK" not in ln]
        text = " / ".join(lines[:3]) or f"exit {p.returncode}"
        return text if len(text) <= 200 else text[:197] + "..."

    def start(self) -> None:
        env = dict(os.environ, APACHE_RUN_DIR=os.path.dirname(self.conf))
        self.proc = subprocess.Popen([self.binary, "-f", self.conf, "-DFOREGROUND"], env=env, stdout=subprocess.DEVNULL,
                                     stderr=open(self.conf + ".stderr", "w"), start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {open(self.conf + '.stderr').read()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer on {self.port}")

    def stop(self) -> None:
        if self.proc:
            stop(self.proc)
            self.proc = None


def check(server: Server, tree: Tree, case: str) -> str | None:
    """None when the server answers `case` as it should, else what went wrong."""
    variant, path = CASES[case]
    status, body = fetch(server.port, path)
    if path == STATIC and (status, body) != (200, tree.static_bytes):
        return f"{path}: {status}, {len(body)} bytes"
    if path == PRETTY and (status, body) != (200, FRONT.encode()):
        return f"{path}: {status} {body[:80]!r} (the rewrite rules did not run)"
    return None


def measure(server: Server, lua: str, path: str, conns: int, secs: int) -> dict:
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{secs}s", "--timeout", "5s", "-s", lua,
           f"http://127.0.0.1:{server.port}{path}"]
    assert server.proc is not None
    cpu0 = perf.session_cpu_seconds(server.proc.pid)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 60)
    r = perf.parse_wrk(p.stdout + p.stderr, cmd)
    r["cpu_us_req"] = (perf.session_cpu_seconds(server.proc.pid) - cpu0) * 1e6 / max(r["requests"], 1)
    return r


def main(argv) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skep", default=os.path.join(REPO, ".build", "release", "skep"))
    ap.add_argument("--apache", default="/usr/sbin/apache2")
    ap.add_argument("--servers", default="apache-event,skep-event,skep-prefork",
                    help=f"comma-separated, of {', '.join(SERVERS)}")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated")
    ap.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--fpm-children", type=int, default=8)
    ap.add_argument("--out")
    ap.add_argument("--keep", action="store_true", help="keep the temporary tree (configs, logs)")
    a = ap.parse_args(argv)
    servers = [s for s in a.servers.split(",") if s]
    cases = [c for c in a.cases.split(",") if c]
    for s in servers:
        if s not in SERVERS:
            raise SystemExit(f"unknown server {s}; known: {', '.join(SERVERS)}")
    for c in cases:
        if c not in CASES:
            raise SystemExit(f"unknown case {c}; known: {', '.join(CASES)}")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    binaries = {"apache": a.apache, "skep": os.path.abspath(a.skep)}
    variants = sorted({CASES[c][0] for c in cases})

    top = tempfile.mkdtemp(prefix="skep-php-apps-")
    os.chmod(top, 0o755)
    results: dict[tuple[str, str], list[dict]] = {}
    skipped: dict[tuple[str, str], str] = {}
    tree = None
    try:
        tree = Tree(top, a.fpm_children)
        lua = os.path.join(top, "bench.lua")
        write(lua, perf.WRK_LUA)
        for round_ in range(a.rounds):
            for name in (servers if round_ % 2 == 0 else servers[::-1]):
                for variant in variants:
                    mine = [c for c in cases if CASES[c][0] == variant and (name, c) not in skipped]
                    if not mine:
                        continue
                    server = Server(tree, name, binaries[name.split("-")[0]], variant)
                    refused = server.configtest()
                    if refused:
                        for c in mine:
                            skipped[(name, c)] = f"configtest: {refused}"
                        perf.log(f"{name} {variant}: skipped, {refused}")
                        continue
                    server.start()
                    try:
                        for c in mine:
                            wrong = check(server, tree, c)
                            if wrong:
                                skipped[(name, c)] = wrong
                                perf.log(f"{name} {c}: skipped, {wrong}")
                                continue
                            path = CASES[c][1]
                            measure(server, lua, path, a.conns, 1)  # warm-up: caches, children, FPM
                            r = measure(server, lua, path, a.conns, a.duration)
                            errors = {k: v for k, v in r["errors"].items() if v}
                            perf.log(f"round {round_ + 1} {name} {c}: {r['requests']} requests, {r['rps']:.0f} req/s, "
                                     f"{r['cpu_us_req']:.1f} us server CPU/req, {r['failed']} failed {errors or ''}")
                            results.setdefault((name, c), []).append(r)
                    finally:
                        server.stop()
    finally:
        if tree:
            tree.stop()
        if a.keep:
            perf.log(f"kept {top}")
        else:
            shutil.rmtree(top, ignore_errors=True)

    def med(name: str, case: str, key: str) -> float:
        return statistics.median(r[key] for r in results[(name, case)])

    lines = [f"# PHP applications' shape: {', '.join(servers)} ({time.strftime('%Y-%m-%d')})", "",
             f"`{' '.join(['python3', 'Benchmarks/php-apps/run.py'] + argv)}` — wrk -t2 -c{a.conns} keep-alive, "
             f"{a.duration} s per run, "
             f"{a.rounds} rounds alternating the servers, medians; PHP-FPM pm static {a.fpm_children} children "
             f"(its CPU not counted); {os.cpu_count()} cores.", "",
             "| case | server | req/s | server CPU µs/req | failed |", "|---|---|---:|---:|---:|"]
    for c in cases:
        for name in servers:
            if (name, c) in results:
                failed = sum(r["failed"] for r in results[(name, c)])
                lines.append(f"| {c} | {name} | {med(name, c, 'rps'):.0f} | {med(name, c, 'cpu_us_req'):.1f} | {failed} |")
            else:
                lines.append(f"| {c} | {name} | — | — | skipped: {skipped.get((name, c), 'no result')} |")
        if (("skep-event", c) in results) and (("apache-event", c) in results):
            ratio = med("skep-event", c, "cpu_us_req") / max(med("apache-event", c, "cpu_us_req"), 1e-9)
            lines.append(f"| {c} | **skep-event / apache-event CPU** | | **{ratio:.2f}** | |")
    for name in servers:
        if (name, "static-htaccess") in results and (name, "static-none") in results:
            ratio = med(name, "static-htaccess", "cpu_us_req") / max(med(name, "static-none", "cpu_us_req"), 1e-9)
            lines.append("")
            lines.append(f"{name}: static file's CPU under `AllowOverride All` / under `AllowOverride None`: **{ratio:.2f}**")
    report = "\n".join(lines) + "\n"
    print(report)
    if a.out:
        with open(a.out, "w") as f:
            f.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
