/**
 * AgentStore: everything the agent reads from and writes to the object store, as a small
 * interface so unit tests run on an in-memory twin (memory-store.ts) and production on the
 * S3 API through the shared StateClient (StateClientAgentStore below).
 *
 * - desired state: `state/hosts/<host>/desired.json`, read with If-None-Match (a 304 is cheap)
 * - observed state and host info: written as canonical JSON
 * - events: one object each under `state/events/`
 * - images: streamed from any bucket of the same endpoint
 */
import { canonicalJson } from '../contract/canonical-json.js';
import type { HostDesiredState } from '../contract/desired.js';
import { hostDesiredKey, hostInfoKey, hostObservedKey } from '../contract/keys.js';
import type { HostInfo, HostObservedState } from '../contract/observed.js';
import { StateClient, type ConditionalRead, type StateClientOptions } from '../../objectstore/client/state-client.js';
import type { AgentEvent } from './events.js';

export type { ConditionalRead } from '../../objectstore/client/state-client.js';

/** An image object being read: its bytes and their announced length. */
export interface ImageObject {
  body: AsyncIterable<Uint8Array>;
  size: number;
}

export interface AgentStore {
  /** The host's desired state; `not-modified` when `etag` still matches. */
  getDesired(host: string, etag?: string): Promise<ConditionalRead<HostDesiredState>>;
  putObserved(host: string, observed: HostObservedState): Promise<void>;
  putInfo(host: string, info: HostInfo): Promise<void>;
  /** Writes one event under `key` (contract eventKey). */
  putEvent(key: string, event: AgentEvent): Promise<void>;
  /** Streams an image object; undefined when it does not exist. */
  getImage(bucket: string, key: string): Promise<ImageObject | undefined>;
  close?(): void;
}

/** The AgentStore over the S3 API (the built-in store or any S3-compatible endpoint). */
export class StateClientAgentStore implements AgentStore {
  private readonly state: StateClient;
  private readonly others = new Map<string, StateClient>();

  constructor(private readonly options: StateClientOptions) {
    this.state = new StateClient(options);
  }

  getDesired(host: string, etag?: string): Promise<ConditionalRead<HostDesiredState>> {
    return this.state.getJson<HostDesiredState>(hostDesiredKey(host), etag);
  }

  async putObserved(host: string, observed: HostObservedState): Promise<void> {
    await this.state.putJson(hostObservedKey(host), canonicalJson(observed));
  }

  async putInfo(host: string, info: HostInfo): Promise<void> {
    await this.state.putJson(hostInfoKey(host), canonicalJson(info));
  }

  async putEvent(key: string, event: AgentEvent): Promise<void> {
    await this.state.putJson(key, canonicalJson(event));
  }

  async getImage(bucket: string, key: string): Promise<ImageObject | undefined> {
    const got = await this.client(bucket).getStream(key);
    return got && { body: got.body, size: got.size };
  }

  private client(bucket: string): StateClient {
    if (bucket === this.state.bucket) return this.state;
    let c = this.others.get(bucket);
    if (!c) {
      c = new StateClient({ ...this.options, bucket });
      this.others.set(bucket, c);
    }
    return c;
  }

  close(): void {
    this.state.close();
    for (const c of this.others.values()) c.close();
  }
}
