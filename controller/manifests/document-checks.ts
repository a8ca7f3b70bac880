/**
 * Checks that relate several fields of one document, after its schema passed: an Instance
 * has either a flavor or an explicit size, and an anti-affinity policy only with a group; a
 * Network's mode decides which of cidr, bridge and dhcp it needs, and its gateway and DHCP
 * range must lie inside its CIDR.
 */
import { cidrContains, formatIPv4, parseCidr, parseIPv4, type Cidr } from './net.js';
import type { Reporter } from './reporter.js';
import type { InstanceManifest, Manifest, NetworkManifest } from './types.js';

/** Returns false (after reporting) when the document is invalid. */
export function checkDocument(m: Manifest, reporter: Reporter): boolean {
  if (m.kind === 'Instance') return checkInstance(m, reporter);
  if (m.kind === 'Network') return checkNetwork(m, reporter);
  return true;
}

const SIZE_FIELDS = ['vcpus', 'memoryMiB', 'diskGiB'] as const;

function checkInstance(m: InstanceManifest, r: Reporter): boolean {
  const s = m.spec;
  if (s.placement.antiAffinityPolicy !== undefined && s.placement.antiAffinityGroup === undefined) {
    r.at(m.src, 'spec.placement.antiAffinityPolicy', 'a policy needs spec.placement.antiAffinityGroup');
    return false;
  }
  const given = SIZE_FIELDS.filter((f) => s[f] !== undefined);
  if (s.flavor !== undefined) {
    if (given.length > 0) {
      r.at(m.src, `spec.${given[0]}`, 'give either spec.flavor or spec.vcpus/memoryMiB/diskGiB, not both');
      return false;
    }
    return true;
  }
  if (given.length === 0) {
    r.at(m.src, 'spec.flavor', 'missing required field "flavor" (or all of vcpus, memoryMiB and diskGiB)');
    return false;
  }
  let ok = true;
  for (const f of SIZE_FIELDS) {
    if (s[f] === undefined) {
      r.at(m.src, `spec.${f}`, `missing required field "${f}" (spec.${given[0]} is set and there is no flavor)`);
      ok = false;
    }
  }
  return ok;
}

function checkNetwork(m: NetworkManifest, r: Reporter): boolean {
  const s = m.spec;
  let ok = true;
  if (s.mode === 'bridge') {
    if (s.bridge === undefined) { r.at(m.src, 'spec.bridge', 'missing required field "bridge" (the host bridge, e.g. br0) for mode bridge'); ok = false; }
    if (s.dhcp !== undefined) { r.at(m.src, 'spec.dhcp', 'bridge networks get DHCP from the LAN; remove spec.dhcp'); ok = false; }
  } else {
    if (s.cidr === undefined) { r.at(m.src, 'spec.cidr', `missing required field "cidr" for mode ${s.mode}`); ok = false; }
    if (s.bridge !== undefined) { r.at(m.src, 'spec.bridge', `only bridge networks name a host bridge; mode is ${s.mode}`); ok = false; }
  }
  if (s.cidr === undefined) {
    if (s.gateway !== undefined && ok) { r.at(m.src, 'spec.gateway', 'a gateway needs spec.cidr'); ok = false; }
    return ok;
  }
  const cidr = parseCidr(s.cidr) as Cidr;
  const inside = (field: string, text: string): number | undefined => {
    const ip = parseIPv4(text)!;
    if (!cidrContains(cidr, ip)) { r.at(m.src, field, `${text} is outside ${s.cidr}`); return undefined; }
    if (ip === cidr.network || ip === cidr.broadcast) {
      r.at(m.src, field, `${text} is the ${ip === cidr.network ? 'network' : 'broadcast'} address of ${s.cidr}`);
      return undefined;
    }
    return ip;
  };
  const gateway = s.gateway !== undefined ? inside('spec.gateway', s.gateway) : cidr.network + 1;
  if (gateway === undefined) ok = false;
  if (s.dhcp) {
    const start = inside('spec.dhcp.start', s.dhcp.start);
    const end = inside('spec.dhcp.end', s.dhcp.end);
    if (start === undefined || end === undefined) return false;
    if (start > end) { r.at(m.src, 'spec.dhcp.end', `${s.dhcp.end} is before the range start ${s.dhcp.start}`); return false; }
    if (gateway !== undefined && gateway >= start && gateway <= end) {
      r.at(m.src, 'spec.dhcp', `the DHCP range ${s.dhcp.start}-${s.dhcp.end} contains the gateway ${formatIPv4(gateway)}`);
      ok = false;
    }
  }
  return ok;
}
