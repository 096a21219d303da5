#!/usr/bin/env python3
"""hello.php through PHP-FPM: Skep event against Apache event with mod_proxy_fcgi.

Both servers get the same generated config (event MPM, `SetHandler "proxy:unix:...|fcgi://localhost"`
in `<FilesMatch "\\.php$">`) and the same private PHP-FPM pool, started here and stopped at the
end. The servers are interleaved in each repetition; the report gives medians and the
median of the per-repetition ratios. Loopback only; every run is bounded by --duration.

    python3 Benchmarks/php/php-fpm-bench.py --skep .build/release/skep [--reps 3] [--duration 5]
"""
import argparse, os, pwd, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

APACHE_MODULES = "/usr/lib/apache2/modules"


def php_fpm_binary():
    for name in sorted(os.listdir("/usr/sbin"), reverse=True):
        if re.fullmatch(r"php-fpm[0-9.]*", name):
            return "/usr/sbin/" + name
    sys.exit("php-fpm is not installed (apt-get install php-fpm)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    sys.exit(f"timed out waiting for {what}")


def answers(port, path="/hello.php"):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            return data.startswith(b"HTTP/1.1 200") and b"Hello, World!" in data
    except OSError:
        return False


def server_config(kind, root, port, socket_path, threads, children):
    as_root = os.getuid() == 0
    lines = [
        f'ServerRoot "{root}"',
        f"LoadModule mpm_event_module {APACHE_MODULES}/mod_mpm_event.so",
        f"LoadModule authz_core_module {APACHE_MODULES}/mod_authz_core.so",
        f"LoadModule proxy_module {APACHE_MODULES}/mod_proxy.so",
        f"LoadModule proxy_fcgi_module {APACHE_MODULES}/mod_proxy_fcgi.so",
    ]
    if kind == "apache":
        if as_root:
            lines += ["User www-data", "Group www-data"]
        lines.append(f'DefaultRuntimeDir "{root}/run"')
    lines += [
        f"Listen 127.0.0.1:{port}",
        "ServerName 127.0.0.1",
        f'PidFile "{root}/run/{kind}.pid"',
        f'ErrorLog "{root}/logs/{kind}-error.log"',
        "LogLevel warn",
        f"StartServers {children}", f"ServerLimit {children}", f"ThreadLimit {threads}",
        f"ThreadsPerChild {threads}", f"MaxRequestWorkers {children * threads}",
        f"MinSpareThreads {threads}", f"MaxSpareThreads {children * threads}",
        "KeepAliveTimeout 30", "MaxKeepAliveRequests 1000",
        f'DocumentRoot "{root}/htdocs"',
        f'<Directory "{root}/htdocs">', "    Require all granted", "</Directory>",
        '<FilesMatch "\\.php$">',
        f'    SetHandler "proxy:unix:{socket_path}|fcgi://localhost"',
        "</FilesMatch>",
    ]
    path = f"{root}/conf/{kind}.conf"
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def start_php_fpm(root, children):
    socket_path = f"{root}/run/php-fpm.sock"
    user = "www-data" if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
    conf = f"{root}/conf/php-fpm.conf"
    with open(conf, "w") as f:
        f.write(f"""[global]
pid = {root}/run/php-fpm.pid
error_log = {root}/logs/php-fpm.log
daemonize = no
[bench]
user = {user}
group = {user}
listen = {socket_path}
listen.mode = 0666
pm = static
pm.max_children = {children}
""")
    args = [php_fpm_binary(), "-F", "-y", conf]
    if os.getuid() == 0:
        args.append("-R")
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: os.path.exists(socket_path), 10, "php-fpm's socket")
    return process, socket_path


def start_server(kind, binary, config, port):
    if kind == "apache":
        env = dict(os.environ, APACHE_RUN_DIR=os.path.dirname(config))
        process = subprocess.Popen(["/usr/sbin/apache2", "-f", config, "-DFOREGROUND"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        process = subprocess.Popen([binary, "-f", config, "-DFOREGROUND"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: answers(port), 15, f"{kind} to serve hello.php")
    return process


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wrk(port, connections, seconds):
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
                          f"http://127.0.0.1:{port}/hello.php"], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return rate, (int(errors.group(1)) if errors else 0), (socket_errors.group(1) if socket_errors else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skep", required=True, help="the skep binary (build with -c release)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds per measured run")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--fpm-children", type=int, default=8)
    ap.add_argument("--threads", type=int, default=25, help="ThreadsPerChild of both servers")
    ap.add_argument("--children", type=int, default=2, help="StartServers/ServerLimit of both servers")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")

    root = tempfile.mkdtemp(prefix="skep-php-bench-")
    for d in ("conf", "run", "logs", "htdocs"):
        os.makedirs(f"{root}/{d}")
    os.chmod(root, 0o755)
    with open(f"{root}/htdocs/hello.php", "w") as f:
        f.write('<?php echo "Hello, World!\\n";\n')
    os.chmod(f"{root}/htdocs", 0o755)
    os.chmod(f"{root}/htdocs/hello.php", 0o644)
    os.chmod(f"{root}/logs", 0o777)

    fpm, socket_path = start_php_fpm(root, args.fpm_children)
    results = {"apache-event": [], "skep-event": []}
    try:
        for rep in range(args.reps):
            for name in results:
                kind = name.split("-")[0]
                port = free_port()
                config = server_config(kind, root, port, socket_path, args.threads, args.children)
                server = start_server(kind, args.skep, config, port)
                try:
                    wrk(port, args.connections, args.warmup)
                    rate, non2xx, socket_errors = wrk(port, args.connections, args.duration)
                finally:
                    stop(server)
                results[name].append((rate, non2xx, socket_errors))
                print(f"rep {rep + 1} {name}: {rate:.0f} req/s", file=sys.stderr)
    finally:
        stop(fpm)
        shutil.rmtree(root, ignore_errors=True)

    apache = [r[0] for r in results["apache-event"]]
    skep = [r[0] for r in results["skep-event"]]
    ratios = [s / a for s, a in zip(skep, apache)]
    print(f"## hello.php through PHP-FPM, {time.strftime('%Y-%m-%d %H:%M')}\n")
    print(f"- host: {os.cpu_count()} CPUs; php-fpm: {os.path.basename(php_fpm_binary())}, pm static, "
          f"{args.fpm_children} children, one Unix socket shared by both servers")
    print(f"- both servers: event MPM, {args.children} children x {args.threads} threads, "
          f"`SetHandler \"proxy:unix:...|fcgi://localhost\"`")
    print(f"- client: `wrk -t2 -c{args.connections} -d{args.duration}s`, {args.reps} reps, servers interleaved\n")
    print("| server | req/s (median) | req/s each rep | errors |")
    print("|---|---:|---|---|")
    for name, runs in results.items():
        errors = sum(r[1] for r in runs)
        sockets = "; ".join(r[2] for r in runs if r[2])
        print(f"| {name} | {statistics.median(r[0] for r in runs):.0f} | {' '.join(f'{r[0]:.0f}' for r in runs)} | "
              f"{errors or 'none'}{' ' + sockets if sockets else ''} |")
    print(f"\nSkep / Apache, median of the per-rep ratios: **{statistics.median(ratios):.2f}x**")


if __name__ == "__main__":
    main()
