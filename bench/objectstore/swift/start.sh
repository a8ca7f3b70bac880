#!/usr/bin/env bash
# Starts the Swift bench cluster (runs setup.sh first): memcached, 3x(object, container,
# account) servers, the proxy. "name pid" lines go to $PIDFILE; waits until all are healthy.
set -euo pipefail
. "$(dirname "$0")/env.sh"
bash "$(dirname "$0")/setup.sh" >/dev/null
if [ -s "$PIDFILE" ]; then bash "$(dirname "$0")/stop.sh"; fi
: > "$PIDFILE"
launch() { local name=$1; shift; setsid "$@" >>"$SWIFT_BENCH_ROOT/log/$name.log" 2>&1 < /dev/null & echo "$name $!" >> "$PIDFILE"; }
launch memcached /usr/bin/memcached -u memcache -l 127.0.0.1 -p $SWIFT_BENCH_MEMCACHED_PORT -U 0 -m 64
for n in $(seq 1 $SWIFT_BENCH_NODES); do
  for t in object container account; do launch $t-$n /usr/bin/swift-$t-server "$CONF/$t-$n.conf"; done
done
launch proxy /usr/bin/swift-proxy-server "$CONF/proxy.conf"
urls="http://127.0.0.1:$SWIFT_BENCH_PROXY_PORT/healthcheck"
for n in $(seq 1 $SWIFT_BENCH_NODES); do for t in object container account; do urls="$urls http://127.0.0.1:$(port_of $t $n)/healthcheck"; done; done
deadline=$((SECONDS + 90))
for u in $urls; do
  until curl -fsS -o /dev/null "$u" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "start.sh: $u not healthy; logs in $SWIFT_BENCH_ROOT/log" >&2; exit 1; }
    sleep 0.3
  done
done
until curl -fsS -o /dev/null -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' "http://127.0.0.1:$SWIFT_BENCH_PROXY_PORT/auth/v1.0"; do
  [ $SECONDS -lt $deadline ] || { echo "start.sh: tempauth not answering" >&2; exit 1; }
  sleep 0.3
done
echo "start.sh: Swift up on http://127.0.0.1:$SWIFT_BENCH_PROXY_PORT (test:tester / testing)" >&2
