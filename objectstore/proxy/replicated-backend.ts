/**
 * ObjectBackend over the rings and the storage nodes: the replicated data path.
 *
 * - Object writes go to the object ring's primaries (handoffs for failed ones) via
 *   put-fanout.ts and succeed only on a majority (floor(n/2)+1) of fsynced replicas.
 * - Reads ask a majority of replicas at once and serve the newest timestamp (a tombstone
 *   newer than any data means 404), so a read after an acknowledged write sees it even when
 *   one node is down or came back stale. `newest` asks every primary.
 * - Every write to one object name goes through a per-name lock in this proxy; conditional
 *   PUTs (If-None-Match: * / If-Match) check a newest HEAD inside that lock. Limit: the lock
 *   is per proxy process; two proxies racing on one name can both pass the check (Swift has
 *   the same limit). Run one proxy, or route a name to one proxy, when that matters.
 * - Containers live on the container ring's nodes, accounts on the account ring's; object
 *   node i sends its listing row to container node i; container nodes roll stats up to the
 *   account nodes.
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import type {
  AccountInfo, ContainerEntry, ContainerInfo, GetObjectOptions, GetObjectResult, ListOptions, ListPage,
  ObjectBackend, ObjectEntry, ObjectInfo, PutObjectInput,
} from './backend.js';
import {
  BadRequest, ChecksumMismatch, Conflict, NotFound, PreconditionFailed, QuorumNotReached, RangeNotSatisfiable, ServiceUnavailable,
} from '../common/errors.js';
import { KeyedLock } from '../common/keyed-lock.js';
import { NodeClient, type NodeResponse } from '../node/node-client.js';
import { ReadBatcher } from '../node/read-batch.js';
import { WriteBatcher } from '../node/write-batch.js';
import { WholeBody } from '../common/whole-body.js';
import {
  checkNames, decodeJsonHeader, encodeJsonHeader, H_BACKEND_TIMESTAMP, H_CONTAINER_TARGET, H_CONTENT_LENGTH,
  H_EXPECTED_ETAG, H_METADATA, nodePath, UNKNOWN_DEVICE_STATUS, TimestampClock, timestampMs, type NodeKind, type WireMetadata,
} from '../node/protocol.js';
import { formatTarget } from '../node/container-update.js';
import { listOptionsToQuery } from '../node/list-query.js';
import {
  fanoutPut, smallPut, readSmallBody, targetsOfSlot, targetsOwed, ConflictNewer, SMALL_OBJECT_BYTES, type FanoutNode, type FanoutResult,
} from './put-fanout.js';
import { sendRowsOwed } from './rows-owed.js';
import type { Ring } from '../ring/ring.js';

/** How long a container known to exist is trusted before asking again. */
export const CONTAINER_EXISTS_CACHE_MS = 5_000;
/** Handoffs tried per request beyond the primaries, as a multiple of the replica count. */
const HANDOFF_FACTOR = 2;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

export interface ProxyRings {
  object: Ring;
  container: Ring;
  account: Ring;
}

export interface ReplicatedBackendOptions {
  rings: ProxyRings;
  secret: string;
  nodeTimeoutMs?: number;
}

interface Dev {
  ip: string;
  port: number;
  device: string;
}

/** A node's answer; `res` holds its body when the caller kept it (streamed, or whole from a read batch). */
type Answer = { status: number; headers: NodeResponse['headers']; res?: { body: Readable }; dev?: Dev };
type NodeAnswer = Answer & { dev: Dev };

const quorumOf = (n: number) => Math.floor(n / 2) + 1;
const ok = (s: number) => s >= 200 && s < 300;
/** A real answer about the name (not a dead node, full/unknown device or server error). */
const answered = (s: number) => s !== 0 && s !== 507 && s !== UNKNOWN_DEVICE_STATUS && s < 500;

export class ReplicatedBackend implements ObjectBackend {
  readonly client: NodeClient;
  private readonly clock = new TimestampClock();
  private readonly writeLock = new KeyedLock();
  private readonly containerSeen = new Map<string, number>();
  private readonly accountsSeen = new Set<string>();
  private readonly timeoutMs: number;
  /** Small GETs and the version checks on the other replicas, batched per node (node/read-batch.ts). */
  private readonly reads: ReadBatcher;
  private readonly writes: WriteBatcher;

