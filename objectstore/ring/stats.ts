/**
 * Ring quality figures with Swift's definitions, so ringstack's numbers compare with
 * swift-ring-builder's:
 *  - balance: the worst device's deviation, in percent, from its weight's share of part-replicas
 *    (a device with no weight but partitions counts as 999.99);
 *  - dispersion: percent of part-replicas above the most a tier may hold under an even split
 *    (each partition counted once, at the tier where it is worst).
 * Also `validate`: every part-replica sits on a live device, never two replicas on one device.
 */
import type { RingDevice } from './device.js';
import { buildTierTree } from './tier-tree.js';
import { indexDevices } from './tier-index.js';
import { evenSplitMax } from './replica-plan.js';
import { BuilderError } from './errors.js';

/** What Swift prints for a device with no weight that still holds partitions. */
export const MAX_BALANCE = 999.99;
const NONE_DEV = 0xffff;

/** Part-replicas held by each device id. */
export function partsPerDevice(devCount: number, r2p2d: ReadonlyArray<Uint16Array>): Int32Array {
  const out = new Int32Array(devCount);
  for (const arr of r2p2d) for (let p = 0; p < arr.length; p++) if (arr[p] !== NONE_DEV) out[arr[p]!]!++;
  return out;
}

/** Per device id: percent above (+) or below (-) its weight's share; NaN for absent devices. */
export function balancePerDevice(devs: ReadonlyArray<RingDevice | null>, r2p2d: ReadonlyArray<Uint16Array>,
  parts: number, replicas: number): Float64Array {
  const held = partsPerDevice(devs.length, r2p2d);
  let total = 0;
  for (const d of devs) if (d) total += d.weight;
  const out = new Float64Array(devs.length).fill(NaN);
  const perWeight = total > 0 ? parts * replicas / total : 0;
  for (const d of devs) {
    if (!d) continue;
    if (!d.weight) out[d.id] = held[d.id]! > 0 ? MAX_BALANCE : 0;
    else out[d.id] = 100 * held[d.id]! / (d.weight * perWeight) - 100;
  }
  return out;
}

/** Swift's balance: the largest absolute per-device deviation. */
export function ringBalance(devs: ReadonlyArray<RingDevice | null>, r2p2d: ReadonlyArray<Uint16Array>,
  parts: number, replicas: number): number {
  let worst = 0;
  for (const b of balancePerDevice(devs, r2p2d, parts, replicas)) if (!Number.isNaN(b)) worst = Math.max(worst, Math.abs(b));
  return worst;
}

/** Swift's dispersion, in percent of all part-replicas. */
export function ringDispersion(devs: ReadonlyArray<RingDevice | null>, r2p2d: ReadonlyArray<Uint16Array>,
  replicas: number): number {
  const parts = r2p2d[0]?.length ?? 0;
  if (parts === 0) return 0;
  const tree = buildTierTree(devs);
  const idx = indexDevices(tree, devs);
  const max = evenSplitMax(tree, devs.length, replicas, Math.ceil);
  const tiers = [idx.region, idx.zone, idx.ip];
  const R = r2p2d.length;
  const ids = new Int32Array(R);
  let atRisk = 0;
  for (let p = 0; p < parts; p++) {
    let k = 0;
    for (let r = 0; r < R; r++) {
      const d = r2p2d[r]![p];
      if (d !== undefined && d !== NONE_DEV) ids[k++] = d;
    }
    let worst = 0;
    for (let level = 1; level <= 4; level++) {
      let risk = 0;
      for (let i = 0; i < k; i++) {
        const di = ids[i]!;
        const t = level === 4 ? di : tiers[level - 1]![di]!;
        // count each tier once: only at its first replica
        let first = true;
        let count = 0;
        for (let j = 0; j < k; j++) {
          const tj = level === 4 ? ids[j]! : tiers[level - 1]![ids[j]!]!;
          const same = t >= 0 ? tj === t : j === i;
          if (same) {
            if (j < i) first = false;
            count++;
          }
        }
        if (!first) continue;
        const allowed = t < 0 ? 0 : level === 4 ? (idx.inTree[di] ? max[4]![di]! : 0) : max[level]![t]!;
        if (count > allowed) risk += count - allowed;
      }
      if (risk > worst) worst = risk;
    }
    atRisk += worst;
  }
  return 100 * atRisk / (parts * replicas);
}

/** Throws BuilderError when a part-replica is unassigned, on a missing device, or doubled. */
export function validateAssignment(devs: ReadonlyArray<RingDevice | null>, r2p2d: ReadonlyArray<Uint16Array>): void {
  const R = r2p2d.length;
  const parts = r2p2d[0]?.length ?? 0;
  for (let p = 0; p < parts; p++) {
    for (let r = 0; r < R; r++) {
      const d = r2p2d[r]![p]!;
      if (d === NONE_DEV) throw new BuilderError(`partition ${p} replica ${r} is not assigned to a device`);
      if (d >= devs.length || !devs[d]) throw new BuilderError(`partition ${p} replica ${r} is on missing device ${d}`);
      for (let s = 0; s < r; s++) {
        if (r2p2d[s]![p] === d) throw new BuilderError(`partition ${p} has two replicas on device ${d}`);
      }
    }
  }
}
