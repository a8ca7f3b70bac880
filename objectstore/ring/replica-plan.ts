/**
 * How many replicas of each partition every tier (region, zone, server, device) should hold,
 * with Swift's definitions:
 *  - weighted: a device's share of replicas by weight (at most 1 per device), summed up the tree;
 *  - wanted: as dispersed as possible (each child of a tier gets between floor and ceil of an
 *    even split, never more than it has devices), otherwise following weights;
 *  - overload: how far a device may exceed its weighted share to reach the wanted dispersion;
 *    target = weighted + (wanted - weighted) * min(overload, required) / required.
 * The plan gives each tier a fractional target (replicanths) and the most replicas of one
 * partition it may hold (`maxPerPart`), and each device a whole number of part-replicas.
 */
import type { RingDevice } from './device.js';
import type { TierTree } from './tier-tree.js';
import { BuilderError } from './errors.js';

const EPSILON = 1e-10;
const MAX_SPREAD_ROUNDS = 1000;
/** Levels of the tree: 0 cluster, 1 region, 2 zone, 3 server (ip), 4 device. */
export const LEVELS = 5;

export interface ReplicaPlan {
  /** [level][tier index] target replicanths (level 4 is indexed by device id). */
  target: Float64Array[];
  /** [level][tier index] most replicas of one partition the tier should hold. */
  maxPerPart: Int32Array[];
  /** Per device id: whole part-replicas the device should hold (0 for devices not in the tree). */
  partsWanted: Float64Array;
  /** Largest relative overload a device needs for full dispersion (0 when none is needed). */
  requiredOverload: number;
}

/** Children of tier `idx` at `level` (level 3's children are device ids). */
export function childrenOf(tree: TierTree, level: number, idx: number): number[] {
  switch (level) {
    case 0: return tree.regionZones.map((_, i) => i);
    case 1: return tree.regionZones[idx]!;
    case 2: return tree.zoneIps[idx]!;
    case 3: return tree.ipDevs[idx]!;
    default: return [];
  }
}

function levelSizes(tree: TierTree, devCount: number): number[] {
  return [1, tree.regionKey.length, tree.zoneKey.length, tree.ipKey.length, devCount];
}

/** Sums per-device values up the tree: returns [level][tier] totals. */
function sumUp(tree: TierTree, devs: ReadonlyArray<RingDevice | null>, perDev: Float64Array): Float64Array[] {
  const out = levelSizes(tree, devs.length).map((n) => new Float64Array(n));
  for (let d = 0; d < devs.length; d++) {
    if (tree.ipOf[d]! < 0) continue;
    const v = perDev[d]!;
    out[0]![0]! += v;
    out[1]![tree.regionOf[d]!]! += v;
    out[2]![tree.zoneOf[d]!]! += v;
    out[3]![tree.ipOf[d]!]! += v;
    out[4]![d] = v;
  }
  return out;
}

/** Replicanths by weight: each device weight-proportional, capped at one replica. */
export function weightedReplicas(tree: TierTree, devs: ReadonlyArray<RingDevice | null>, replicas: number): Float64Array[] {
  const perDev = new Float64Array(devs.length);
  let total = 0;
  for (const d of devs) if (d && tree.ipOf[d.id]! >= 0) total += d.weight;
  if (total <= 0) throw new BuilderError('there are no devices with weight in this ring');
  for (const d of devs) if (d && tree.ipOf[d.id]! >= 0) perDev[d.id] = Math.min(1, d.weight * replicas / total);
  for (let round = 0; round < MAX_SPREAD_ROUNDS; round++) {
    let sum = 0;
    let roomSum = 0;
    for (let i = 0; i < perDev.length; i++) {
      sum += perDev[i]!;
      if (perDev[i]! < 1) roomSum += perDev[i]!;
    }
    const remaining = replicas - sum;
    if (remaining < EPSILON || roomSum <= 0) break;
    const grow = 1 + remaining / roomSum;
    for (let i = 0; i < perDev.length; i++) if (perDev[i]! > 0 && perDev[i]! < 1) perDev[i] = Math.min(1, perDev[i]! * grow);
  }
  return sumUp(tree, devs, perDev);
}

/** Most replicas per tier under an even split: `round` = Math.ceil for dispersion, identity for bounds. */
export function evenSplitMax(tree: TierTree, devCount: number, replicas: number,
  round: (x: number) => number): Float64Array[] {
  const out = levelSizes(tree, devCount).map((n) => new Float64Array(n));
  const walk = (level: number, idx: number, value: number): void => {
    out[level]![idx] = level === 4 ? Math.min(1, value) : value;
    if (level === 4) return;
    const kids = childrenOf(tree, level, idx);
    for (const k of kids) walk(level + 1, k, round(value / kids.length));
  };
  walk(0, 0, replicas);
  return out;
}

