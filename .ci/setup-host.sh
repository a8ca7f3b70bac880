#!/usr/bin/env bash
# Prepares a fresh Debian/Ubuntu machine (as root) for ringstack and its test suite:
# Debian packages (libvirt + qemu under TCG, OpenStack Swift and clients used as test oracles
# and benchmark anchors), then starts virtlogd and libvirtd. Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup-host: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

PACKAGES=(
  # hypervisor: libvirt with qemu (TCG when there is no KVM), NAT networks with dnsmasq
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system libvirt-clients libvirt-dev
  qemu-system-x86 qemu-utils dnsmasq-base iproute2 iptables
  # OpenStack Swift 2.30.1: ring oracle in tests, anchor in benchmarks, external S3 store
  python3-swift swift swift-proxy swift-object swift-container swift-account memcached
  # reference clients driven by the tests
  python3-swiftclient awscli s3cmd python3-boto3
  # independent observers and helpers in tests
  procps psmisc curl ca-certificates git genisoimage util-linux
  # the examples README reads credentials and status JSON with jq
  jq
  # the dashboard test drives Debian's Chromium with playwright-core
  chromium
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# libvirtd and virtlogd, configured as terraform-provider-libvirt's CI does (root, no relabel).
if [ -x agents/hypervisor/libvirt/setup-libvirtd.sh ] || [ -f agents/hypervisor/libvirt/setup-libvirtd.sh ]; then
  bash agents/hypervisor/libvirt/setup-libvirtd.sh
fi
echo "setup-host: ready"
