#!/usr/bin/env bash
# Builds the parser benchmark in release mode and runs it: Skep's RequestParser against
# SwiftNIO's HTTPRequestDecoder, printed as Markdown tables (see Benchmarks/README.md).
# Options go to the benchmark: --seconds S --repeats N --warmup S --alloc-iterations K.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --package-path Benchmarks >&2
bin="$(swift build -c release --package-path Benchmarks --show-bin-path)"
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/^Mem:/ {print $2}') GiB memory; $(swift --version 2>/dev/null | head -1)"
echo
"$bin/parser-bench" "$@"
