#!/usr/bin/env bash
# The listener-path benchmark in one command: Skep event answering small static files on
# its listener thread, against the same requests handed to a worker, and against no file
# cache at all, next to Apache httpd event and nginx. About 6 minutes on 2 cores, plus the build.
#
#   Benchmarks/listener/run.sh                         # writes Benchmarks/results/listener-path-DATE.md
#   Benchmarks/listener/run.sh --no-build --no-perf --reps 3 --duration 5 --warmup 1
#   Benchmarks/listener/run.sh --out /tmp/listener.md --shared /path/to/shared
#
# Steps (raw files in .build/listener-bench/UTC-TIME/):
#  1. swift build -c release --static-swift-stdlib --product skep (skipped with --no-build); installs apache2,
#     nginx and wrk with apt-get if missing, and linux-perf unless --no-perf.
#  2. ../shared/bench/peers.py, scenarios ka-small and close-small, --reps 3 --duration 5
#     --warmup 1, with apache-event, nginx and three Skep event servers, all interleaved in
#     every rep, each started by skep-variant.sh on peers.py's generated config plus:
#       skep-event-default     nothing: the listener answers cached small files (a)
#       skep-event-nolistener  ListenerHandlers Off: every request handed to a worker (b)
#       skep-event-nocache     FileCacheSize 0: a worker opens, reads, closes the file (c)
#     -> peers.md (peers.py's report), peers.json (every run).
#  3. profile.py: the three variants again (3 reps x 4 s each scenario): CPU µs/request and
#     context switches/request of the listener thread and of the workers, from
#     /proc/PID/task/TID/schedstat and status; then `perf record -e cpu-clock -g` of the
#     children for (a) and (b) (skipped with --no-perf or without perf) -> profile.json.
#  4. report.py -> the results file: date, machine, load average before/after and sampled
#     every 5 s during the run, the commands, medians and the ratios (a)/(b), (a)/(c),
#     (a)/apache-event, (a)/nginx, the per-thread split, the perf tops, peers.py's report.
#
# Loopback only (ports 18000-18999, peers.py's); only the servers started here are
# signalled (by peers.py's Server.stop), and the load sampler started here, by its PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
typed="Benchmarks/listener/run.sh${*:+ $*}"

build=1 perf=1 reps=3 duration=5 warmup=1
shared="$(dirname "$repo")/shared"
out="Benchmarks/results/listener-path-$(date -u +%F).md"
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) build=0 ;;
        --no-perf) perf=0 ;;
        --reps) reps=$2; shift ;;
        --duration) duration=$2; shift ;;
        --warmup) warmup=$2; shift ;;
        --out) out=$2; shift ;;
        --shared) shared=$2; shift ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1 (--help)" >&2; exit 2 ;;
    esac
    shift
done
peers_py="$shared/bench/peers.py"
[ -f "$peers_py" ] || { echo "no $peers_py (--shared DIR)" >&2; exit 2; }

need=()
for pkg in apache2 nginx wrk; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[ "$perf" = 1 ] && ! command -v perf >/dev/null 2>&1 && need+=(linux-perf)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "$build" = 1 ]; then
    swift build -c release --static-swift-stdlib --product skep >&2
fi
skep="$(swift build -c release --show-bin-path)/skep"
[ -x "$skep" ] || { echo "$skep not found: swift build -c release" >&2; exit 2; }
variant="$repo/Benchmarks/listener/skep-variant.sh"

started=$(date -u '+%Y-%m-%d %H:%M:%S')
dir="$repo/.build/listener-bench/$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$dir"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "results in $dir; load average before: $load_before" >&2
( while :; do echo "$(date -u +%H:%M:%S) $(cut -d' ' -f1-4 /proc/loadavg)"; sleep 5; done ) \
    >"$dir/loadavg.log" &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true' EXIT

peers_args=(--only apache-event,nginx --scenarios ka-small,close-small
    --reps "$reps" --duration "$duration" --warmup "$warmup" --json "$dir/peers.json"
    --server "skep-event-default=$variant $skep {conf}"
    --server "skep-event-nolistener=$variant $skep {conf} 'ListenerHandlers Off'"
    --server "skep-event-nocache=$variant $skep {conf} 'FileCacheSize 0'")
rc=0
python3 "$peers_py" "${peers_args[@]}" >"$dir/peers.md" || rc=$?
[ "$rc" = 0 ] || { echo "peers.py failed ($rc); see $dir" >&2; exit "$rc"; }

perf_variants=default,nolistener
[ "$perf" = 1 ] || perf_variants=
python3 Benchmarks/listener/profile.py --skep "$skep" --shared "$shared" --reps "$reps" \
    --duration 4 --warmup "$warmup" --perf "$perf_variants" --json "$dir/profile.json" || rc=$?
[ "$rc" = 0 ] || echo "profile.py failed ($rc); the report leaves it out" >&2

kill "$sampler" 2>/dev/null || true
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
# peers.py's command as typed from the repository's root (OUT: the run's directory)
shown="python3 ../shared/bench/peers.py"
for arg in "${peers_args[@]}"; do
    arg=${arg//"$dir/"/OUT/}
    arg=${arg//"$skep"/\$PWD/.build/release/skep}
    arg=${arg//"$repo/"/\$PWD/}
    case "$arg" in
        *[\ \'{}]*) shown+=" \"$arg\"" ;;
        *) shown+=" $arg" ;;
    esac
done
mkdir -p "$(dirname "$out")"
python3 Benchmarks/listener/report.py --dir "$dir" --command "$typed" \
    --peers-command "$shown" --started "$started" --finished "$(date -u '+%Y-%m-%d %H:%M:%S')" \
    --load-before "$load_before" --load-after "$load_after" >"$out"
echo "wrote $out (load average after: $load_after)" >&2
