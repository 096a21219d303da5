#!/bin/sh
# Starts Skep on the config ../shared/bench/peers.py generates, without its HTTP/2 lines
# (Skep has no mod_http2 yet: issue 21), so the TLS scenarios run over HTTP/1.1 as wrk
# asks for them anyway. From the project's root, after a release build:
#   python3 ../shared/bench/peers.py --only apache-event,nginx,h2o,lighttpd \
#       --server "skep:event=$PWD/Benchmarks/tls/skep-http1.sh {conf}" \
#       --scenarios tls-ka-small,tls-close-small,tls-file-1m --reps 3 --duration 5
conf="$1"
skep="${SKEP:-$(dirname "$0")/../../.build/release/skep}"
sed -e '/http2_module/d' -e 's#Protocols h2 http/1.1#Protocols http/1.1#' "$conf" > "$conf.http1"
exec "$skep" -f "$conf.http1"
