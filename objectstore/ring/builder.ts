/**
 * RingBuilder: the devices of a ring and the assignment of part-replicas to them, with the
 * operations of swift-ring-builder (add, remove, set weight, set overload, rebalance,
 * pretend-min-part-hours-passed, validate) and Swift's balance and dispersion figures.
 * It produces ring data for ring-file.ts; builder-file.ts persists it between commands.
 *
 * A partition moves at most once per `minPartHours` (hours are tracked per partition, capped at
 * 255), except off a removed device. The placement itself is ringstack's own (rebalance.ts).
 */
import type { RingDevice } from './device.js';
import type { RingData } from './ring-file.js';
import { buildTierTree } from './tier-tree.js';
import { buildReplicaPlan } from './replica-plan.js';
import { assignPartitions, NONE_DEV } from './rebalance.js';
import { seededRandom } from './prng.js';
import { partsPerDevice, ringBalance, ringDispersion, validateAssignment } from './stats.js';
import { matchesSearch, parseDeviceSearch, type DeviceSpec } from './device-spec.js';
import { BuilderError } from './errors.js';

export const MIN_PART_POWER = 1;
export const MAX_PART_POWER = 32;
export const MAX_REPLICAS = 32;
/** Device ids are uint16 in ring files and 0xffff marks "unassigned". */
export const MAX_DEVICES = NONE_DEV;
/**
 * Largest part power this builder rebalances: 2^24 partitions already need ~100 MB of arrays and
 * a larger builder no longer fits its JSON file. Ring files of any part power are read.
 */
export const MAX_REBALANCE_PART_POWER = 24;
/** last_part_moves counts hours in a byte. */
const MAX_HOURS = 0xff;
const SECONDS_PER_HOUR = 3600;

export interface NewDevice extends DeviceSpec {
  weight: number;
  id?: number;
}

export interface RebalanceResult {
  /** Part-replicas whose device changed. */
  changed: number;
  balance: number;
  dispersion: number;
  /** Devices removed from the ring by this rebalance. */
  removed: number;
}

/** Everything a builder is; builder-file.ts stores exactly this. */
export interface BuilderState {
  partPower: number;
  replicas: number;
  minPartHours: number;
  overload: number;
  version: number;
  devs: Array<RingDevice | null>;
  removeDevIds: number[];
  replica2part2dev: Uint16Array[] | null;
  /** Hours since each partition last moved; null until the first rebalance. */
  lastPartMoves: Uint8Array | null;
  lastPartMovesEpoch: number;
  dispersion: number;
  devsChanged: boolean;
}

function checkWeight(weight: number): void {
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
    throw new BuilderError(`weight must be a number >= 0, got ${weight}`);
  }
}

export class RingBuilder {
  readonly state: BuilderState;

