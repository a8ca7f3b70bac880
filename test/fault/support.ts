/**
 * What every fault scenario shares: a cluster tuned for quick background passes, a random
 * workload whose every acknowledged write is remembered (size and MD5) and read back byte for
 * byte, the dispersion wait, and the one machine-readable result line per scenario:
 *
 *   FAULT-RESULT {"scenario":…,"attempted":…,"acknowledged":…,"lost":…,"corruptServed":…,
 *                 "secondsToFullReplication":…}
 *
 * Counts scale with RINGSTACK_FAULT_SCALE (default 1; e.g. 5 for a longer run).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Test } from 'tap';
import type { ObjectBackend } from '../../objectstore/proxy/backend.js';
import type { TestCluster } from '../../objectstore/cluster/test-cluster.js';
import { checkDispersion, type DispersionResult, type ObjectName } from '../../objectstore/dispersion/check.js';
import { listedObjects } from '../../objectstore/dispersion/objects.js';
import type { Ring } from '../../objectstore/ring/ring.js';
import { nodePath } from '../../objectstore/node/protocol.js';

export const SCALE = Math.max(0.01, Number(process.env.RINGSTACK_FAULT_SCALE ?? '1') || 1);
/** Pause between replicator passes in the fault clusters. */
export const REPLICATOR_INTERVAL_MS = 5_000;
/** The promise: full replica count within one replicator interval plus this. */
export const REPLICATION_SLACK_MS = 60_000;
export const ACCOUNT = 'acct';
export const MAX_SMALL = 256 * 1024;

/** Node settings for fault clusters: quick replicator, auditor and ring reloads. */
export function quickNodes(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ringWatchMs: 500,
    replicator: { intervalMs: REPLICATOR_INTERVAL_MS, concurrency: 4 },
    auditor: { intervalMs: 2_000, filesPerSecond: 2_000, bytesPerSecond: 200 * 1024 * 1024 },
    ...overrides,
  };
}

export const scaled = (n: number) => Math.max(1, Math.round(n * SCALE));

export interface FaultResult {
  scenario: string;
  attempted: number;
  acknowledged: number;
  lost: number;
  corruptServed: number;
  secondsToFullReplication: number | null;
  [k: string]: unknown;
}

export function report(t: Test, r: FaultResult): void {
  t.comment(`FAULT-RESULT ${JSON.stringify(r)}`);
}

/** A random size: mostly 1 B–256 KiB (log-uniform), every 100th 1–4 MiB. */
export function randomSize(i: number): number {
  if (i % 100 === 99) return (1 + Math.floor(Math.random() * 4)) * 1024 * 1024 - Math.floor(Math.random() * 1000);
  return Math.max(1, Math.floor(Math.exp(Math.random() * Math.log(MAX_SMALL))));
}

export const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

export interface Written {
  name: string;
  size: number;
  md5: string;
}

/** Writes one object; resolves with what was written once acknowledged. */
export async function putRandom(b: ObjectBackend, container: string, name: string, size: number): Promise<Written> {
  const body = randomBytes(size);
  await b.putObject(ACCOUNT, container, name, { body: Readable.from([body]), contentLength: size });
  return { name, size, md5: md5(body) };
}

/**
 * Runs `count` writes with `concurrency` workers; `onProgress(done)` runs after each
 * attempt (e.g. to kill a node at some point). Failed writes are counted, not thrown.
 */
export async function writeMany(b: ObjectBackend, container: string, count: number, concurrency: number,
  onProgress: (attempted: number) => Promise<void> | void = () => undefined, prefix = 'o'): Promise<{ acked: Written[]; failed: number }> {
  const acked: Written[] = [];
  let failed = 0;
  let next = 0;
  let attempted = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      try {
        acked.push(await putRandom(b, container, `${prefix}${String(i).padStart(6, '0')}`, randomSize(i)));
      } catch {
        failed++;
      }
      await onProgress(++attempted);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { acked, failed };
}

export type ReadOutcome = 'ok' | 'missing' | 'corrupt' | 'error';

