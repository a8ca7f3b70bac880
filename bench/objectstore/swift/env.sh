# Settings shared by the Swift benchmark scripts (sourced). Loopback only; ports chosen away
# from Swift's defaults (6200-6202, 8080) and from the SAIO anchor's (62N0-62N2).
SWIFT_BENCH_ROOT=${SWIFT_BENCH_ROOT:-/tmp/ringstack-swift-bench}
SWIFT_BENCH_NODES=3
SWIFT_BENCH_PART_POWER=10
SWIFT_BENCH_REPLICAS=3
SWIFT_BENCH_PROXY_PORT=${SWIFT_BENCH_PROXY_PORT:-8391}
SWIFT_BENCH_MEMCACHED_PORT=${SWIFT_BENCH_MEMCACHED_PORT:-11391}
# Swift logs to /dev/log, or else by UDP to localhost:514 re-resolving "localhost" per line;
# we point it at a UDP port nobody listens on: logging stays cheap and silent.
SWIFT_BENCH_LOG_UDP_PORT=5591
SWIFT_BENCH_PROXY_WORKERS=${SWIFT_BENCH_PROXY_WORKERS:-auto}
CONF=$SWIFT_BENCH_ROOT/etc
PIDFILE=$SWIFT_BENCH_ROOT/run/pids
port_of() { # type node -> port
  case $1 in object) echo $((6390 + $2 * 10));; container) echo $((6391 + $2 * 10));; account) echo $((6392 + $2 * 10));; esac
}
