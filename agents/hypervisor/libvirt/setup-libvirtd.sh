#!/bin/sh
# Prepare a machine (Debian 12, possibly without an init system, e.g. a CI container) so
# ringstack's hypervisor layer can talk to libvirtd at /var/run/libvirt/libvirt-sock.
#
# Idempotent: installs the packages if missing, writes the qemu.conf settings that
# terraform-provider-libvirt's CI uses (qemu runs as root, no relabelling, no security driver),
# then starts virtlogd and libvirtd directly (no systemd) unless they already run, and waits for
# the socket. Must run as root.
set -eu

SOCKET=/var/run/libvirt/libvirt-sock
QEMU_CONF=/etc/libvirt/qemu.conf
# dnsmasq-base serves DHCP on libvirt networks; iptables sets up their NAT.
PACKAGES="libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system libvirt-clients \
libvirt-dev qemu-system-x86 qemu-utils dnsmasq-base iptables"
WAIT_SECONDS=60

if [ "$(id -u)" != 0 ]; then
  echo "setup-libvirtd.sh: must run as root" >&2
  exit 1
fi

# 1. Packages (wait for another apt/dpkg to release its lock instead of failing).
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update
  # shellcheck disable=SC2086
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends $missing
fi

# 2. qemu.conf: set each key once (replace an existing uncommented line, else append).
set_conf() {
  key=$1
  value=$2
  if grep -qE "^[[:space:]]*$key[[:space:]]*=" "$QEMU_CONF"; then
    sed -i -E "s|^[[:space:]]*$key[[:space:]]*=.*|$key = $value|" "$QEMU_CONF"
  else
    printf '%s = %s\n' "$key" "$value" >>"$QEMU_CONF"
  fi
}
conf_before=$(cat "$QEMU_CONF")
set_conf user '"root"'
set_conf group '"root"'
set_conf dynamic_ownership 0
set_conf security_driver '"none"'
conf_changed=0
[ "$conf_before" = "$(cat "$QEMU_CONF")" ] || conf_changed=1

# 3. Daemons, started directly (works with and without an init system). Each writes a pid file;
# a daemon counts as running if the process in its pid file is alive.
pid_of() {
  pidfile=/var/run/$1.pid
  [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && cat "$pidfile"
}
mkdir -p /var/run/libvirt /var/lib/libvirt/images
if [ -z "$(pid_of virtlogd || true)" ]; then
  rm -f /var/run/virtlogd.pid
  virtlogd -d
fi
pid=$(pid_of libvirtd || true)
if [ -n "$pid" ] && [ "$conf_changed" = 1 ]; then
  echo "qemu.conf changed: restarting libvirtd"
  kill "$pid"
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt $WAIT_SECONDS ]; do sleep 1; i=$((i + 1)); done
  pid=""
fi
if [ -z "$pid" ]; then
  rm -f /var/run/libvirtd.pid
  libvirtd -d
fi

# 4. Wait for the socket to accept connections.
i=0
until [ -S "$SOCKET" ] && virsh -c qemu:///system version >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt $WAIT_SECONDS ]; then
    echo "setup-libvirtd.sh: $SOCKET not ready after ${WAIT_SECONDS}s" >&2
    exit 1
  fi
  sleep 1
done
echo "libvirtd ready at $SOCKET ($(virsh -c qemu:///system version --daemon 2>/dev/null | grep -i 'running hypervisor' || true))"
