/**
 * Source offsets of a manifest's fields by path (a SourceRef's `pos`), held as two parallel
 * arrays instead of a Map. A manifest has a few dozen paths, each written once while it is
 * checked and read again only to point a message at a field; but the positions of every
 * manifest of a commit are kept (by the parse cache, 15,000 manifests at 10,000 instances),
 * and there a Map's hash table costs about three times as much memory (23 MB).
 * The paths are walk.ts's interned strings, so a look-up mostly compares pointers.
 */
import type { PositionMap } from './types.js';

/** Path lists shared by manifests of the same shape (10,000 instances written alike share a handful). */
const sharedPaths = new Map<string, readonly string[]>();
const MAX_SHARED_PATH_LISTS = 10_000;

export class Positions implements PositionMap {
  private paths: readonly string[] = [];
  /** Grown by `set`; `compact` turns it into exact-size 32-bit offsets (files are at most a few MB). */
  private offsets: number[] | Int32Array = [];

  /** Records `offset` for `path` (a later record of the same path wins, as with Map.set). */
  set(path: string, offset: number): this {
    if (this.offsets instanceof Int32Array) {
      // Compacted: the path list may be shared, so write to copies.
      this.paths = this.paths.slice();
      this.offsets = Array.from(this.offsets);
    }
    (this.paths as string[]).push(path);
    this.offsets.push(offset);
    return this;
  }

  /**
   * Called once a manifest is fully read: its offsets become exact-size 32-bit numbers and its
   * path list is shared with every other manifest of the same shape (the parse cache keeps
   * 15,000 manifests at 10,000 instances; their position tables were 22 MB, mostly the same
   * path lists over and over).
   */
  compact(): void {
    const key = this.paths.join('\n');
    let shared = sharedPaths.get(key);
    if (!shared) {
      shared = this.paths.slice();
      if (sharedPaths.size < MAX_SHARED_PATH_LISTS) sharedPaths.set(key, shared);
    }
    this.paths = shared;
    this.offsets = Int32Array.from(this.offsets);
  }

  get(path: string): number | undefined {
    const i = this.paths.lastIndexOf(path);
    return i < 0 ? undefined : this.offsets[i];
  }

  has(path: string): boolean {
    return this.paths.lastIndexOf(path) >= 0;
  }
}
