#!/usr/bin/env bash
# Builds and runs the regex micro-benchmark (Benchmarks/regex/main.swift) with -O: Skep's
# PCRERegex (compiled from Sources/SkepConfig/Regex, against the system's PCRE2) against
# the standard library's Regex, with the allocator calls per match counted by
# Benchmarks/Sources/CMallocCounter. Argument: seconds per measurement (default 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.build/regex-bench
mkdir -p "$out"
cat > "$out/module.modulemap" <<MAP
module CMallocCounter { header "$PWD/Benchmarks/Sources/CMallocCounter/include/malloc_counter.h" export * }
MAP
cc -O2 -I Benchmarks/Sources/CMallocCounter/include -c Benchmarks/Sources/CMallocCounter/malloc_counter.c -o "$out/malloc_counter.o"
swiftc -O -module-name RegexBench -I Sources/CPCRE2 -I "$out" \
    Sources/SkepConfig/Regex/*.swift Benchmarks/regex/main.swift "$out/malloc_counter.o" \
    -o "$out/regex-bench"
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')); $(swift --version 2>/dev/null | head -1)"
"$out/regex-bench" "$@"
