/**
 * The controller's view of the state bucket (DESIGN.md, "State bucket"): reads the current
 * revision and its compiled state, publishes a new revision, reads the hosts that agents
 * registered (info.json) with their heartbeats (observed.json), and keeps one record per
 * pushed revision for the status API. Host documents are listed with their ETags first and
 * only those whose ETag changed are read again, so re-reading 200 unchanged hosts costs one
 * listing instead of 400 requests (each of which costs the S3 client about a millisecond of
 * CPU, a 304 more because the SDK turns it into an exception). A document is still read
 * (conditionally) at least every LISTING_TRUST_MS, in case a listing lags behind a write.
 */
import type { Readable } from 'node:stream';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  CURRENT_DESIRED_KEY, HOSTS_PREFIX, STATE_FORMAT_VERSION, desiredKey, hostDesiredKey, hostInfoKey, hostObservedKey, hostOfKey,
  type CurrentDesired, type DesiredState, type HostInfo, type HostObservedState,
} from '../../agents/contract/index.js';
import { canonicalJson } from '../../agents/contract/canonical-json.js';
import type { StateClient } from '../../objectstore/client/state-client.js';
import type { ObjectPutGet } from '../git/object-put-get.js';
import type { SchedulerHost } from '../plan/scheduler.js';
import { serializeDesired, serializeHost, type CompileResult } from '../plan/compile.js';

/** Per-revision records: accepted or rejected, with errors, applied and when. */
export const REVISIONS_PREFIX = 'state/revisions/';

export interface RevisionRecord {
  revision: string;
  ref: string;
  status: 'accepted' | 'rejected';
  /** Validation errors of a rejected revision, one line each. */
  errors: string[];
  /** Plan summary lines shown at push time. */
  summary: string[];
  /** ISO times. */
  checkedAt: string;
  appliedAt?: string;
}

/** Longest a cached host document is trusted on the word of a listing alone. */
export const LISTING_TRUST_MS = 30_000;

export function revisionKey(revision: string): string {
  if (!/^[0-9a-f]{40}$/.test(revision)) throw new Error(`not a commit id: ${JSON.stringify(revision)}`);
  return `${REVISIONS_PREFIX}${revision}.json`;
}

interface Cached<T> {
  etag: string;
  value: T;
  /** When a read (not a listing) last confirmed it (ms since epoch). */
  readAt: number;
}

export class ControllerStore {
  private readonly hostDocs = new Map<string, Cached<unknown>>();

  /** Documents actually read (GET, conditional or not) by hosts() and observed(); for tests. */
  reads = 0;

  constructor(
    readonly client: StateClient,
    private readonly clock: () => number = Date.now,
  ) {}

  async current(): Promise<CurrentDesired | undefined> {
    const r = await this.client.getJson<CurrentDesired>(CURRENT_DESIRED_KEY);
    return r.status === 'ok' ? r.value : undefined;
  }

  async desired(revision: string): Promise<DesiredState | undefined> {
    const r = await this.client.getJson<DesiredState>(desiredKey(revision));
    return r.status === 'ok' ? r.value : undefined;
  }

  /**
   * Publishes a compiled revision: every host whose share changed, then the whole state, then
   * `current.json` last, so a reader that sees the new pointer finds every document it names. A crash part-way leaves the old pointer; the next publish redoes it.
   */
  async publish(compiled: CompileResult, previous: DesiredState | undefined, now: Date): Promise<{ hostsWritten: string[] }> {
    const revision = compiled.desired.revision;
    const hostsWritten: string[] = [];
    // Hosts first: they are what agents act on, and nothing reads one to find the other (the
    // 26 MB whole state of a large repository would delay them); the pointer waits for all.
    await Promise.all(Object.keys(compiled.hosts).map(async (host) => {
      const before = previous?.hosts[host];
      const after = compiled.desired.hosts[host];
      if (before && after && before.hash === after.hash && before.revision === after.revision) return;
      await this.client.putJson(hostDesiredKey(host), serializeHost(compiled, host));
      hostsWritten.push(host);
    }));
    await this.client.putJson(desiredKey(revision), serializeDesired(compiled));
    const pointer: CurrentDesired = { formatVersion: STATE_FORMAT_VERSION, revision, time: now.toISOString() };
    await this.client.putJson(CURRENT_DESIRED_KEY, canonicalJson(pointer));
    return { hostsWritten: hostsWritten.sort() };
  }