  constructor(private readonly opts: ReplicatedBackendOptions) {
    this.client = new NodeClient(opts.secret);
    this.timeoutMs = opts.nodeTimeoutMs ?? 10_000;
    this.reads = new ReadBatcher(this.client, this.timeoutMs, (host, port, path) => this.ask({ ip: host, port, device: '' }, 'HEAD', path));
    this.writes = new WriteBatcher(this.client, this.timeoutMs);
  }

  close(): void {
    this.client.close();
  }

  // ------------------------------------------------------------ node plumbing

  private ring(kind: NodeKind): Ring {
    return kind === 'obj' ? this.opts.rings.object : kind === 'cont' ? this.opts.rings.container : this.opts.rings.account;
  }

  /** Primaries then a bounded number of handoffs of the name's partition. */
  private nodesFor(kind: NodeKind, a: string, c?: string, o?: string): { part: number; primaries: Dev[]; all: () => Generator<Dev> } {
    const ring = this.ring(kind);
    const { part, nodes } = ring.getNodes(a, c, o);
    const maxHandoffs = Math.ceil(ring.replicaCount) * HANDOFF_FACTOR;
    return {
      part, primaries: nodes,
      all: function* () {
        yield* nodes;
        let i = 0;
        for (const h of ring.getMoreNodes(part)) {
          if (i++ >= maxHandoffs) return;
          yield h;
        }
      },
    };
  }

  private async ask(dev: Dev, method: string, path: string, timestamp = '', headers: Record<string, string> = {},
    keepBody = false): Promise<Answer> {
    try {
      const res = await this.client.request({ host: dev.ip, port: dev.port, method, path, timestamp, headers, timeoutMs: this.timeoutMs });
      if (!keepBody) res.body.resume();
      return { status: res.status, headers: res.headers, res: keepBody ? res : undefined };
    } catch {
      return { status: 0, headers: {} };
    }
  }

  /** A HEAD's status and timestamp, asked in the node's next read batch. */
  private async checkVersion(dev: Dev, path: string): Promise<Answer> {
    const a = await this.reads.read(dev.ip, dev.port, path, 'HEAD');
    return { status: a.status, headers: a.headers };
  }

  /**
   * A plain GET (no Range, no query) in the node's next read batch; a body too large for a
   * batch, or a node without batches, gets a request of its own.
   */
  private async batchedGet(dev: Dev, path: string): Promise<Answer> {
    const a = await this.reads.read(dev.ip, dev.port, path, 'GET');
    if (a.askAlone) return this.ask(dev, 'GET', path, '', {}, true);
    return { status: a.status, headers: a.headers, res: a.body ? { body: new WholeBody(a.body) } : undefined };
  }

  /**
   * Sends a write to the primaries (a failing primary is replaced by a handoff) and returns
   * the answers of the nodes that answered with something other than a failure; `bySlot[i]` is
   * primary i's answer or its handoff's (undefined when none answered).
   */
  private async writeAll(kind: NodeKind, method: string, a: string, c: string | undefined, o: string | undefined,
    ts: string, headers: Record<string, string> = {}, extra?: (index: number) => Record<string, string>): Promise<{
    answers: NodeAnswer[]; replicas: number; bySlot: Array<NodeAnswer | undefined>;
  }> {
    const { part, primaries, all } = this.nodesFor(kind, a, c, o);
    const it = all();
    for (let i = 0; i < primaries.length; i++) it.next(); // handoffs only
    const bySlot: Array<NodeAnswer | undefined> = primaries.map(() => undefined);
    await Promise.all(primaries.map(async (p, i) => {
      let dev: Dev = p;
      for (;;) {
        const devPath = nodePath(kind, dev.device, part, a, c, o);
        const r = await this.ask(dev, method, devPath, ts, { ...headers, ...(extra?.(i) ?? {}) });
        if (answered(r.status)) {
          bySlot[i] = { ...r, dev };
          return;
        }
        const next = it.next();
        if (next.done) return;
        dev = next.value;
      }
    }));
    return { answers: bySlot.filter((x): x is NodeAnswer => x !== undefined), replicas: primaries.length, bySlot };
  }

