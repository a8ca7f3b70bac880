#!/usr/bin/env bash
# Writes a throw-away OpenStack Swift (Debian packages) under ROOT for ringstack's tests and
# for bench/objectstore: 3 storage nodes (object/container/account server each), rings with 3
# replicas, and a proxy with s3api + tempauth (test:tester / testing) on 127.0.0.1. Nothing is
# started here.
#   usage: setup.sh ROOT
#   env:   SWIFT_PROXY_PORT, SWIFT_MEMCACHED_PORT, SWIFT_LOG_UDP_PORT (all required),
#          SWIFT_NODE_PORTS="obj1 cont1 acct1 obj2 cont2 acct2 obj3 cont3 acct3" (required),
#          SWIFT_PART_POWER (default 8; the bench uses 10, like ringstack's ring),
#          SWIFT_PROXY_WORKERS (default 1; the bench uses auto = one per core)
# Swift reads /etc/swift/swift.conf at a hard-coded path: it is written only if it has no hash
# path settings yet (the Debian original is kept as swift.conf.ringstack-orig), so another
# Swift on this machine (the SAIO anchor, the bench) keeps its hash.
set -euo pipefail
ROOT=${1:?usage: setup.sh ROOT}
: "${SWIFT_PROXY_PORT:?}" "${SWIFT_MEMCACHED_PORT:?}" "${SWIFT_LOG_UDP_PORT:?}" "${SWIFT_NODE_PORTS:?}"
NODES=3
REPLICAS=3
PART_POWER=${SWIFT_PART_POWER:-8}
PROXY_WORKERS=${SWIFT_PROXY_WORKERS:-1}
RUN_AS=$(id -un)
read -r -a PORTS <<< "$SWIFT_NODE_PORTS"
[ "${#PORTS[@]}" = $((NODES * 3)) ] || { echo "setup.sh: SWIFT_NODE_PORTS needs $((NODES * 3)) ports" >&2; exit 1; }
for b in swift-proxy-server swift-object-server swift-container-server swift-account-server swift-ring-builder memcached; do
  command -v "$b" >/dev/null || { echo "setup.sh: $b not installed (apt-get install swift swift-proxy swift-object swift-container swift-account memcached)" >&2; exit 1; }
done

if ! grep -Eq '^swift_hash_path_(suffix|prefix) *= *[^ ]' /etc/swift/swift.conf 2>/dev/null; then
  mkdir -p /etc/swift
  [ -f /etc/swift/swift.conf ] && [ ! -f /etc/swift/swift.conf.ringstack-orig ] && cp -p /etc/swift/swift.conf /etc/swift/swift.conf.ringstack-orig
  printf '[swift-hash]\nswift_hash_path_prefix = ringstack-test\nswift_hash_path_suffix = ringstack-test\n\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n' > /etc/swift/swift.conf.tmp
  mv /etc/swift/swift.conf.tmp /etc/swift/swift.conf
fi

ETC=$ROOT/etc
mkdir -p "$ETC" "$ROOT/run" "$ROOT/log"
port() { echo "${PORTS[$(( ($1 - 1) * 3 + $2 ))]}"; }   # node, 0=object 1=container 2=account

# mount_check = false: devices are plain folders; disable_fallocate = true: tmpfs/overlay
# friendly; logs go by UDP to a port nobody reads (without /dev/log Swift would send them to
# localhost:514 and resolve "localhost" on every line).
common() { # name port devices [workers]
  cat <<CONF
[DEFAULT]
devices = $3
mount_check = false
disable_fallocate = true
bind_ip = 127.0.0.1
bind_port = $2
workers = ${4:-1}
user = $RUN_AS
swift_dir = $ETC
log_name = $1
log_udp_host = 127.0.0.1
log_udp_port = $SWIFT_LOG_UDP_PORT
CONF
}
for n in $(seq 1 $NODES); do
  mkdir -p "$ROOT/node$n/d$n"
  i=0
  for type in object container account; do
    { common "$type-$n" "$(port "$n" $i)" "$ROOT/node$n"
      printf '\n[pipeline:main]\npipeline = healthcheck %s-server\n\n[filter:healthcheck]\nuse = egg:swift#healthcheck\n\n[app:%s-server]\nuse = egg:swift#%s\n' "$type" "$type" "$type"
      printf '\n[%s-replicator]\n[%s-auditor]\n' "$type" "$type"
    } > "$ETC/$type-$n.conf"
    i=$((i + 1))
  done
done

{ common proxy "$SWIFT_PROXY_PORT" "$ROOT" "$PROXY_WORKERS"
  cat <<CONF

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$SWIFT_MEMCACHED_PORT
memcache_max_connections = 16

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
access_log_udp_host = 127.0.0.1
access_log_udp_port = $SWIFT_LOG_UDP_PORT
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF
} > "$ETC/proxy.conf"

# All three rings in one Python process (swift-ring-builder costs ~2 s per call here).
/usr/bin/python3 - "$ETC" $PART_POWER $REPLICAS "${PORTS[@]}" <<'PY'
import sys
from swift.common.ring import RingBuilder
etc, part_power, replicas, ports = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [int(p) for p in sys.argv[4:]]
for offset, kind in enumerate(('object', 'container', 'account')):
    b = RingBuilder(part_power, replicas, 1)
    for n in range(len(ports) // 3):
        port = ports[n * 3 + offset]
        b.add_dev({'id': n, 'region': 1, 'zone': n + 1, 'ip': '127.0.0.1', 'port': port,
                   'replication_ip': '127.0.0.1', 'replication_port': port, 'device': 'd%d' % (n + 1), 'weight': 1, 'meta': ''})
    b.rebalance(seed=7)
    b.save('%s/%s.builder' % (etc, kind))
    b.get_ring().save('%s/%s.ring.gz' % (etc, kind))
PY
echo "setup.sh: Swift configured under $ROOT (proxy 127.0.0.1:$SWIFT_PROXY_PORT)"