  /** Hosts registered by agents, with the time of their last heartbeat. */
  async hosts(): Promise<SchedulerHost[]> {
    const listed = new Map<string, string>();
    for await (const o of this.client.list(HOSTS_PREFIX)) listed.set(o.key, o.etag);
    const names: string[] = [];
    for (const key of listed.keys()) {
      const h = hostOfKey(key);
      if (h && key === hostInfoKey(h)) names.push(h);
    }
    const out: SchedulerHost[] = [];
    await Promise.all(names.map(async (name) => {
      const info = await this.cachedRead<HostInfo>(hostInfoKey(name), listed.get(hostInfoKey(name)));
      if (!info) return;
      const observed = await this.cachedRead<HostObservedState>(hostObservedKey(name), listed.get(hostObservedKey(name)));
      out.push({
        name, zone: info.zone || 'default', vcpus: info.vcpus, memoryMiB: info.memoryMiB, diskGiB: info.diskGiB,
        lastHeartbeat: observed?.heartbeat ?? info.startedAt ?? 0,
      });
    }));
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Observed state of every registered host (for conditions and the status API). */
  async observed(host: string): Promise<HostObservedState | undefined> {
    return this.cachedRead<HostObservedState>(hostObservedKey(host));
  }

  async recordRevision(rec: RevisionRecord): Promise<void> {
    await this.client.putJson(revisionKey(rec.revision), canonicalJson(rec));
  }

  async revision(revision: string): Promise<RevisionRecord | undefined> {
    const r = await this.client.getJson<RevisionRecord>(revisionKey(revision));
    return r.status === 'ok' ? r.value : undefined;
  }

  /**
   * Keys under `prefix` in key order, starting after `startAfter` (for the status API's
   * event tail and usage records), at most `max` of them.
   */
  async listKeys(prefix: string, startAfter?: string, max = 10000): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.s3.send(new ListObjectsV2Command({
        Bucket: this.client.bucket, Prefix: prefix, ContinuationToken: token, ...(startAfter && !token ? { StartAfter: startAfter } : {}),
      }));
      for (const o of res.Contents ?? []) {
        if (out.length >= max) return out;
        out.push(o.Key!);
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /**
   * One JSON document, or undefined when it does not exist (read errors are thrown); read
   * conditionally, so re-reading an unchanged document costs a 304.
   */
  async readJson<T>(key: string): Promise<T | undefined> {
    return this.cachedRead<T>(key);
  }

  /** Writes one JSON document with canonical bytes (usage records). */
  async writeJson(key: string, value: unknown): Promise<void> {
    await this.client.putJson(key, canonicalJson(value));
  }

  /** The bucket as the Git backup sees it. */
  objects(): ObjectPutGet {
    return {
      put: async (key: string, body: Buffer | Readable) => this.client.putStream(key, body, 'application/x-tar'),
      get: async (key: string) => (await this.client.getStream(key))?.body ?? null,
    };
  }

  /**
   * A document through the cache: not read at all when a listing just gave the cached ETag
   * (and the cache was confirmed by a read within LISTING_TRUST_MS), else read conditionally.
   */
  private async cachedRead<T>(key: string, listedEtag?: string): Promise<T | undefined> {
    const cached = this.hostDocs.get(key) as Cached<T> | undefined;
    const now = this.clock();
    if (cached && listedEtag === cached.etag && now - cached.readAt < LISTING_TRUST_MS) return cached.value;
    this.reads++;
    const r = await this.client.getJson<T>(key, cached?.etag);
    if (r.status === 'not-modified') {
      cached!.readAt = now;
      return cached!.value;
    }
    if (r.status === 'missing') {
      this.hostDocs.delete(key);
      return undefined;
    }
    this.hostDocs.set(key, { etag: r.etag, value: r.value, readAt: now });
    return r.value;
  }
}