  /**
   * Reads from `want` nodes at once (failures replaced by the next node) and returns every
   * answer that is not a failure, each with the node that gave it. Bodies are kept when
   * `keepBody`. With `headOthers`, only the first reader sends `method` (and keeps its body);
   * the others only report the version they hold (a HEAD's status and timestamp, batched per
   * node: node/read-batch.ts), compared without streaming a body for nothing. A plain object
   * GET goes in that batch too when its body is small.
   */
  private async readSome(kind: NodeKind, method: string, a: string, c: string | undefined, o: string | undefined,
    want: number, headers: Record<string, string> = {}, keepBody = false, query = '',
    headOthers = false): Promise<{ answers: Answer[]; rest: Generator<Dev>; part: number }> {
    const { part, all } = this.nodesFor(kind, a, c, o);
    const it = all();
    const answers: Answer[] = [];
    const batchable = kind === 'obj' && method === 'GET' && keepBody && query === '' && Object.keys(headers).length === 0;
    const worker = async (index: number) => {
      const head = headOthers && index > 0;
      for (;;) {
        const n = it.next();
        if (n.done) return;
        const path = nodePath(kind, n.value.device, part, a, c, o) + query;
        const r = head ? await this.checkVersion(n.value, path)
          : batchable ? await this.batchedGet(n.value, path)
            : await this.ask(n.value, method, path, '', headers, keepBody);
        if (answered(r.status)) {
          answers.push({ ...r, dev: n.value });
          return;
        }
        r.res?.body.resume();
      }
    };
    await Promise.all(Array.from({ length: want }, (_, i) => worker(i)));
    return { answers, rest: it, part };
  }

  private replicas(kind: NodeKind): number {
    return Math.ceil(this.ring(kind).replicaCount);
  }

  // ----------------------------------------------------------------- accounts

  private async ensureAccount(a: string): Promise<void> {
    if (this.accountsSeen.has(a)) return;
    const ts = this.clock.next();
    const { answers, replicas } = await this.writeAll('acct', 'PUT', a, undefined, undefined, ts);
    if (answers.filter((r) => ok(r.status)).length < quorumOf(replicas)) {
      throw new ServiceUnavailable('account nodes unavailable');
    }
    this.accountsSeen.add(a);
  }

  async headAccount(account: string): Promise<AccountInfo> {
    checkNames(account);
    const r = await this.firstGood('acct', 'HEAD', account);
    if (!r) return { containerCount: 0, objectCount: 0, bytesUsed: 0, meta: {}, createdAt: 0 };
    const info = decodeJsonHeader<AccountInfo>(r.headers[H_METADATA] as string, 'metadata')!;
    return { containerCount: info.containerCount, objectCount: info.objectCount, bytesUsed: info.bytesUsed, meta: info.meta, createdAt: info.createdAt };
  }

  async listContainers(account: string, opts: ListOptions = {}): Promise<ListPage<ContainerEntry>> {
    checkNames(account);
    const r = await this.firstGood('acct', 'GET', account, undefined, listOptionsToQuery(opts), true);
    if (!r) return { entries: [], truncated: false };
    return JSON.parse(await readText(r.res!)) as ListPage<ContainerEntry>;
  }

  async postAccount(account: string, meta: Record<string, string>): Promise<void> {
    checkNames(account);
    await this.ensureAccount(account);
    const ts = this.clock.next();
    const { answers, replicas } = await this.writeAll('acct', 'POST', account, undefined, undefined, ts,
      { [H_METADATA]: encodeJsonHeader({ meta }) });
    if (answers.filter((r) => ok(r.status)).length < quorumOf(replicas)) throw new QuorumNotReached('account update not stored');
  }

  /**
   * The first 2xx answer, asking the nodes one after another; undefined when a majority of
   * the replicas answered 404 (or no node has it).
   */
  private async firstGood(kind: NodeKind, method: string, a: string, c?: string, query = '', keepBody = false): Promise<Answer | undefined> {
    const { part, all } = this.nodesFor(kind, a, c);
    let notFound = 0;
    let failures = 0;
    for (const dev of all()) {
      const r = await this.ask(dev, method, nodePath(kind, dev.device, part, a, c) + query, '', {}, keepBody);
      if (ok(r.status)) return r;
      r.res?.body.resume();
      if (r.status === 404) notFound++;
      else failures++;
      if (notFound >= quorumOf(this.replicas(kind))) return undefined;
    }
    if (notFound > 0) return undefined;
    throw new ServiceUnavailable(`no ${kind === 'acct' ? 'account' : 'container'} node answered (${failures} failures)`);
  }

