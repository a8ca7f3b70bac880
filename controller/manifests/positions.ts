/**
 * Source offsets of a manifest's fields by path (a SourceRef's `pos`), held as two parallel
 * arrays instead of a Map. A manifest has a few dozen paths, each written once while it is
 * checked and read again only to point a message at a field; but the positions of every
 * manifest of a commit are kept (by the parse cache, 15,000 manifests at 10,000 instances),
 * and there a Map's hash table costs about three times as much memory (23 MB).
 * The paths are walk.ts's interned strings, so a look-up mostly compares pointers.
 */
import type { PositionMap } from './types.js';

export class Positions implements PositionMap {
  private readonly paths: string[] = [];
  private readonly offsets: number[] = [];

  /** Records `offset` for `path` (a later record of the same path wins, as with Map.set). */
  set(path: string, offset: number): this {
    this.paths.push(path);
    this.offsets.push(offset);
    return this;
  }

  get(path: string): number | undefined {
    const i = this.paths.lastIndexOf(path);
    return i < 0 ? undefined : this.offsets[i];
  }

  has(path: string): boolean {
    return this.paths.lastIndexOf(path) >= 0;
  }
}
