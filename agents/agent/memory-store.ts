/**
 * In-memory AgentStore for unit and libvirt tests: desired documents with ETags (md5 of the
 * canonical bytes, so an unchanged document answers `not-modified`), observed state, host info,
 * events and image objects, all inspectable. `failNext` makes calls fail like an unreachable store.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../contract/canonical-json.js';
import type { HostDesiredState } from '../contract/desired.js';
import type { HostInfo, HostObservedState } from '../contract/observed.js';
import type { AgentEvent } from './events.js';
import type { AgentStore, ConditionalRead, ImageObject } from './store.js';

/** Size of the chunks image bodies are streamed in. */
const CHUNK_BYTES = 64 * 1024;

export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

export class MemoryAgentStore implements AgentStore {
  private readonly desired = new Map<string, { text: string; etag: string }>();
  readonly observed = new Map<string, HostObservedState>();
  readonly info = new Map<string, HostInfo>();
  readonly events: Array<{ key: string; event: AgentEvent }> = [];
  readonly images = new Map<string, Buffer>();
  /** Counts per operation (getDesired, getDesired304, putObserved, getImage…). */
  readonly calls: Record<string, number> = {};
  private failures = 0;

  setDesired(host: string, doc: HostDesiredState | unknown): void {
    const text = canonicalJson(doc);
    this.desired.set(host, { text, etag: createHash('md5').update(text).digest('hex') });
  }

  deleteDesired(host: string): void {
    this.desired.delete(host);
  }

  putImageBytes(bucket: string, key: string, bytes: Buffer): void {
    this.images.set(`${bucket}/${key}`, bytes);
  }

  /** The next `n` calls fail with StoreUnavailableError. */
  failNext(n = 1): void {
    this.failures = n;
  }

  private count(op: string): void {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    if (this.failures > 0) {
      this.failures--;
      throw new StoreUnavailableError(`store unavailable (${op})`);
    }
  }

  async getDesired(host: string, etag?: string): Promise<ConditionalRead<HostDesiredState>> {
    this.count('getDesired');
    const doc = this.desired.get(host);
    if (!doc) return { status: 'missing' };
    if (etag === doc.etag) {
      this.calls.notModified = (this.calls.notModified ?? 0) + 1;
      return { status: 'not-modified', etag };
    }
    return { status: 'ok', etag: doc.etag, value: JSON.parse(doc.text) as HostDesiredState };
  }

  async putObserved(host: string, observed: HostObservedState): Promise<void> {
    this.count('putObserved');
    this.observed.set(host, JSON.parse(canonicalJson(observed)) as HostObservedState);
  }

  async putInfo(host: string, info: HostInfo): Promise<void> {
    this.count('putInfo');
    this.info.set(host, structuredClone(info));
  }

  async putEvent(key: string, event: AgentEvent): Promise<void> {
    this.count('putEvent');
    this.events.push({ key, event: structuredClone(event) });
  }

  async getImage(bucket: string, key: string): Promise<ImageObject | undefined> {
    this.count('getImage');
    const bytes = this.images.get(`${bucket}/${key}`);
    if (!bytes) return undefined;
    return {
      size: bytes.length,
      body: (async function* () {
        for (let i = 0; i < bytes.length; i += CHUNK_BYTES) yield bytes.subarray(i, i + CHUNK_BYTES);
      })(),
    };
  }
}
