/**
 * The rebalancer: moves part-replicas so every device holds its planned share while replicas of
 * one partition stay spread over regions, zones and servers, moving as little as possible.
 *
 * 1. Gather: part-replicas on removed devices (always), then replicas that break the plan's
 *    per-tier maximum, then replicas from devices holding more than planned. Apart from removed
 *    devices a partition is only taken if it was not moved within `minPartHours` and at most one
 *    gather per partition happens in one rebalance.
 * 2. Place each gathered replica (in seeded random order): descend region → zone → server →
 *    device, at each level taking the child with the most room among those still below their
 *    per-partition maximum for this partition (falling back to any child with a free device).
 * 3. Repeat a few rounds while some device is still above its share.
 *
 * Everything works on typed arrays: no object per partition.
 */
import type { RingDevice } from './device.js';
import type { TierTree } from './tier-tree.js';
import type { ReplicaPlan } from './replica-plan.js';
import { indexDevices } from './tier-index.js';
import { shuffleInPlace, type Random } from './prng.js';
import { BuilderError } from './errors.js';

/** Marks an unassigned part-replica in the assignment arrays. */
export const NONE_DEV = 0xffff;
const MAX_ROUNDS = 8;

export interface AssignInput {
  parts: number;
  replicas: number;
  /** Modified in place; NONE_DEV entries are assigned. */
  r2p2d: Uint16Array[];
  devs: ReadonlyArray<RingDevice | null>;
  tree: TierTree;
  plan: ReplicaPlan;
  /** Hours since each partition last moved (255 = long ago); moved partitions are set to 0. */
  lastPartMoves: Uint8Array;
  minPartHours: number;
  /** Per device id: 1 when the device is being removed. */
  removed: Uint8Array;
  random: Random;
}

export interface AssignResult {
  /** Part-replicas taken off their device (some may land on the same device again). */
  gathered: number;
  rounds: number;
}

