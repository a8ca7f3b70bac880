/**
 * The ring as storage nodes and the proxy use it: loads a Swift v1 ring file and answers
 * "which devices hold this account / container / object" exactly as OpenStack Swift 2.30.1's
 * `Ring.get_nodes` and `Ring.get_more_nodes` do for the same file and hash prefix/suffix.
 * It notices a changed ring file (mtime, size, md5) on `reloadIfChanged()` or on a `watch()`
 * timer, and keeps the old ring if the new file cannot be read.
 */
import { stat } from 'node:fs/promises';
import { hashPath, partitionOf, type HashConfig } from './hash.js';
import { readRingFile, type RingData, type RingFileInfo } from './ring-file.js';
import { buildHandoffTables, handoffIds, primaryIds, type HandoffTables } from './handoffs.js';
import type { RingDevice } from './device.js';

export type { RingDevice } from './device.js';
export type { HashConfig } from './hash.js';

/** How often `watch()` looks at the file, as Swift's DEFAULT_RELOAD_TIME. */
export const DEFAULT_RELOAD_INTERVAL_MS = 15_000;

export type PrimaryNode = RingDevice & { index: number };
export type HandoffNode = RingDevice & { handoff_index: number };

interface FileState extends RingFileInfo {
  mtimeMs: number;
}

export class Ring {
  #path: string;
  #hash: HashConfig;
  #tables!: HandoffTables;
  #data!: RingData;
  #file!: FileState;
  #timer: NodeJS.Timeout | undefined;
  #checking = false;
  /** Called with the error when a watched reload fails (the old ring stays in use). */
  onReloadError: (err: Error) => void = () => undefined;

  private constructor(path: string, hash: HashConfig) {
    this.#path = path;
    this.#hash = hash;
  }

  /** Reads a ring file; throws RingFileError when it is missing, truncated or corrupt. */
  static async load(path: string, hash: HashConfig): Promise<Ring> {
    const ring = new Ring(path, hash);
    const st = await stat(path).catch(() => undefined);
    const { data, info } = await readRingFile(path);
    ring.#install(data, { ...info, mtimeMs: st?.mtimeMs ?? 0 });
    return ring;
  }

  /** Builds a ring from data in memory (tests, the builder); `reloadIfChanged` then does nothing. */
  static fromData(data: RingData, hash: HashConfig): Ring {
    const ring = new Ring('', hash);
    ring.#install(data, { md5: '', size: 0, mtimeMs: 0 });
    return ring;
  }

  #install(data: RingData, file: FileState): void {
    this.#data = data;
    this.#file = file;
    this.#tables = buildHandoffTables(data.devs, data.replica2part2dev, data.partShift);
  }

  get path(): string { return this.#path; }
  get partPower(): number { return 32 - this.#data.partShift; }
  get partitionCount(): number { return this.#data.replica2part2dev[0]?.length ?? 0; }
  /** Replicas, fractional when the last replica covers only some partitions (as in Swift). */
  get replicaCount(): number {
    const r = this.#data.replica2part2dev;
    if (r.length === 0) return 0;
    return r.length - 1 + r[r.length - 1]!.length / r[0]!.length;
  }
  get devices(): ReadonlyArray<RingDevice | null> { return this.#data.devs; }
  /** The raw data (device table and assignment arrays); do not modify. */
  get data(): RingData { return this.#data; }
  /** md5 of the ring file's bytes as last loaded. */
  get md5(): string { return this.#file.md5; }

  getPart(account: string, container?: string, object?: string): number {
    return partitionOf(hashPath(account, container, object, this.#hash), this.partPower);
  }

  /** Primary devices of a partition, each once, with its position as `index`. */
  getPartNodes(part: number): PrimaryNode[] {
    return primaryIds(this.#tables, part).map((id, index) => ({ ...this.#data.devs[id]!, index }));
  }

  getNodes(account: string, container?: string, object?: string): { part: number; nodes: PrimaryNode[] } {
    const part = this.getPart(account, container, object);
    return { part, nodes: this.getPartNodes(part) };
  }

  /** Handoff devices of a partition, lazily, in Swift's order. */
  *getMoreNodes(part: number): Generator<HandoffNode> {
    let handoffIndex = 0;
    for (const id of handoffIds(this.#tables, part)) {
      yield { ...this.#data.devs[id]!, handoff_index: handoffIndex++ };
    }
  }

  /** Re-reads the file if it changed on disk (mtime/size/md5); returns true if reloaded. */
  async reloadIfChanged(): Promise<boolean> {
    if (!this.#path) return false;
    const st = await stat(this.#path);
    if (st.mtimeMs === this.#file.mtimeMs && st.size === this.#file.size) return false;
    const { data, info } = await readRingFile(this.#path);
    if (info.md5 === this.#file.md5) {
      this.#file = { ...info, mtimeMs: st.mtimeMs };
      return false;
    }
    this.#install(data, { ...info, mtimeMs: st.mtimeMs });
    return true;
  }

  /** Checks for changes every `intervalMs` (default 15 s) until close(). */
  watch(intervalMs = DEFAULT_RELOAD_INTERVAL_MS): void {
    this.close();
    this.#timer = setInterval(() => {
      if (this.#checking) return;
      this.#checking = true;
      this.reloadIfChanged()
        .catch((e: Error) => this.onReloadError(e))
        .finally(() => { this.#checking = false; });
    }, intervalMs);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
