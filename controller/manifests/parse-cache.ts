/**
 * Parsed manifest files kept between validations, keyed by path and content, so a controller
 * that validates commit after commit parses only the files that changed (YAML parsing is most
 * of the cost of validating a large repository). A source that knows a content id for each
 * file (a git blob oid) lets a cached file be used without reading it at all; otherwise the
 * bytes are read and hashed.
 *
 * Entries not used by the last `KEEP_GENERATIONS` validations are dropped, so the cache holds
 * about one commit's worth of manifests.
 */
import { createHash } from 'node:crypto';
import type { LineCounter } from 'yaml';
import type { ManifestError } from './errors.js';
import type { ParsedFile } from './parse.js';

const KEEP_GENERATIONS = 2;

export interface CachedFile {
  parsed: ParsedFile;
  /** Problems found in this file alone (syntax, schema, one-document checks). */
  errors: ManifestError[];
  lines: LineCounter;
}

type Entry = CachedFile & { generation: number };

export class ParseCache {
  private readonly entries = new Map<string, Entry>();
  private generation = 0;
  /**
   * Path, content id and entry of each file by its position in the last validation's listing:
   * the next listing of a large repository holds the same files at the same positions, found
   * here without building and hashing 10,000 keys (`at`).
   */
  private last: { paths: string[]; ids: string[]; entries: Entry[] } = { paths: [], ids: [], entries: [] };
  private next: { paths: string[]; ids: string[]; entries: Entry[] } = { paths: [], ids: [], entries: [] };
  /** Files served from the cache in the last validation. */
  hits = 0;
  misses = 0;

  /** Key of a file: its path and its content id (or a hash of its bytes). */
  static key(path: string, contentId: string): string {
    return `${path}\0${contentId}`;
  }

  static contentId(bytes: Buffer): string {
    return createHash('sha1').update(bytes).digest('hex');
  }

  /** Starts a validation: entries unused for too long are dropped. */
  begin(): void {
    this.generation++;
    this.hits = 0;
    this.misses = 0;
    this.last = this.next;
    this.next = { paths: [], ids: [], entries: [] };
    for (const [k, e] of this.entries) if (e.generation <= this.generation - 1 - KEEP_GENERATIONS) this.entries.delete(k);
  }

  get(key: string): CachedFile | undefined {
    const e = this.entries.get(key);
    if (e) { e.generation = this.generation; this.hits++; } else this.misses++;
    return e;
  }

  set(key: string, file: CachedFile): void {
    this.entries.set(key, { ...file, generation: this.generation });
  }

  /**
   * The file at position `i` of this validation's listing, with content id `id`: found by its
   * position in the last listing when it is the same file there, else by key. Remembered by
   * position for the next validation (`setAt` does it for files parsed now).
   */
  at(i: number, path: string, id: string): CachedFile | undefined {
    const l = this.last;
    let e: Entry | undefined;
    if (l.paths[i] === path && l.ids[i] === id) {
      e = l.entries[i]!;
      e.generation = this.generation;
      this.hits++;
    } else {
      e = this.get(ParseCache.key(path, id)) as Entry | undefined;
    }
    if (e) this.place(i, path, id, e);
    return e;
  }

  /** `set` for the file at position `i` of this validation's listing, whose content id is `id`. */
  setAt(i: number, path: string, id: string, file: CachedFile): void {
    const e: Entry = { ...file, generation: this.generation };
    this.entries.set(ParseCache.key(path, id), e);
    this.place(i, path, id, e);
  }

  private place(i: number, path: string, id: string, e: Entry): void {
    this.next.paths[i] = path;
    this.next.ids[i] = id;
    this.next.entries[i] = e;
  }

  get size(): number {
    return this.entries.size;
  }
}