/**
 * Reads an object whole and compares it with what was written. 'corrupt' = a complete body
 * with other bytes (what must never happen); 'error' = the read failed or was cut short (a
 * refused or aborted read is allowed to happen, a wrong body is not).
 */
export async function readBack(b: ObjectBackend, container: string, w: Written): Promise<ReadOutcome> {
  let body: Readable;
  try {
    body = (await b.getObject(ACCOUNT, container, w.name)).body;
  } catch (e) {
    return (e as { status?: number }).status === 404 ? 'missing' : 'error';
  }
  const h = createHash('md5');
  let n = 0;
  try {
    for await (const c of body) {
      h.update(c as Buffer);
      n += (c as Buffer).length;
    }
  } catch {
    return 'error';
  }
  if (n !== w.size) return n < w.size ? 'error' : 'corrupt';
  return h.digest('hex') === w.md5 ? 'ok' : 'corrupt';
}

/** Reads every written object back; returns the outcomes' counts. */
export async function verifyAll(b: ObjectBackend, container: string, written: Written[], concurrency = 8): Promise<Record<ReadOutcome, number>> {
  const out: Record<ReadOutcome, number> = { ok: 0, missing: 0, corrupt: 0, error: 0 };
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < written.length) out[await readBack(b, container, written[next++]!)]++;
  }));
  return out;
}

/**
 * Polls the dispersion of the objects (listed in the containers, or given) until every
 * replica is in place or `timeoutMs` passes; returns the seconds it took (null on timeout)
 * and the last result.
 */
export async function waitFullDispersion(c: TestCluster, what: { containers?: string[]; names?: ObjectName[] },
  timeoutMs: number, ring: Ring = c.rings.object): Promise<{ seconds: number | null; last: DispersionResult }> {
  const start = Date.now();
  const key = (n: ObjectName) => `${n.account}/${n.container}/${n.object}`;
  // Objects seen with every copy are not probed again until a full check confirms the whole
  // set: probing all of them every second (a HEAD per copy) loaded the nodes whose repair
  // it was timing.
  const seenComplete = new Set<string>();
  const check = (names: ObjectName[]) => checkDispersion(names, {
    ring, secret: c.secret, client: c.backend.client,
    onObject: (n, missing) => { if (missing === 0) seenComplete.add(key(n)); else seenComplete.delete(key(n)); },
  });
  for (;;) {
    let names = what.names ?? [];
    if (what.containers) {
      names = [];
      for (const ct of what.containers) names.push(...await listedObjects(c.backend, ACCOUNT, ct));
    }
    const pending = names.filter((n) => !seenComplete.has(key(n)));
    const part = await check(pending);
    const last = part.complete === part.objects ? await check(names) : undefined;
    if (last && last.complete === last.objects) return { seconds: (Date.now() - start) / 1000, last };
    if (Date.now() - start > timeoutMs) return { seconds: null, last: last ?? await check(names) };
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export function namesOf(container: string, written: Written[]): ObjectName[] {
  return written.map((w) => ({ account: ACCOUNT, container, object: w.name }));
}

/** Object names each container replica lists (read from every replica directly, not merged). */
export async function replicaListings(c: TestCluster, container: string): Promise<Array<Set<string>>> {
  const { part, nodes } = c.rings.container.getNodes(ACCOUNT, container);
  return Promise.all(nodes.map(async (n) => {
    const names = new Set<string>();
    let marker = '';
    for (;;) {
      const q = new URLSearchParams({ limit: '10000', ...(marker ? { marker } : {}) });
      const r = await c.backend.client.fetchText({
        host: n.ip, port: n.port, method: 'GET', path: `${nodePath('cont', n.device, part, ACCOUNT, container)}?${q}`,
      });
      if (r.status !== 200) throw new Error(`listing of ${n.device} answered ${r.status}`);
      const page = JSON.parse(r.text) as { entries: Array<{ name?: string }>; truncated: boolean };
      const got = page.entries.filter((e) => e.name !== undefined).map((e) => e.name!);
      for (const x of got) names.add(x);
      if (!page.truncated || got.length === 0) return names;
      marker = got[got.length - 1]!;
    }
  }));
}