  // --------------------------------------------------------------- containers

  async putContainer(account: string, container: string, meta?: Record<string, string>,
    headers?: Record<string, string>): Promise<{ created: boolean }> {
    checkNames(account, container);
    await this.ensureAccount(account);
    const ts = this.clock.next();
    const h: Record<string, string> = {};
    if (meta || headers) h[H_METADATA] = encodeJsonHeader({ meta, headers });
    const { answers, replicas } = await this.writeAll('cont', 'PUT', account, container, undefined, ts, h);
    const good = answers.filter((r) => ok(r.status));
    if (good.length < quorumOf(replicas)) throw new QuorumNotReached('container not stored on a majority of nodes');
    this.containerSeen.set(`${account}/${container}`, Date.now());
    return { created: good.some((r) => r.status === 201) };
  }

  async headContainer(account: string, container: string): Promise<ContainerInfo> {
    checkNames(account, container);
    const r = await this.firstGood('cont', 'HEAD', account, container);
    if (!r) throw new NotFound(`container ${container} not found`, 'container');
    const i = decodeJsonHeader<ContainerInfo>(r.headers[H_METADATA] as string, 'metadata')!;
    return { objectCount: i.objectCount, bytesUsed: i.bytesUsed, meta: i.meta, headers: i.headers, createdAt: i.createdAt };
  }

  async postContainer(account: string, container: string, meta: Record<string, string>,
    headers?: Record<string, string>): Promise<void> {
    checkNames(account, container);
    const ts = this.clock.next();
    const { answers, replicas } = await this.writeAll('cont', 'POST', account, container, undefined, ts,
      { [H_METADATA]: encodeJsonHeader({ meta, headers }) });
    const q = quorumOf(replicas);
    if (answers.filter((r) => ok(r.status)).length >= q) return;
    if (answers.filter((r) => r.status === 404).length >= q) throw new NotFound(`container ${container} not found`, 'container');
    throw new QuorumNotReached('container metadata not stored on a majority of nodes');
  }

  async deleteContainer(account: string, container: string): Promise<void> {
    checkNames(account, container);
    const ts = this.clock.next();
    this.containerSeen.delete(`${account}/${container}`);
    const { answers, replicas } = await this.writeAll('cont', 'DELETE', account, container, undefined, ts);
    if (answers.some((r) => r.status === 409)) throw new Conflict(`container ${container} is not empty`, 'not-empty');
    const q = quorumOf(replicas);
    if (answers.filter((r) => ok(r.status)).length >= 1 && answers.filter((r) => ok(r.status) || r.status === 404).length >= q) return;
    if (answers.filter((r) => r.status === 404).length >= q) throw new NotFound(`container ${container} not found`, 'container');
    throw new QuorumNotReached('container delete not stored on a majority of nodes');
  }

  async listObjects(account: string, container: string, opts: ListOptions = {}): Promise<ListPage<ObjectEntry>> {
    checkNames(account, container);
    const r = await this.firstGood('cont', 'GET', account, container, listOptionsToQuery(opts), true);
    if (!r) throw new NotFound(`container ${container} not found`, 'container');
    return JSON.parse(await readText(r.res!)) as ListPage<ObjectEntry>;
  }

  private async requireContainer(account: string, container: string): Promise<void> {
    const key = `${account}/${container}`;
    const seen = this.containerSeen.get(key);
    if (seen !== undefined && Date.now() - seen < CONTAINER_EXISTS_CACHE_MS) return;
    await this.headContainer(account, container);
    this.containerSeen.set(key, Date.now());
  }

  /**
   * The container replicas an object write names, target i for object replica i (Swift: object
   * node i updates container node i). Where the rings put a container replica on the node of
   * an object primary, it is that primary's target, so the node applies the row in process
   * (node/row-batch.ts); the rest follow in ring order.
   */
  private containerTargets(account: string, container: string, objectPrimaries: Dev[]): string[] {
    const { part, nodes } = this.opts.rings.container.getNodes(account, container);
    const left: Dev[] = [...nodes];
    const same = objectPrimaries.map((o) => {
      const k = left.findIndex((n) => n.ip === o.ip && n.port === o.port);
      return k < 0 ? undefined : left.splice(k, 1)[0];
    });
    const ordered = [...same.map((n) => n ?? left.shift()), ...left].filter((n): n is Dev => n !== undefined);
    return ordered.map((n) => formatTarget({ host: n.ip, port: n.port, device: n.device, part }));
  }