  constructor(partPower: number, replicas: number, minPartHours: number) {
    if (!Number.isInteger(partPower) || partPower < MIN_PART_POWER || partPower > MAX_PART_POWER) {
      throw new BuilderError(`part power must be a whole number from ${MIN_PART_POWER} to ${MAX_PART_POWER}, got ${partPower}`);
    }
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
      throw new BuilderError(`replicas must be a whole number from 1 to ${MAX_REPLICAS}, got ${replicas}`);
    }
    if (!Number.isInteger(minPartHours) || minPartHours < 0) {
      throw new BuilderError(`min_part_hours must be a whole number >= 0, got ${minPartHours}`);
    }
    this.state = {
      partPower, replicas, minPartHours, overload: 0, version: 0, devs: [], removeDevIds: [],
      replica2part2dev: null, lastPartMoves: null, lastPartMovesEpoch: 0,
      dispersion: 0, devsChanged: false,
    };
  }

  static fromState(state: BuilderState): RingBuilder {
    const b = Object.create(RingBuilder.prototype) as RingBuilder;
    (b as { state: BuilderState }).state = state;
    return b;
  }

  get partPower(): number { return this.state.partPower; }
  get parts(): number { return 2 ** this.state.partPower; }
  get replicas(): number { return this.state.replicas; }
  get minPartHours(): number { return this.state.minPartHours; }
  get overload(): number { return this.state.overload; }
  get version(): number { return this.state.version; }
  get devs(): ReadonlyArray<RingDevice | null> { return this.state.devs; }
  get everRebalanced(): boolean { return this.state.replica2part2dev !== null; }
  /** Devices marked for removal at the next rebalance. */
  get pendingRemovals(): ReadonlyArray<number> { return this.state.removeDevIds; }

  /** Adds a device; returns its id (the lowest free one unless given). */
  addDevice(dev: NewDevice): number {
    const s = this.state;
    checkWeight(dev.weight);
    if (!Number.isInteger(dev.region) || dev.region < 0) throw new BuilderError(`region must be a whole number >= 0, got ${dev.region}`);
    if (!Number.isInteger(dev.zone) || dev.zone < 0) throw new BuilderError(`zone must be a whole number >= 0, got ${dev.zone}`);
    if (!dev.ip) throw new BuilderError('ip must not be empty');
    if (!Number.isInteger(dev.port) || dev.port < 1 || dev.port > 65535) throw new BuilderError(`port must be between 1 and 65535, got ${dev.port}`);
    if (!dev.device || /[\s/]/.test(dev.device)) throw new BuilderError(`invalid device name "${dev.device}"`);
    for (const d of s.devs) {
      if (d && d.ip === dev.ip && d.port === dev.port && d.device === dev.device && !s.removeDevIds.includes(d.id)) {
        throw new BuilderError(`device d${d.id} already uses ${dev.ip}:${dev.port}/${dev.device}`);
      }
    }
    let id = dev.id;
    if (id === undefined) {
      id = s.devs.indexOf(null);
      if (id < 0) id = s.devs.length;
    } else if (!Number.isInteger(id) || id < 0) {
      throw new BuilderError(`device id must be a whole number >= 0, got ${id}`);
    } else if (s.devs[id]) {
      throw new BuilderError(`duplicate device id ${id}`);
    }
    if (id >= MAX_DEVICES) throw new BuilderError(`a ring holds at most ${MAX_DEVICES} devices`);
    while (s.devs.length <= id) s.devs.push(null);
    s.devs[id] = {
      id, region: dev.region, zone: dev.zone, ip: dev.ip, port: dev.port, device: dev.device, weight: dev.weight,
      meta: dev.meta ?? '', replication_ip: dev.replication_ip ?? dev.ip, replication_port: dev.replication_port ?? dev.port,
    };
    s.devsChanged = true;
    s.version++;
    return id;
  }

  private liveDevice(id: number): RingDevice {
    const d = this.state.devs[id];
    if (!Number.isInteger(id) || !d) throw new BuilderError(`no device with id ${id}`);
    if (this.state.removeDevIds.includes(id)) throw new BuilderError(`device d${id} is already marked for removal`);
    return d;
  }

  /** Marks a device for removal: its part-replicas move at the next rebalance, whatever min_part_hours. */
  removeDevice(id: number): void {
    const d = this.liveDevice(id);
    d.weight = 0;
    this.state.removeDevIds.push(id);
    this.state.devsChanged = true;
    this.state.version++;
  }

  setWeight(id: number, weight: number): void {
    checkWeight(weight);
    this.liveDevice(id).weight = weight;
    this.state.devsChanged = true;
    this.state.version++;
  }

  /** Sets how far (as a fraction, 0.1 = 10 %) a device may exceed its weight for dispersion. */
  setOverload(overload: number): void {
    if (!Number.isFinite(overload) || overload < 0) throw new BuilderError(`overload must be a number >= 0, got ${overload}`);
    this.state.overload = overload;
    this.state.version++;
  }

  setMinPartHours(hours: number): void {
    if (!Number.isInteger(hours) || hours < 0) throw new BuilderError(`min_part_hours must be a whole number >= 0, got ${hours}`);
    this.state.minPartHours = hours;
    this.state.version++;
  }

  /** Devices matching a search value (d<id>, z<zone>, ip:port/device…); throws when none does. */
  searchDevices(search: string): RingDevice[] {
    const q = parseDeviceSearch(search);
    const found = this.state.devs.filter((d): d is RingDevice => d !== null && matchesSearch(d as unknown as Record<string, unknown>, q));
    if (found.length === 0) throw new BuilderError(`no device matches "${search}"`);
    return found;
  }

  /** Lets every partition move at the next rebalance, as if min_part_hours had passed. */
  pretendMinPartHoursPassed(): void {
    this.state.lastPartMoves?.fill(MAX_HOURS);
    this.state.lastPartMovesEpoch = 0;
  }

  private updateLastPartMoves(nowSeconds: number): void {
    const s = this.state;
    const elapsed = Math.floor((nowSeconds - s.lastPartMovesEpoch) / SECONDS_PER_HOUR);
    if (elapsed <= 0) return;
    const m = s.lastPartMoves;
    if (!m) return;
    for (let p = 0; p < m.length; p++) m[p] = Math.min(MAX_HOURS, m[p]! + elapsed);
    s.lastPartMovesEpoch = Math.floor(nowSeconds);
  }

  /** Assigns and moves part-replicas; see rebalance.ts. `now` (seconds) is for tests. */
  rebalance(opts: { seed?: number; now?: number } = {}): RebalanceResult {
    const s = this.state;
    const weighted = s.devs.filter((d) => d && d.weight > 0 && !s.removeDevIds.includes(d.id)).length;
    if (weighted < s.replicas) {
      throw new BuilderError(`${s.replicas} replicas need at least ${s.replicas} devices with weight; the ring has ${weighted}`);
    }
    if (s.partPower > MAX_REBALANCE_PART_POWER) {
      throw new BuilderError(`rebalance supports part power up to ${MAX_REBALANCE_PART_POWER}; this builder has ${s.partPower}`);
    }
    const parts = this.parts;
    s.lastPartMoves ??= new Uint8Array(parts);
    const old = s.replica2part2dev ? s.replica2part2dev.map((a) => a.slice()) : null;
    this.updateLastPartMoves(opts.now ?? Date.now() / 1000);
    const tree = buildTierTree(s.devs);
    const plan = buildReplicaPlan(tree, s.devs, s.replicas, s.overload, parts);
    if (!s.replica2part2dev) {
      s.replica2part2dev = Array.from({ length: s.replicas }, () => new Uint16Array(parts).fill(NONE_DEV));
    }
    const removed = new Uint8Array(s.devs.length);
    for (const id of s.removeDevIds) removed[id] = 1;
    const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 32);
    assignPartitions({
      parts, replicas: s.replicas, r2p2d: s.replica2part2dev, devs: s.devs, tree, plan,
      lastPartMoves: s.lastPartMoves, minPartHours: s.minPartHours, removed, random: seededRandom(seed),
    });
    let changed = 0;
    for (let r = 0; r < s.replicas; r++) {
      const now = s.replica2part2dev[r]!;
      const before = old?.[r];
      for (let p = 0; p < parts; p++) if (!before || before[p] !== now[p]) changed++;
    }
    const removedCount = s.removeDevIds.length;
    for (const id of s.removeDevIds) s.devs[id] = null;
    s.removeDevIds = [];
    s.dispersion = ringDispersion(s.devs, s.replica2part2dev, s.replicas);
    s.devsChanged = false;
    s.version++;
    return { changed, balance: this.balance(), dispersion: s.dispersion, removed: removedCount };
  }

  /** Swift's balance (percent); 0 before the first rebalance. */
  balance(): number {
    const s = this.state;
    if (!s.replica2part2dev || !s.devs.some((d) => d && d.weight > 0)) return 0;
    return ringBalance(s.devs, s.replica2part2dev, this.parts, s.replicas);
  }

  /** Swift's dispersion (percent), as of the last rebalance. */
  dispersion(): number {
    const s = this.state;
    return s.replica2part2dev ? ringDispersion(s.devs, s.replica2part2dev, s.replicas) : 0;
  }

  /** Part-replicas per device id. */
  partsPerDevice(): Int32Array {
    const s = this.state;
    return partsPerDevice(s.devs.length, s.replica2part2dev ?? []);
  }

  /** Throws BuilderError when the assignment is not a valid ring. */
  validate(): void {
    const s = this.state;
    if (!s.replica2part2dev) throw new BuilderError('the builder has never been rebalanced');
    validateAssignment(s.devs, s.replica2part2dev);
  }

  /** The ring for ring-file.ts: devices (holes as null) and the assignment arrays. */
  toRingData(): RingData {
    const s = this.state;
    if (!s.replica2part2dev) throw new BuilderError('the builder has never been rebalanced; run rebalance first');
    const devs = s.devs.map((d) => (d ? { ...d } : null));
    return { devs, partShift: 32 - s.partPower, replica2part2dev: s.replica2part2dev.map((a) => a.slice()), version: s.version };
  }
}
