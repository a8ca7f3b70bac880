#!/usr/bin/env bash
# Idempotent: a 3-node, 3-replica Swift (Debian's swift 2.30.1 packages) on loopback, in
# $SWIFT_BENCH_ROOT, to compare with `ringstack objectstore` (also 3 nodes, 3 replicas, part
# power 10). Written for ringstack; the SAIO documentation and Debian's sample configs were the
# guide. Gotchas handled:
#  - swift.conf is always read from /etc/swift/swift.conf (hash prefix/suffix); if one exists
#    it is left alone (another Swift on this host may use it), otherwise a minimal one is written.
#  - the servers drop privileges to user "swift": the device folders must belong to it.
#  - tempauth keeps tokens in memcache: a private memcached runs on its own port.
#  - mount_check = false (plain folders), disable_fallocate = true (tmpfs/overlay friendly).
set -euo pipefail
. "$(dirname "$0")/env.sh"
[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root" >&2; exit 1; }
for b in swift-proxy-server swift-object-server swift-container-server swift-account-server swift-ring-builder memcached; do
  command -v $b >/dev/null || { echo "setup.sh: $b missing: apt-get install -y swift swift-proxy swift-object swift-container swift-account memcached" >&2; exit 1; }
done
mkdir -p "$CONF" "$SWIFT_BENCH_ROOT/run" "$SWIFT_BENCH_ROOT/log"
if ! grep -q '^swift_hash_path_suffix' /etc/swift/swift.conf 2>/dev/null; then
  mkdir -p /etc/swift
  printf '[swift-hash]\nswift_hash_path_prefix = ringstack-bench\nswift_hash_path_suffix = ringstack-bench\n\n[storage-policy:0]\nname = gold\ndefault = yes\n' > /etc/swift/swift.conf
fi
for n in $(seq 1 $SWIFT_BENCH_NODES); do mkdir -p "$SWIFT_BENCH_ROOT/$n/sdb$n"; done
chown -R swift:swift "$SWIFT_BENCH_ROOT"

server_conf() { # type node
  local type=$1 n=$2
  cat > "$CONF/$type-$n.conf" <<CONF
[DEFAULT]
devices = $SWIFT_BENCH_ROOT/$n
mount_check = false
disable_fallocate = true
bind_ip = 127.0.0.1
bind_port = $(port_of $type $n)
workers = 1
user = swift
swift_dir = $CONF
log_udp_host = 127.0.0.1
log_udp_port = $SWIFT_BENCH_LOG_UDP_PORT
log_name = $type-$n

[pipeline:main]
pipeline = healthcheck $type-server

[filter:healthcheck]
use = egg:swift#healthcheck

[app:$type-server]
use = egg:swift#$type

[$type-replicator]
[$type-auditor]
CONF
  if [ "$type" = object ]; then printf '[object-updater]\n[object-reconstructor]\n' >> "$CONF/$type-$n.conf"; fi
  if [ "$type" = container ]; then printf '[container-updater]\n[container-sync]\n[container-sharder]\n' >> "$CONF/$type-$n.conf"; fi
}
for n in $(seq 1 $SWIFT_BENCH_NODES); do for t in object container account; do server_conf $t $n; done; done

cat > "$CONF/proxy.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $SWIFT_BENCH_PROXY_PORT
workers = $SWIFT_BENCH_PROXY_WORKERS
user = swift
swift_dir = $CONF
log_udp_host = 127.0.0.1
log_udp_port = $SWIFT_BENCH_LOG_UDP_PORT
log_name = proxy

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats tempauth slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$SWIFT_BENCH_MEMCACHED_PORT

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF

# Rings: same shape as ringstack's (part power 10, 3 replicas, one zone per node), fixed seed.
cd "$CONF"
for t in object container account; do
  [ -f "$t.ring.gz" ] && continue
  swift-ring-builder $t.builder create $SWIFT_BENCH_PART_POWER $SWIFT_BENCH_REPLICAS 1 >/dev/null
  for n in $(seq 1 $SWIFT_BENCH_NODES); do
    swift-ring-builder $t.builder add r1z$n-127.0.0.1:$(port_of $t $n)/sdb$n 1 >/dev/null
  done
  swift-ring-builder $t.builder rebalance 1 >/dev/null || true
done
chown -R swift:swift "$SWIFT_BENCH_ROOT"
echo "setup.sh: Swift bench cluster configured in $SWIFT_BENCH_ROOT"