  // ------------------------------------------------------------------ objects

  async putObject(account: string, container: string, object: string, input: PutObjectInput): Promise<ObjectInfo> {
    checkNames(account, container, object);
    if (input.contentLength !== undefined && (!Number.isSafeInteger(input.contentLength) || input.contentLength < 0)) {
      input.body.resume();
      throw new BadRequest('bad Content-Length');
    }
    return this.writeLock.run(`${account}/${container}/${object}`, async () => {
      try {
        await this.requireContainer(account, container);
        if (input.ifNoneMatchStar || input.ifMatch !== undefined) await this.checkPrecondition(account, container, object, input);
      } catch (e) {
        input.body.resume();
        throw e;
      }
      const ts = this.clock.next();
      const contentType = input.contentType || DEFAULT_CONTENT_TYPE;
      const wire: WireMetadata = { contentType, meta: input.meta ?? {}, headers: input.headers ?? {} };
      const { part, primaries, all } = this.nodesFor('obj', account, container, object);
      const targets = this.containerTargets(account, container, primaries);
      const base: Record<string, string> = { [H_METADATA]: encodeJsonHeader(wire) };
      if (input.contentLength !== undefined) base[H_CONTENT_LENGTH] = String(input.contentLength);
      if (input.expectedMd5) base[H_EXPECTED_ETAG] = input.expectedMd5.toLowerCase();
      const nodes = (function* (): Generator<FanoutNode> {
        for (const dev of all()) {
          yield { host: dev.ip, port: dev.port, path: nodePath('obj', dev.device, part, account, container, object), headers: base };
        }
      })();
      try {
        let r: FanoutResult;
        if (input.contentLength !== undefined && input.contentLength <= SMALL_OBJECT_BYTES) {
          const body = await readSmallBody(input.body, input.contentLength);
          const etag = createHash('md5').update(body).digest('hex');
          if (input.expectedMd5 && input.expectedMd5.toLowerCase() !== etag) {
            throw new ChecksumMismatch('body MD5 differs from the given Content-MD5/ETag');
          }
          r = await smallPut(this.writes, {
            nodes, replicas: this.replicas('obj'), timestamp: ts, body, etag, containerTargets: targets,
          });
        } else {
          r = await fanoutPut(this.client, {
            nodes, replicas: this.replicas('obj'), timestamp: ts, body: input.body,
            // A client's MD5 is checked before the body is committed, and by the nodes (H_EXPECTED_ETAG in `base`).
            contentLength: input.contentLength, connectTimeoutMs: this.timeoutMs,
            containerTargets: targets, expectedMd5: input.expectedMd5?.toLowerCase(),
          });
        }
        await sendRowsOwed(this.client, r.storedOn, r.rowsOwed, { ts, size: r.length, etag: r.etag, contentType }, this.timeoutMs);
        return {
          etag: r.etag, contentLength: r.length, contentType, lastModified: timestampMs(ts), timestamp: ts,
          meta: wire.meta, headers: wire.headers,
        };
      } catch (e) {
        if (e instanceof ConflictNewer) throw new Conflict('a newer version of the object exists', 'older');
        throw e;
      }
    });
  }

