/**
 * What the status API and usage metering read from (and, for usage records only, write to)
 * the state bucket: a small key/value interface. `ControllerStore` implements it over the
 * object store; `MemoryStateSource` implements it in memory for tests and the bench, with a
 * switch that makes chosen keys fail like a partly unreachable store.
 */

export interface StateSource {
  /** Keys under `prefix` in key order, after `startAfter` if given, at most `max`. */
  listKeys(prefix: string, startAfter?: string, max?: number): Promise<string[]>;
  /** The parsed document, undefined when it does not exist; throws when the store fails. */
  readJson<T>(key: string): Promise<T | undefined>;
  /** Writes a document (only usage records are written through this interface). */
  writeJson(key: string, value: unknown): Promise<void>;
}

/** A read or write that the (fake) store refused, like a 503 from a partly down cluster. */
export class StoreUnavailable extends Error {
  override name = 'StoreUnavailable';
}

export class MemoryStateSource implements StateSource {
  readonly docs = new Map<string, string>();
  /** Keys (or prefixes ending in '/') that fail while set. */
  readonly failing = new Set<string>();
  /** Number of calls, for tests that check caching. */
  calls = 0;
  private readonly parsed = new Map<string, { text: string; value: unknown }>();

  put(key: string, value: unknown): void {
    this.docs.set(key, JSON.stringify(value));
  }

  delete(key: string): void {
    this.docs.delete(key);
  }

  private check(key: string): void {
    this.calls++;
    for (const f of this.failing) {
      if (key === f || (f.endsWith('/') && key.startsWith(f)) || f === '*') throw new StoreUnavailable(`store unavailable for ${key}`);
    }
  }

  async listKeys(prefix: string, startAfter?: string, max = 10000): Promise<string[]> {
    this.check(prefix);
    const keys = [...this.docs.keys()].filter((k) => k.startsWith(prefix) && (!startAfter || k > startAfter)).sort();
    return keys.slice(0, max);
  }

  /** Unchanged documents come back as the same object (like the store client's ETag cache): treat them as read-only. */
  async readJson<T>(key: string): Promise<T | undefined> {
    this.check(key);
    const text = this.docs.get(key);
    if (text === undefined) return undefined;
    const hit = this.parsed.get(key);
    if (hit && hit.text === text) return hit.value as T;
    const value = JSON.parse(text) as T;
    this.parsed.set(key, { text, value });
    return value;
  }

  async writeJson(key: string, value: unknown): Promise<void> {
    this.check(key);
    this.put(key, value);
  }
}
