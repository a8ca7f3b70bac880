/**
 * Handoff order of a partition, identical to Swift's `Ring.get_more_nodes`.
 *
 * Walk the partitions starting at md5(str(part))[0:4] >> part_shift, stepping by
 * max(1, parts / 65536) and wrapping around; at each visited partition look at the device of
 * each replica. Four passes over that walk yield devices not yet used: first only those in a
 * region the primaries (and earlier handoffs) do not cover, then in a new zone, then on a new
 * ip, then any. A pass stops as soon as every region / zone / ip / device holding partitions
 * has been used. Because the walk depends only on the partition number, handoffs stay mostly
 * the same when the ring changes.
 */
import { createHash } from 'node:crypto';
import type { RingDevice } from './device.js';

/** What the walk needs from a loaded ring; all indexes are per device id. */
export interface HandoffTables {
  devs: ReadonlyArray<RingDevice | null>;
  replica2part2dev: ReadonlyArray<Uint16Array>;
  partShift: number;
  /** Small integers naming each device's region, (region, zone) and (region, zone, ip). */
  regionOf: Int32Array;
  zoneOf: Int32Array;
  ipOf: Int32Array;
  /** Distinct regions, zones, ips and devices among devices that hold any partition. */
  numRegions: number;
  numZones: number;
  numIps: number;
  numAssignedDevs: number;
}

/** Device ids holding `part`, duplicates removed, in replica order (Swift's `_get_part_nodes`). */
export function primaryIds(t: Pick<HandoffTables, 'replica2part2dev'>, part: number): number[] {
  const ids: number[] = [];
  for (const arr of t.replica2part2dev) {
    if (part < arr.length) {
      const id = arr[part]!;
      if (!ids.includes(id)) ids.push(id);
    }
  }
  return ids;
}

/** Where the walk starts for a partition. */
export function handoffStart(part: number, partShift: number): number {
  if (partShift >= 32) return 0;
  const digest = createHash('md5').update(String(part), 'ascii').digest();
  return digest.readUInt32BE(0) >>> partShift;
}

/** The visited partitions: start..parts by inc, then the wrapped remainder below start. */
function* walk(start: number, parts: number, inc: number): Generator<number> {
  for (let p = start; p < parts; p += inc) yield p;
  for (let p = inc - ((parts - start) % inc); p < start; p += inc) yield p;
}

/** Lazily yields handoff device ids of `part` in Swift's order. */
export function* handoffIds(t: HandoffTables, part: number): Generator<number> {
  const primaries = primaryIds(t, part);
  const used = new Set<number>(primaries);
  const regions = new Set<number>();
  const zones = new Set<number>();
  const ips = new Set<number>();
  for (const id of primaries) {
    regions.add(t.regionOf[id]!);
    zones.add(t.zoneOf[id]!);
    ips.add(t.ipOf[id]!);
  }
  const parts = t.replica2part2dev[0]?.length ?? 0;
  if (parts === 0) return;
  const start = handoffStart(part, t.partShift);
  const inc = Math.floor(parts / 65536) || 1;
  const r2p2d = t.replica2part2dev;

  // Pass 1: devices in regions not used yet.
  let done = regions.size === t.numRegions;
  for (const hp of walk(start, parts, inc)) {
    if (done) break;
    for (const arr of r2p2d) {
      if (hp >= arr.length) continue;
      const id = arr[hp]!;
      const region = t.regionOf[id]!;
      if (!used.has(id) && !regions.has(region)) {
        yield id;
        used.add(id);
        regions.add(region);
        zones.add(t.zoneOf[id]!);
        ips.add(t.ipOf[id]!);
        if (regions.size === t.numRegions) {
          done = true;
          break;
        }
      }
    }
  }
  // Pass 2: devices in zones not used yet.
  done = zones.size === t.numZones;
  for (const hp of walk(start, parts, inc)) {
    if (done) break;
    for (const arr of r2p2d) {
      if (hp >= arr.length) continue;
      const id = arr[hp]!;
      const zone = t.zoneOf[id]!;
      if (!used.has(id) && !zones.has(zone)) {
        yield id;
        used.add(id);
        zones.add(zone);
        ips.add(t.ipOf[id]!);
        if (zones.size === t.numZones) {
          done = true;
          break;
        }
      }
    }
  }
  // Pass 3: devices on ips not used yet.
  done = ips.size === t.numIps;
  for (const hp of walk(start, parts, inc)) {
    if (done) break;
    for (const arr of r2p2d) {
      if (hp >= arr.length) continue;
      const id = arr[hp]!;
      const ip = t.ipOf[id]!;
      if (!used.has(id) && !ips.has(ip)) {
        yield id;
        used.add(id);
        ips.add(ip);
        if (ips.size === t.numIps) {
          done = true;
          break;
        }
      }
    }
  }
  // Pass 4: any device not used yet.
  done = used.size === t.numAssignedDevs;
  for (const hp of walk(start, parts, inc)) {
    if (done) break;
    for (const arr of r2p2d) {
      if (hp >= arr.length) continue;
      const id = arr[hp]!;
      if (!used.has(id)) {
        yield id;
        used.add(id);
        if (used.size === t.numAssignedDevs) {
          done = true;
          break;
        }
      }
    }
  }
}

/** Builds the tier indexes and counts `handoffIds` needs from ring data. */
export function buildHandoffTables(devs: ReadonlyArray<RingDevice | null>,
  replica2part2dev: ReadonlyArray<Uint16Array>, partShift: number): HandoffTables {
  const n = devs.length;
  const regionOf = new Int32Array(n).fill(-1);
  const zoneOf = new Int32Array(n).fill(-1);
  const ipOf = new Int32Array(n).fill(-1);
  const regionIds = new Map<string, number>();
  const zoneIds = new Map<string, number>();
  const ipIds = new Map<string, number>();
  const idOf = (m: Map<string, number>, key: string): number => {
    let v = m.get(key);
    if (v === undefined) m.set(key, (v = m.size));
    return v;
  };
  for (let i = 0; i < n; i++) {
    const d = devs[i];
    if (!d) continue;
    regionOf[i] = idOf(regionIds, JSON.stringify([d.region]));
    zoneOf[i] = idOf(zoneIds, JSON.stringify([d.region, d.zone]));
    ipOf[i] = idOf(ipIds, JSON.stringify([d.region, d.zone, d.ip]));
  }
  const hasParts = new Uint8Array(n);
  for (const arr of replica2part2dev) for (let p = 0; p < arr.length; p++) hasParts[arr[p]!] = 1;
  const regions = new Set<number>();
  const zones = new Set<number>();
  const ips = new Set<number>();
  let numAssignedDevs = 0;
  for (let i = 0; i < n; i++) {
    if (!devs[i] || !hasParts[i]) continue;
    numAssignedDevs++;
    regions.add(regionOf[i]!);
    zones.add(zoneOf[i]!);
    ips.add(ipOf[i]!);
  }
  return {
    devs, replica2part2dev, partShift, regionOf, zoneOf, ipOf,
    numRegions: regions.size, numZones: zones.size, numIps: ips.size, numAssignedDevs,
  };
}
