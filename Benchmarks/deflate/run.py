#!/usr/bin/env python3
"""mod_deflate benchmark: Skep event against Apache event in one run, the same generated
config (Debian's deflate.conf lines, mod_mime, an access log) and the same files.

    swift build -c release --product skep
    Benchmarks/deflate/run.py [--skep .build/release/skep] [--seconds 10] [--connections 50]

Cases (wrk, keep-alive, each server in turn, medians of --rounds runs):
  gzip-100k   GET /page.html (100 KiB of HTML) with Accept-Encoding: gzip
  plain-small GET /small.html (128 B, below mod_deflate's threshold) without it: the
              static small-file fast path with the filter chain configured
Reports requests/s, body bytes per response (wrk's transfer / requests, head included)
and the gzip ratio. Loopback only; only the servers started here are signalled.
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
MODULES = "/usr/lib/apache2/modules"

# Debian's own mod_deflate configuration, as the apache2 package installs it.
DEFLATE_CONF_PATH = "/etc/apache2/mods-available/deflate.conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def page() -> str:
    """About 100 KiB of HTML that compresses as real pages do (about 6:1)."""
    words = ("the server reads apache configuration and answers requests with files "
             "filters compress bodies while event workers wait on sockets").split()
    out, i = [], 0
    while sum(len(x) for x in out) < 100 * 1024:
        line = " ".join(words[(i * 7 + k * 3) % len(words)] for k in range(12))
        out.append(f"<p class=\"c{i % 13}\">{i}: {line}</p>\n")
        i += 1
    return "".join(out)[: 100 * 1024]


def config(kind: str, root: str, port: int, name: str) -> str:
    lines = [f'ServerRoot "{root}"',
             f"LoadModule mpm_event_module {MODULES}/mod_mpm_event.so",
             f"LoadModule authz_core_module {MODULES}/mod_authz_core.so",
             f"LoadModule mime_module {MODULES}/mod_mime.so",
             # A baseline from before mod_deflate existed loads neither (its gzip case is then uncompressed).
             *([] if name == "baseline" else [f"LoadModule filter_module {MODULES}/mod_filter.so",
                                              f"LoadModule deflate_module {MODULES}/mod_deflate.so"]),
             "<IfModule !log_config_module>",
             f"    LoadModule log_config_module {MODULES}/mod_log_config.so",
             "</IfModule>"]
    if kind == "apache":
        if os.getuid() == 0:
            lines += ["User www-data", "Group www-data"]
        lines.append(f'DefaultRuntimeDir "{root}/run"')
    lines += [f"Listen 127.0.0.1:{port}", "ServerName localhost",
              f'PidFile "{root}/run/{name}.pid"', f'ErrorLog "{root}/logs/{name}-error.log"',
              'LogFormat "%h %l %u %t \\"%r\\" %>s %b" common', f'CustomLog "{root}/logs/{name}-access.log" common',
              "TypesConfig /etc/mime.types",
              "StartServers 2", "ThreadsPerChild 25", "MaxRequestWorkers 150", "MaxKeepAliveRequests 0",
              f'DocumentRoot "{root}/htdocs"', f'<Directory "{root}/htdocs">', "    Require all granted", "</Directory>",
              open(DEFLATE_CONF_PATH).read()]
    return "\n".join(lines) + "\n"


def wait_ready(port: int, deadline: float) -> None:
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /small.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                if s.recv(16).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not answer")


def start(kind: str, binary: str, root: str, port: int) -> subprocess.Popen:
    path = f"{root}/conf/{kind}.conf"
    with open(path, "w") as f:
        f.write(config("apache" if kind == "apache" else "skep", root, port, kind))
    os.chmod(path, 0o644)
    args = [binary, "-f", path, "-DFOREGROUND"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(f"{root}/logs/{kind}.stderr", "w"),
                            start_new_session=True)
    wait_ready(port, time.time() + 15)
    return proc


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wrk(port: int, path: str, headers: list[str], seconds: int, connections: int) -> tuple[float, float]:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s"]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run(args + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    scale = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}[m.group(2)]
    return rps, float(m.group(1)) * scale / rps if rps else 0.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skep", default=os.path.join(REPO, ".build/release/skep"))
    ap.add_argument("--apache", default="/usr/sbin/apache2")
    ap.add_argument("--cases", default="gzip-100k,plain-small", help="which cases, comma-separated")
    ap.add_argument("--baseline", help="another skep binary (an earlier commit) measured in the same run")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="skep-deflate-bench")
    os.chmod(root, 0o755)
    for d in ("conf", "logs", "run", "htdocs"):
        os.makedirs(f"{root}/{d}", mode=0o755)
    if os.getuid() == 0:
        shutil.chown(f"{root}/logs", "www-data")
    with open(f"{root}/htdocs/page.html", "w") as f:
        f.write(page())
    with open(f"{root}/htdocs/small.html", "w") as f:
        f.write("x" * 127 + "\n")
    for name in ("page.html", "small.html"):
        os.chmod(f"{root}/htdocs/{name}", 0o644)
    cases = [("gzip-100k", "/page.html", ["Accept-Encoding: gzip"]), ("plain-small", "/small.html", [])]
    cases = [c for c in cases if c[0] in a.cases.split(",")]
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    servers = [("skep", a.skep), ("apache", a.apache)] + ([("baseline", a.baseline)] if a.baseline else [])
    try:
        for _ in range(a.rounds):
            for kind, binary in servers:
                port = free_port()
                proc = start(kind, binary, root, port)
                try:
                    for name, path, headers in cases:
                        wrk(port, path, headers, 1, a.connections)  # warm-up: caches, children
                        results.setdefault((kind, name), []).append(wrk(port, path, headers, a.seconds, a.connections))
                finally:
                    stop(proc)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"# mod_deflate: Skep event vs Apache event, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"wrk -t2 -c{a.connections} -d{a.seconds}s keep-alive, median of {a.rounds}; bytes per response include the head\n")
    print("| case | Skep req/s | Apache req/s | Skep / Apache | Skep bytes/resp | Apache bytes/resp |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, _, _ in cases:
        s = statistics.median(r for r, _ in results[("skep", name)])
        ap_ = statistics.median(r for r, _ in results[("apache", name)])
        sb = statistics.median(b for _, b in results[("skep", name)])
        ab = statistics.median(b for _, b in results[("apache", name)])
        print(f"| {name} | {s:.0f} | {ap_:.0f} | {s / ap_:.2f}x | {sb:.0f} | {ab:.0f} |")
    if a.baseline:
        print("\n| case | Skep req/s | baseline req/s | Skep / baseline |")
        print("|---|---:|---:|---:|")
        for name, _, _ in cases:
            s = statistics.median(r for r, _ in results[("skep", name)])
            b = statistics.median(r for r, _ in results[("baseline", name)])
            print(f"| {name} | {s:.0f} | {b:.0f} | {s / b:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
