/**
 * Maps every device (also zero-weight ones, which are outside the tier tree) to the tree's
 * region / zone / ip indexes it shares, so replicas on draining devices still count for
 * dispersion. -1 where the device's tier has no weighted device.
 */
import type { RingDevice } from './device.js';
import type { TierTree } from './tier-tree.js';

export interface TierIndex {
  region: Int32Array;
  zone: Int32Array;
  ip: Int32Array;
  /** 1 when the device is in the tree (weight > 0). */
  inTree: Uint8Array;
}

export function indexDevices(tree: TierTree, devs: ReadonlyArray<RingDevice | null>): TierIndex {
  const n = devs.length;
  const regions = new Map(tree.regionKey.map((k, i) => [k, i]));
  const zones = new Map(tree.zoneKey.map((k, i) => [JSON.stringify(k), i]));
  const ips = new Map(tree.ipKey.map((k, i) => [JSON.stringify(k), i]));
  const out: TierIndex = {
    region: new Int32Array(n).fill(-1), zone: new Int32Array(n).fill(-1), ip: new Int32Array(n).fill(-1),
    inTree: new Uint8Array(n),
  };
  for (let i = 0; i < n; i++) {
    const d = devs[i];
    if (!d) continue;
    out.region[i] = regions.get(d.region) ?? -1;
    out.zone[i] = zones.get(JSON.stringify([d.region, d.zone])) ?? -1;
    out.ip[i] = ips.get(JSON.stringify([d.region, d.zone, d.ip])) ?? -1;
    out.inTree[i] = tree.ipOf[i]! >= 0 ? 1 : 0;
  }
  return out;
}