export function assignPartitions(inp: AssignInput): AssignResult {
  const { parts: P, replicas: R, r2p2d: a, devs, tree, plan, lastPartMoves, minPartHours, removed } = inp;
  const n = devs.length;
  const idx = indexDevices(tree, devs);
  const maxR = plan.maxPerPart[1]!;
  const maxZ = plan.maxPerPart[2]!;
  const maxI = plan.maxPerPart[3]!;
  const nRegions = tree.regionKey.length;
  const nZones = tree.zoneKey.length;
  const nIps = tree.ipKey.length;

  // Devices (weight > 0) per tier, to know whether a tier still has a free device for a part.
  const devsInRegion = new Int32Array(nRegions);
  const devsInZone = new Int32Array(nZones);
  const devsInIp = new Int32Array(nIps);
  for (let d = 0; d < n; d++) {
    if (!idx.inTree[d]) continue;
    devsInRegion[idx.region[d]!]!++;
    devsInZone[idx.zone[d]!]!++;
    devsInIp[idx.ip[d]!]!++;
  }

  // want = planned - held; tiers keep the sum of positive wants (room) and the raw sum.
  const devParts = new Int32Array(n);
  for (const arr of a) for (let p = 0; p < arr.length; p++) if (arr[p] !== NONE_DEV) devParts[arr[p]!]!++;
  const want = new Int32Array(n);
  const roomRegion = new Float64Array(nRegions);
  const roomZone = new Float64Array(nZones);
  const roomIp = new Float64Array(nIps);
  const rawRegion = new Float64Array(nRegions);
  const rawZone = new Float64Array(nZones);
  const rawIp = new Float64Array(nIps);
  for (let d = 0; d < n; d++) {
    if (!devs[d]) continue;
    want[d] = idx.inTree[d] ? plan.partsWanted[d]! - devParts[d]! : -devParts[d]!;
    if (!idx.inTree[d]) continue;
    const pos = Math.max(0, want[d]!);
    roomRegion[idx.region[d]!]! += pos; roomZone[idx.zone[d]!]! += pos; roomIp[idx.ip[d]!]! += pos;
    rawRegion[idx.region[d]!]! += want[d]!; rawZone[idx.zone[d]!]! += want[d]!; rawIp[idx.ip[d]!]! += want[d]!;
  }
  const addWant = (d: number, delta: number): void => {
    const old = want[d]!;
    const now = old + delta;
    want[d] = now;
    if (!idx.inTree[d]) return;
    const dp = Math.max(0, now) - Math.max(0, old);
    const r = idx.region[d]!, z = idx.zone[d]!, i = idx.ip[d]!;
    roomRegion[r]! += dp; roomZone[z]! += dp; roomIp[i]! += dp;
    rawRegion[r]! += delta; rawZone[z]! += delta; rawIp[i]! += delta;
  };

  const moved = new Uint8Array(P);
  function canMove(p: number): boolean {
    return moved[p] === 0 && (fresh[p] === 1 || lastPartMoves[p]! >= minPartHours);
  }
  let queue = new Int32Array(Math.max(16, P));
  let qLen = 0;
  let gathered = 0;
  const push = (p: number, r: number): void => {
    if (qLen === queue.length) {
      const bigger = new Int32Array(queue.length * 2);
      bigger.set(queue);
      queue = bigger;
    }
    queue[qLen++] = p * R + r;
  };
  const unassign = (p: number, r: number): void => {
    const d = a[r]![p]!;
    a[r]![p] = NONE_DEV;
    addWant(d, 1);
    devParts[d]!--;
    moved[p] = 1;
    lastPartMoves[p] = 0;
    gathered++;
    push(p, r);
  };

  // Unassigned entries (new builder, more replicas) and replicas on removed devices.
  // A partition with no replica at all holds no data yet: later rounds may place it again.
  const fresh = new Uint8Array(P);
  for (let p = 0; p < P; p++) {
    let none = 0;
    for (let r = 0; r < R; r++) if (a[r]![p] === NONE_DEV) none++;
    if (none === R) fresh[p] = 1;
  }
  for (let r = 0; r < R; r++) {
    const arr = a[r]!;
    for (let p = 0; p < P; p++) {
      const d = arr[p]!;
      if (d === NONE_DEV) {
        push(p, r);
        if (!fresh[p]) {
          moved[p] = 1;
          lastPartMoves[p] = 0;
        }
      } else if (removed[d]) unassign(p, r);
    }
  }

  // Replicas that break the plan's per-partition maximum of some tier (one per partition).
  // A level whose every tier may hold all R replicas can never be broken: skip it.
  const others = new Int32Array(R);
  const everyTierHolds = (max: Int32Array) => max.every((m) => m >= R);
  const checkRegion = !everyTierHolds(maxR);
  const checkZone = !everyTierHolds(maxZ);
  const checkIp = !everyTierHolds(maxI);
  for (let p = 0; p < P; p++) {
    if (!canMove(p)) continue;
    const victim = dispersionVictim(p);
    if (victim >= 0) unassign(p, victim);
  }

  function dispersionVictim(p: number): number {
    // Returns the replica to take off p (the one on the device with the least want), or -1.
    let worst = -1;
    for (let r = 0; r < R; r++) {
      const d = a[r]![p]!;
      if (d === NONE_DEV) continue;
      let cr = 0, cz = 0, ci = 0, cd = 0;
      const rd = idx.region[d]!, zd = idx.zone[d]!, id = idx.ip[d]!;
      for (let s = 0; s < R; s++) {
        const e = a[s]![p]!;
        if (e === NONE_DEV) continue;
        if (e === d) cd++;
        if (checkRegion && idx.region[e] === rd) cr++;
        if (checkZone && idx.zone[e] === zd) cz++;
        if (checkIp && idx.ip[e] === id) ci++;
      }
      const over = cd > 1 ||
        (checkRegion && rd >= 0 && cr > maxR[rd]!) ||
        (checkZone && zd >= 0 && cz > maxZ[zd]!) ||
        (checkIp && id >= 0 && ci > maxI[id]!);
      if (over && (worst < 0 || want[d]! < want[a[worst]![p]!]!)) worst = r;
    }
    return worst;
  }

  /** Devices (weight > 0) that still want part-replicas, refreshed before each balance gather. */
  let hungry: number[] = [];
  /** True when replica r of p could move to some device that still wants parts, legally. */
  const canLand = (p: number, r: number): boolean => {
    for (const d of hungry) {
      if (want[d]! <= 0) continue;
      let ok = true;
      let cr = 0, cz = 0, ci = 0;
      for (let s = 0; s < R && ok; s++) {
        if (s === r) continue;
        const e = a[s]![p]!;
        if (e === NONE_DEV) continue;
        if (e === d) ok = false;
        if (idx.region[e] === idx.region[d]) cr++;
        if (idx.zone[e] === idx.zone[d]) cz++;
        if (idx.ip[e] === idx.ip[d]) ci++;
      }
      if (ok && cr < maxR[idx.region[d]!]! && cz < maxZ[idx.zone[d]!]! && ci < maxI[idx.ip[d]!]!) return true;
    }
    return false;
  };

  const gatherForBalance = (): void => {
    let over = 0;
    hungry = [];
    for (let d = 0; d < n; d++) {
      if (!devs[d]) continue;
      if (want[d]! < 0 && devParts[d]! > 0) over++;
      if (idx.inTree[d] && want[d]! > 0) hungry.push(d);
    }
    if (over === 0) return;
    const mask = P - 1;
    let p = Math.floor(inp.random() * P);
    const stride = (Math.floor(inp.random() * P) | 1) & mask || 1;
    for (let i = 0; i < P && over > 0; i++, p = (p + stride) & mask) {
      if (!canMove(p)) continue;
      let pick = -1;
      for (let r = 0; r < R; r++) {
        const d = a[r]![p]!;
        if (d === NONE_DEV || want[d]! >= 0) continue;
        if (pick >= 0 && want[d]! >= want[a[pick]![p]!]!) continue;
        // Devices leaving the tree (no weight) always shed; others only where the replica has somewhere to go.
        if (idx.inTree[d] && !canLand(p, r)) continue;
        pick = r;
      }
      if (pick < 0) continue;
      const d = a[pick]![p]!;
      unassign(p, pick);
      if (want[d] === 0) over--;
    }
  };

  // Placement state for the partition being placed: the devices of its other replicas.
  let k = 0;
  const countIn = (tiers: Int32Array, t: number, treeOnly: boolean): number => {
    let c = 0;
    for (let j = 0; j < k; j++) {
      const o = others[j]!;
      if (tiers[o] === t && (!treeOnly || idx.inTree[o])) c++;
    }
    return c;
  };
  /** The child tier with the most room that can take one more replica of this partition. */
  const pickTier = (cands: ArrayLike<number>, tiers: Int32Array, max: Int32Array, devCount: Int32Array,
    room: Float64Array, raw: Float64Array): number => {
    for (let strict = 1; strict >= 0; strict--) {
      let best = -1;
      for (let c = 0; c < cands.length; c++) {
        const t = cands[c]!;
        if (best >= 0 && (room[t]! < room[best]! || (room[t] === room[best] && raw[t]! <= raw[best]!))) continue;
        if (k > 0) {
          if (countIn(tiers, t, true) >= devCount[t]!) continue;
          if (strict && countIn(tiers, t, false) >= max[t]!) continue;
        } else if (max[t]! < 1 && strict) continue;
        best = t;
      }
      if (best >= 0) return best;
    }
    return -1;
  };
  const place = (p: number, r: number): void => {
    k = 0;
    for (let s = 0; s < R; s++) {
      const e = a[s]![p]!;
      if (s !== r && e !== NONE_DEV) others[k++] = e;
    }
    const region = pickTier(allRegions, idx.region, maxR, devsInRegion, roomRegion, rawRegion);
    const zone = region < 0 ? -1 : pickTier(tree.regionZones[region]!, idx.zone, maxZ, devsInZone, roomZone, rawZone);
    const ip = zone < 0 ? -1 : pickTier(tree.zoneIps[zone]!, idx.ip, maxI, devsInIp, roomIp, rawIp);
    let dev = -1;
    if (ip >= 0) {
      const list = tree.ipDevs[ip]!;
      for (let c = 0; c < list.length; c++) {
        const d = list[c]!;
        if (dev >= 0 && want[d]! <= want[dev]!) continue;
        let taken = false;
        for (let j = 0; j < k; j++) if (others[j] === d) taken = true;
        if (!taken) dev = d;
      }
    }
    if (dev < 0) throw new BuilderError(`no device can take partition ${p} replica ${r}`);
    a[r]![p] = dev;
    devParts[dev]!++;
    addWant(dev, -1);
  };
  const allRegions = Int32Array.from({ length: nRegions }, (_, i) => i);

  let rounds = 0;
  for (; rounds < MAX_ROUNDS; rounds++) {
    gatherForBalance();
    if (qLen === 0) break;
    const batch = queue.subarray(0, qLen);
    shuffleInPlace(batch, inp.random);
    for (let i = 0; i < qLen; i++) {
      const e = batch[i]!;
      place(Math.floor(e / R), e % R);
    }
    qLen = 0;
    let over = false;
    for (let d = 0; d < n; d++) if (idx.inTree[d] && want[d]! < 0) over = true;
    if (!over) {
      rounds++;
      break;
    }
  }
  for (let p = 0; p < P; p++) if (fresh[p]) lastPartMoves[p] = 0;
  return { gathered, rounds };
}