  private async checkPrecondition(a: string, c: string, o: string, input: PutObjectInput): Promise<void> {
    let cur: ObjectInfo | undefined;
    try {
      cur = await this.headObject(a, c, o, { newest: true });
    } catch (e) {
      if (!(e instanceof NotFound)) throw e;
    }
    if (input.ifNoneMatchStar && cur) throw new PreconditionFailed('object exists (If-None-Match: *)');
    if (input.ifMatch !== undefined) {
      const want = input.ifMatch.replace(/"/g, '').trim().toLowerCase();
      if (!cur || (want !== '*' && cur.etag !== want)) throw new PreconditionFailed('ETag does not match (If-Match)');
    }
  }

  /**
   * Reads a majority (or all primaries for `newest`) and picks the newest answer; when none has
   * the object and no tombstone was seen, keeps looking through the other nodes. A GET asks one
   * replica for the body and the rest of the majority for a HEAD (a 16 MiB GET used to start
   * two bodies and throw one away, with its connection); when a HEAD shows a newer version
   * than the body's, the body is fetched again from that replica.
   */
  private async readNewest(a: string, c: string, o: string, method: 'GET' | 'HEAD', newest: boolean,
    headers: Record<string, string>): Promise<Answer> {
    const want = newest ? this.replicas('obj') : quorumOf(this.replicas('obj'));
    const get = method === 'GET';
    const { answers, rest, part } = await this.readSome('obj', method, a, c, o, want, headers, get, '', get);
    const pick = (list: Answer[]): Answer | undefined => {
      let best: Answer | undefined;
      let bestTs = '';
      for (const r of list) {
        const ts = String(r.headers[H_BACKEND_TIMESTAMP] ?? '');
        const candidate = r.status === 200 || r.status === 206 || r.status === 204 || r.status === 416 || (r.status === 404 && ts);
        if (!candidate) continue;
        // On equal timestamps the answer that carries the body wins.
        if (!best || ts > bestTs || (ts === bestTs && r.res && !best.res)) {
          best = r;
          bestTs = ts;
        }
      }
      return best;
    };
    let best = pick(answers);
    for (const r of answers) if (r !== best) r.res?.body.destroy();
    if (get && best && !best.res && best.status !== 404 && best.dev) {
      // A HEAD saw a newer version than the body we got: read the body from that replica, or
      // (it failed, e.g. its copy is corrupt) from any other node that has that version.
      const want = String(best.headers[H_BACKEND_TIMESTAMP] ?? '');
      const others = answers.filter((r) => r !== best && r.dev && String(r.headers[H_BACKEND_TIMESTAMP] ?? '') === want)
        .map((r) => r.dev!);
      let served: Answer | undefined;
      for (const dev of [best.dev, ...others, ...rest]) {
        const r = await this.ask(dev, 'GET', nodePath('obj', dev.device, part, a, c, o), '', headers, true);
        if ((r.status === 200 || r.status === 206 || r.status === 416) && String(r.headers[H_BACKEND_TIMESTAMP] ?? '') >= want) {
          served = r;
          break;
        }
        r.res?.body.resume();
      }
      if (!served) throw new ServiceUnavailable('no replica served the newest version');
      best = served;
    }
    if (!best && answers.length === 0) throw new ServiceUnavailable('no storage node answered');
    if (!best) {
      // Nobody in the majority knows the name: look further (written while nodes were down).
      for (const dev of rest) {
        const r = await this.ask(dev, method, nodePath('obj', dev.device, part, a, c, o), '', headers, method === 'GET');
        if (r.status === 200 || r.status === 206 || r.status === 416) {
          best = r;
          break;
        }
        r.res?.body.resume();
      }
    }
    if (!best || best.status === 404) throw new NotFound(`object ${o} not found`, 'object');
    return best;
  }

  private infoFrom(h: NodeResponse['headers']): ObjectInfo {
    const wire = decodeJsonHeader<WireMetadata>(h[H_METADATA] as string, 'metadata')!;
    const ts = String(h[H_BACKEND_TIMESTAMP]);
    return {
      etag: String(h.etag), contentLength: Number(h[H_CONTENT_LENGTH]), contentType: wire.contentType,
      lastModified: timestampMs(ts), timestamp: ts, meta: wire.meta, headers: wire.headers,
    };
  }

  async headObject(account: string, container: string, object: string, opts: { newest?: boolean } = {}): Promise<ObjectInfo> {
    checkNames(account, container, object);
    const r = await this.readNewest(account, container, object, 'HEAD', !!opts.newest, {});
    return this.infoFrom(r.headers);
  }

  async getObject(account: string, container: string, object: string, opts: GetObjectOptions = {}): Promise<GetObjectResult> {
    checkNames(account, container, object);
    const headers: Record<string, string> = {};
    const rg = opts.range;
    if (rg) {
      if (rg.suffix !== undefined) headers.range = `bytes=-${rg.suffix}`;
      else headers.range = `bytes=${rg.start ?? 0}-${rg.end ?? ''}`;
    }
    const r = await this.readNewest(account, container, object, 'GET', !!opts.newest, headers);
    if (r.status === 416) {
      r.res?.body.resume();
      throw new RangeNotSatisfiable('range not satisfiable', Number(r.headers[H_CONTENT_LENGTH]));
    }
    const info = this.infoFrom(r.headers);
    const body = r.res!.body;
    if (r.status === 206) {
      const m = /^bytes (\d+)-(\d+)\//.exec(String(r.headers['content-range']));
      return { info, body, range: m ? { start: Number(m[1]), end: Number(m[2]) } : undefined };
    }
    // A body framed by the node's Content-Length fails itself when fewer bytes come, and must
    // reach the front end unwrapped to be relayed without copies (node/lean-body.ts).
    if (r.headers['content-length'] === String(info.contentLength)) return { info, body };
    return { info, body: checkLength(body, info.contentLength) };
  }

  async postObject(account: string, container: string, object: string, meta: Record<string, string>,
    headers?: Record<string, string>): Promise<void> {
    checkNames(account, container, object);
    await this.writeLock.run(`${account}/${container}/${object}`, async () => {
      const cur = await this.headObject(account, container, object);
      const ts = this.clock.next();
      const wire: WireMetadata = {
        contentType: headers?.['content-type'] ?? cur.contentType, meta, headers: { ...cur.headers, ...(headers ?? {}) },
      };
      delete wire.headers['content-type'];
      const { answers, replicas } = await this.writeAll('obj', 'POST', account, container, object, ts,
        { [H_METADATA]: encodeJsonHeader(wire) });
      const q = quorumOf(replicas);
      if (answers.filter((r) => ok(r.status)).length >= q) return;
      if (answers.filter((r) => r.status === 404).length >= q) throw new NotFound(`object ${object} not found`);
      throw new QuorumNotReached('metadata not stored on a majority of nodes');
    });
  }

  async deleteObject(account: string, container: string, object: string): Promise<void> {
    checkNames(account, container, object);
    await this.writeLock.run(`${account}/${container}/${object}`, async () => {
      const ts = this.clock.next();
      const { part, primaries } = this.nodesFor('obj', account, container, object);
      const targets = this.containerTargets(account, container, primaries);
      const { answers, replicas, bySlot } = await this.writeAll('obj', 'DELETE', account, container, object, ts, {},
        (i): Record<string, string> => {
          const mine = targetsOfSlot(targets, i, primaries.length);
          return mine.length ? { [H_CONTAINER_TARGET]: mine.join(',') } : {};
        });
      const q = quorumOf(replicas);
      const stored = answers.filter((r) => ok(r.status) || r.status === 404 || r.status === 409);
      if (stored.length < q) throw new QuorumNotReached('delete not stored on a majority of nodes');
      // 404: no object there, but the node wrote the tombstone and sent its rows all the same.
      const tombstoned = (a: NodeAnswer | undefined): a is NodeAnswer => a !== undefined && (ok(a.status) || a.status === 404);
      const via = bySlot.filter(tombstoned).map(({ dev }) => ({
        host: dev.ip, port: dev.port, path: nodePath('obj', dev.device, part, account, container, object),
      }));
      await sendRowsOwed(this.client, via, targetsOwed(targets, bySlot.map(tombstoned)), { ts, size: 0, etag: '', contentType: '', deleted: true }, this.timeoutMs);
      if (!answers.some((r) => ok(r.status))) throw new NotFound(`object ${object} not found`);
    });
  }
}

async function readText(r: { body: Readable }): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of r.body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Passes a full-object body through and fails the stream unless exactly `length` bytes came
 * (for a node whose Content-Length disagrees with the object's recorded length). The MD5 is
 * checked by the storage node while it serves the object: it holds the last chunk back and
 * cuts the response short on a mismatch (node/server.ts getObject), which fails this stream, so
 * the front end's response stays short of its Content-Length and the client sees an error,
 * never a complete wrong body. Hashing every byte again here cost the single proxy
 * process a third of its CPU on large GETs.
 */
function checkLength(body: Readable, length: number): Readable {
  let seen = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > length) return cb(new Error(`replica sent more than the ${length} bytes it announced`));
      cb(null, chunk);
    },
    flush(cb) {
      cb(seen === length ? null : new Error(`replica sent ${seen} of ${length} bytes`));
    },
  });
  body.on('error', (e) => t.destroy(e));
  t.on('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  return body.pipe(t);
}
