#!/bin/sh
# skep-variant.sh SKEP CONF [DIRECTIVE]...
#
# Starts Skep on a copy of CONF with each DIRECTIVE (one argument each, e.g.
# 'ListenerHandlers Off' or 'FileCacheSize 0') appended at the end, at the top level.
# Made for peers.py's `--server NAME=CMD`, whose {conf} is the generated Apache config:
#
#   peers.py --server "skep-event-nocache=Benchmarks/listener/skep-variant.sh \
#       $PWD/.build/release/skep {conf} 'FileCacheSize 0'"
#
# The copy (CONF's name with -variant before .conf) sits beside CONF, in that start's own
# directory, so every relative path in it means what it meant in CONF. The script then
# execs Skep in its place: the same process id, the same session and environment (the
# token peers.py finds its servers by), stdout/stderr unchanged, in the foreground as
# `skep -f CONF` runs, so peers.py's SIGTERM reaches Skep's master directly.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 SKEP CONF [DIRECTIVE]..." >&2
    exit 2
fi
skep=$1 conf=$2
shift 2
case $conf in
    *.conf) copy=${conf%.conf}-variant.conf ;;
    *) copy=$conf-variant.conf ;;
esac
{
    cat "$conf"
    printf '\n# Appended by skep-variant.sh\n'
    for directive in "$@"; do
        printf '%s\n' "$directive"
    done
} > "$copy"
exec "$skep" -f "$copy"
