#!/usr/bin/env bash
# Starts the Swift written by setup.sh under ROOT: memcached, 3x(object, container, account)
# servers and the proxy, each in its own session; "name pid" lines go to ROOT/run/pids.
# Returns once every /healthcheck answers and tempauth hands out a token (or fails after 90 s).
#   usage: start.sh ROOT      (env as for setup.sh)
set -euo pipefail
ROOT=${1:?usage: start.sh ROOT}
: "${SWIFT_PROXY_PORT:?}" "${SWIFT_MEMCACHED_PORT:?}" "${SWIFT_NODE_PORTS:?}"
ETC=$ROOT/etc
PIDS=$ROOT/run/pids
WAIT_S=90
[ -f "$ETC/proxy.conf" ] || { echo "start.sh: run setup.sh $ROOT first" >&2; exit 1; }
: > "$PIDS"
launch() { # name cmd...
  local name=$1; shift
  setsid "$@" >> "$ROOT/log/$name.log" 2>&1 < /dev/null &
  echo "$name $!" >> "$PIDS"
}
# tempauth keeps its tokens in memcache: a private memcached on its own port.
launch memcached /usr/bin/memcached -u "$(id -un)" -l 127.0.0.1 -p "$SWIFT_MEMCACHED_PORT" -U 0 -m 64
for n in 1 2 3; do
  for type in object container account; do launch "$type-$n" "/usr/bin/swift-$type-server" "$ETC/$type-$n.conf"; done
done
launch proxy /usr/bin/swift-proxy-server "$ETC/proxy.conf"

deadline=$((SECONDS + WAIT_S))
for p in $SWIFT_NODE_PORTS "$SWIFT_PROXY_PORT"; do
  until curl -fsS -o /dev/null "http://127.0.0.1:$p/healthcheck" 2>/dev/null; do
    while read -r name pid; do
      kill -0 "$pid" 2>/dev/null || { echo "start.sh: $name (pid $pid) exited:" >&2; tail -15 "$ROOT/log/$name.log" >&2; exit 1; }
    done < "$PIDS"
    [ $SECONDS -lt $deadline ] || { echo "start.sh: port $p not healthy after ${WAIT_S}s (logs in $ROOT/log)" >&2; exit 1; }
    sleep 0.3
  done
done
curl -fsS -o /dev/null -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' "http://127.0.0.1:$SWIFT_PROXY_PORT/auth/v1.0" \
  || { echo "start.sh: tempauth did not issue a token" >&2; exit 1; }
echo "start.sh: Swift up on 127.0.0.1:$SWIFT_PROXY_PORT ($(wc -l < "$PIDS") processes in $PIDS)"
