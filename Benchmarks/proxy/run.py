#!/usr/bin/env python3
"""Reverse proxy cost (issue 20): Skep event, Apache event and nginx, each proxying
keep-alive HTTP/1.1 to the same small back end (an nginx serving 128 bytes), with the same
load: `wrk -t2 -cCONNS` for DURATION seconds, ROUNDS rounds alternating the proxies,
medians.

For each proxy: requests per second, p99 latency (wrk --latency), and the proxy's own CPU
per request (utime + stime of every process in its session, from /proc; the back end and
wrk are not counted). Skep and Apache read one generated config (`ProxyPass /app/
http://127.0.0.1:BACKEND/`); nginx gets `proxy_pass` to an upstream with a `keepalive 32`
pool and `proxy_http_version 1.1`, its documented way to keep back-end connections.

    swift build -c release --static-swift-stdlib --product skep
    python3 Benchmarks/proxy/run.py [--duration 10] [--rounds 3] [--conns 50] [--out FILE]

Needs apache2, nginx and wrk. Loopback only; only the processes started here are
signalled, by their process group.
"""
from __future__ import annotations

import argparse
import os
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
import run as perf  # noqa: E402  (Benchmarks/perf/run.py: parse_wrk, session_cpu_seconds)

MODULES = "/usr/lib/apache2/modules"
BODY = b"x" * 127 + b"\n"
PROXIES = ("skep-event", "apache-event", "nginx")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, name: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{name} did not answer on {port}")


def start(cmd: list[str], port: int, name: str, log: str) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "w"), start_new_session=True)
    wait_port(port, proc, name)
    return proc


def stop(proc: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def nginx_conf(top: str, name: str, body: str) -> str:
    path = os.path.join(top, f"{name}.conf")
    with open(path, "w") as f:
        f.write(f"""worker_processes 2;
daemon off;
pid {top}/{name}.pid;
error_log {top}/{name}-error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {top}/{name}-body;
    proxy_temp_path {top}/{name}-proxy;
    fastcgi_temp_path {top}/{name}-fcgi;
    uwsgi_temp_path {top}/{name}-uwsgi;
    scgi_temp_path {top}/{name}-scgi;
    keepalive_requests 100000;
{body}
}}
""")
    return path


def apache_conf(top: str, name: str, mpm_module: str, port: int, backend: int) -> str:
    path = os.path.join(top, f"{name}.conf")
    with open(path, "w") as f:
        f.write(f"""ServerRoot "{top}"
LoadModule mpm_event_module {MODULES}/mod_mpm_event.so
LoadModule authz_core_module {MODULES}/mod_authz_core.so
LoadModule proxy_module {MODULES}/mod_proxy.so
LoadModule proxy_http_module {MODULES}/mod_proxy_http.so
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
PidFile "{top}/{name}.pid"
ErrorLog "{top}/{name}-error.log"
DefaultRuntimeDir "{top}"
LogLevel warn
StartServers 2
ServerLimit 2
ThreadsPerChild 25
MaxRequestWorkers 50
MaxKeepAliveRequests 0
ProxyPass /app/ http://127.0.0.1:{backend}/
""")
    return path


def measure(port: int, proc: subprocess.Popen, lua: str, conns: int, secs: int) -> dict:
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{secs}s", "--timeout", "5s", "-s", lua, f"http://127.0.0.1:{port}/app/small"]
    cpu0 = perf.session_cpu_seconds(proc.pid)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 60)
    r = perf.parse_wrk(p.stdout + p.stderr, cmd)
    r["cpu_us_req"] = (perf.session_cpu_seconds(proc.pid) - cpu0) * 1e6 / max(r["requests"], 1)
    return r


def main(argv) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skep", default=os.path.join(REPO, ".build", "release", "skep"))
    ap.add_argument("--apache", default="/usr/sbin/apache2")
    ap.add_argument("--nginx", default="/usr/sbin/nginx")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--out")
    args = ap.parse_args(argv)

    top = tempfile.mkdtemp(prefix="skep-proxy-bench-")
    os.chmod(top, 0o755)
    docroot = os.path.join(top, "htdocs")
    os.makedirs(docroot)
    with open(os.path.join(docroot, "small"), "wb") as f:
        f.write(BODY)
    lua = os.path.join(top, "bench.lua")
    with open(lua, "w") as f:
        f.write(perf.WRK_LUA)
    backend_port = free_port()
    backend = start([args.nginx, "-c", nginx_conf(top, "backend", f"""    server {{
        listen 127.0.0.1:{backend_port};
        root {docroot};
        location /small {{ default_type text/plain; }}
    }}""")], backend_port, "back end", os.path.join(top, "backend.stderr"))

    proxies = {}
    try:
        for name in PROXIES:
            port = free_port()
            if name == "nginx":
                conf = nginx_conf(top, name, f"""    upstream back {{ server 127.0.0.1:{backend_port}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{port};
        location /app/ {{
            proxy_pass http://back/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}""")
                cmd = [args.nginx, "-c", conf]
            else:
                conf = apache_conf(top, name, "event", port, backend_port)
                cmd = [args.skep if name.startswith("skep") else args.apache, "-f", conf, "-DFOREGROUND"]
            proxies[name] = (cmd, port)

        results: dict[str, list[dict]] = {name: [] for name in PROXIES}
        for round_index in range(args.rounds):
            order = PROXIES[round_index % len(PROXIES):] + PROXIES[:round_index % len(PROXIES)]
            for name in order:
                cmd, port = proxies[name]
                proc = start(cmd, port, name, os.path.join(top, f"{name}.stderr"))
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                        s.sendall(b"GET /app/small HTTP/1.0\r\n\r\n")
                        data = b""
                        while chunk := s.recv(65536):
                            data += chunk
                    if not data.endswith(BODY):
                        raise SystemExit(f"{name} did not relay the back end's body: {data[:200]!r}")
                    measure(port, proc, lua, args.conns, 1)  # warm-up
                    r = measure(port, proc, lua, args.conns, args.duration)
                    results[name].append(r)
                    print(f"round {round_index + 1} {name}: {r['rps']:.0f} req/s, p99 {r['p99_ms']} ms, "
                          f"{r['cpu_us_req']:.1f} us CPU/req, failed {r['failed']}", file=sys.stderr)
                finally:
                    stop(proc)
    finally:
        stop(backend)

    def med(name, key):
        values = [r[key] for r in results[name] if r.get(key) is not None]
        return statistics.median(values) if values else float("nan")

    lines = [f"# Reverse proxy: Skep event, Apache event, nginx ({time.strftime('%Y-%m-%d')})", "",
             f"`python3 Benchmarks/proxy/run.py {' '.join(argv)}`: wrk -t2 -c{args.conns} keep-alive, "
             f"{args.duration} s a run, {args.rounds} rounds alternating the proxies, medians; the back end is an nginx "
             f"serving 128 B (its CPU not counted); {os.cpu_count()} cores.", "",
             "| proxy | req/s | p99 ms | proxy CPU µs/req | req/s × nginx | CPU × nginx |", "|---|---:|---:|---:|---:|---:|"]
    for name in PROXIES:
        lines.append(f"| {name} | {med(name, 'rps'):.0f} | {med(name, 'p99_ms'):.2f} | {med(name, 'cpu_us_req'):.1f} | "
                     f"{med(name, 'rps') / med('nginx', 'rps'):.2f} | {med(name, 'cpu_us_req') / med('nginx', 'cpu_us_req'):.2f} |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
