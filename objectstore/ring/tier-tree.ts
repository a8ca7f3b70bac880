/**
 * The failure-domain tree of a builder's devices: region > zone > ip > device, as dense
 * integer indexes so the rebalancer and the statistics work on typed arrays.
 * Tier keys follow Swift: a zone is (region, zone), a server is (region, zone, ip).
 * Only devices with weight > 0 are in the tree; others get index -1.
 */
import type { RingDevice } from './device.js';

export interface TierTree {
  /** Per device id: index of its region / zone / ip tier, or -1 when not in the tree. */
  regionOf: Int32Array;
  zoneOf: Int32Array;
  ipOf: Int32Array;
  /** Children of each tier, sorted by their keys: regions → zones → ips → device ids. */
  regionZones: number[][];
  zoneIps: number[][];
  ipDevs: number[][];
  /** Parent of each zone and ip tier. */
  zoneRegion: Int32Array;
  ipZone: Int32Array;
  /** The tier keys, for messages. */
  regionKey: number[];
  zoneKey: Array<[number, number]>;
  ipKey: Array<[number, number, string]>;
}

function compareKeys(a: ReadonlyArray<number | string>, b: ReadonlyArray<number | string>): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

/** Builds the tree from devices with weight > 0 (`include` can narrow it further). */
export function buildTierTree(devs: ReadonlyArray<RingDevice | null>,
  include: (d: RingDevice) => boolean = (d) => d.weight > 0): TierTree {
  const members = devs.filter((d): d is RingDevice => d !== null && include(d));
  const regionKey = [...new Set(members.map((d) => d.region))].sort((a, b) => a - b);
  const zoneMap = new Map<string, [number, number]>();
  const ipMap = new Map<string, [number, number, string]>();
  for (const d of members) {
    zoneMap.set(JSON.stringify([d.region, d.zone]), [d.region, d.zone]);
    ipMap.set(JSON.stringify([d.region, d.zone, d.ip]), [d.region, d.zone, d.ip]);
  }
  const zoneKey = [...zoneMap.values()].sort(compareKeys);
  const ipKey = [...ipMap.values()].sort(compareKeys);
  const regionIdx = new Map(regionKey.map((k, i) => [k, i]));
  const zoneIdx = new Map(zoneKey.map((k, i) => [JSON.stringify(k), i]));
  const ipIdx = new Map(ipKey.map((k, i) => [JSON.stringify(k), i]));

  const n = devs.length;
  const regionOf = new Int32Array(n).fill(-1);
  const zoneOf = new Int32Array(n).fill(-1);
  const ipOf = new Int32Array(n).fill(-1);
  const regionZones: number[][] = regionKey.map(() => []);
  const zoneIps: number[][] = zoneKey.map(() => []);
  const ipDevs: number[][] = ipKey.map(() => []);
  const zoneRegion = new Int32Array(zoneKey.length);
  const ipZone = new Int32Array(ipKey.length);
  zoneKey.forEach((k, z) => {
    zoneRegion[z] = regionIdx.get(k[0])!;
    regionZones[zoneRegion[z]!]!.push(z);
  });
  ipKey.forEach((k, i) => {
    ipZone[i] = zoneIdx.get(JSON.stringify([k[0], k[1]]))!;
    zoneIps[ipZone[i]!]!.push(i);
  });
  for (const d of [...members].sort((a, b) => a.id - b.id)) {
    regionOf[d.id] = regionIdx.get(d.region)!;
    zoneOf[d.id] = zoneIdx.get(JSON.stringify([d.region, d.zone]))!;
    ipOf[d.id] = ipIdx.get(JSON.stringify([d.region, d.zone, d.ip]))!;
    ipDevs[ipOf[d.id]!]!.push(d.id);
  }
  return { regionOf, zoneOf, ipOf, regionZones, zoneIps, ipDevs, zoneRegion, ipZone, regionKey, zoneKey, ipKey };
}