function deviceCounts(tree: TierTree, devs: ReadonlyArray<RingDevice | null>): Float64Array[] {
  const ones = new Float64Array(devs.length);
  for (let d = 0; d < devs.length; d++) if (tree.ipOf[d]! >= 0) ones[d] = 1;
  return sumUp(tree, devs, ones);
}

/** Replicanths for the most dispersed placement the devices allow, then by weight. */
export function wantedReplicas(tree: TierTree, devs: ReadonlyArray<RingDevice | null>, replicas: number,
  weighted: Float64Array[]): Float64Array[] {
  const bounds = evenSplitMax(tree, devs.length, replicas, (x) => x);
  const numDevs = deviceCounts(tree, devs);
  const wanted = levelSizes(tree, devs.length).map((n) => new Float64Array(n));
  const place = (level: number, idx: number, amount: number): void => {
    if (amount > numDevs[level]![idx]! + EPSILON) {
      throw new BuilderError(`more replicas (${amount}) than devices (${numDevs[level]![idx]}) in a tier`);
    }
    wanted[level]![idx] = amount;
    if (level === 4) return;
    const kids = childrenOf(tree, level, idx);
    const lvl = level + 1;
    const lo = (k: number) => Math.floor(bounds[lvl]![k]!);
    const hi = (k: number) => Math.ceil(bounds[lvl]![k]!);
    const nd = (k: number) => numDevs[lvl]![k]!;
    const share = new Map<number, number>(kids.map((k) => [k, 0]));
    let spread = kids;
    let remaining = amount;
    let deviceLimited = false;
    for (let round = 0; round < MAX_SPREAD_ROUNDS && spread.length > 0; round++) {
      let weightSum = 0;
      for (const k of spread) weightSum += weighted[lvl]![k]!;
      const rel = weightSum > 0 ? remaining / weightSum : 0;
      for (const k of spread) {
        let v = share.get(k)! + weighted[lvl]![k]! * rel;
        if (v < lo(k)) v = lo(k);
        else if (v > hi(k) && !deviceLimited) v = hi(k);
        if (v > nd(k)) v = nd(k);
        share.set(k, v);
      }
      let placed = 0;
      for (const v of share.values()) placed += v;
      remaining = amount - placed;
      if (remaining < -EPSILON) {
        spread = kids.filter((k) => share.get(k)! > lo(k));
      } else if (remaining > EPSILON) {
        spread = kids.filter((k) => share.get(k)! < hi(k) && share.get(k)! < nd(k));
        if (spread.length === 0) {
          deviceLimited = true;
          spread = kids.filter((k) => share.get(k)! < nd(k));
        }
      } else break;
    }
    for (const k of kids) place(lvl, k, share.get(k)!);
  };
  place(0, 0, replicas);
  return wanted;
}

/**
 * The replica plan for a builder's devices. `overload` is a fraction (0.1 = 10 %).
 * `totalParts` is 2^part_power.
 */
export function buildReplicaPlan(tree: TierTree, devs: ReadonlyArray<RingDevice | null>, replicas: number,
  overload: number, totalParts: number): ReplicaPlan {
  const weighted = weightedReplicas(tree, devs, replicas);
  const wanted = wantedReplicas(tree, devs, replicas, weighted);
  let required = 0;
  for (let d = 0; d < devs.length; d++) {
    if (tree.ipOf[d]! < 0) continue;
    const w = weighted[4]![d]!;
    const need = (wanted[4]![d]! - w) / w;
    if (need > required) required = need;
  }
  let target: Float64Array[];
  if (required <= 0) target = wanted;
  else {
    const factor = Math.min(overload, required) / required;
    target = weighted.map((lvl, l) => lvl.map((w, i) => w + (wanted[l]![i]! - w) * factor));
  }
  const maxPerPart = target.map((lvl, l) => Int32Array.from(lvl, (t) => {
    const m = Math.ceil(t - EPSILON);
    return l === 4 ? Math.min(1, m) : m;
  }));
  // Whole part-replicas per tier, top-down: floor of each child's share, the rest to the
  // children with the largest remainders.
  const partsWanted = new Float64Array(devs.length);
  const split = (level: number, idx: number, parts: number): void => {
    if (level === 4) {
      partsWanted[idx] = parts;
      return;
    }
    const kids = childrenOf(tree, level, idx);
    const exact = kids.map((k) => target[level + 1]![k]! * totalParts);
    const given = exact.map((e) => Math.min(parts, Math.floor(e + EPSILON)));
    let left = parts - given.reduce((a, b) => a + b, 0);
    const order = kids.map((_, i) => i).sort((a, b) => (exact[b]! - given[b]!) - (exact[a]! - given[a]!) || a - b);
    for (let i = 0; left > 0 && kids.length > 0; i = (i + 1) % kids.length, left--) given[order[i]!]! += 1;
    kids.forEach((k, i) => split(level + 1, k, given[i]!));
  };
  split(0, 0, Math.round(replicas * totalParts));
  return { target, maxPerPart, partsWanted, requiredOverload: required };
}
