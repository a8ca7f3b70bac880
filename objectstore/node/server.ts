/**
 * The storage node's HTTP server (Swift's object, container and account servers in one
 * process, on plain node:http for low per-request cost). Every request must carry the
 * cluster HMAC (hmac.ts); URLs and headers are those of protocol.ts.
 *
 * Objects (diskfile.ts): PUT streams the body to a temp file while computing its MD5 (unless
 * the proxy hashed it: H_PROXY_HASHES) and its CRC-32C (the disk layer's writer records it), checks
 * the declared length and the MD5 the proxy sends as a trailer, makes the file durable and
 * only then answers 201; it then sends the listing row to the container node the proxy named
 * (container-update.ts; in process when that is this node), queueing it durably when that
 * fails. A POST with a row relays rows the proxy owes for a version stored here. PUT supports
 * `Expect: 100-continue`, so the proxy learns of 507/409/401 before it streams anything.
 * Large replica bodies come unframed instead (raw-put.ts) and go from the socket to the file
 * outside JavaScript; they pass the same checks here.
 * `POST /reads` answers several small GETs and version checks at once (read-batch.ts), each as
 * its own request would; `POST /writes` stores several small PUTs (write-batch.ts), each
 * through the same storeObject as a single PUT.
 * Containers and accounts (container-db.ts, account-db.ts) live in the device's LevelDB;
 * container stats roll up to the account nodes (accountTargets) from a loop.
 */
import { logToStderr } from '../common/log.js';
import http from 'node:http';
import type net from 'node:net';
import { createHash, type Hash } from 'node:crypto';
import { closeSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import {
  BadRequest, Conflict, IncompleteBody, InsufficientStorage, StoreError, TooLarge, Unauthorized,
  ChecksumMismatch,
} from '../common/errors.js';
import { hashPath, partitionOf, type HashConfig } from '../ring/hash.js';
import { verifyRequest, AUTH_HEADER, CONNECTION_SCOPE, H_AUTH_SCOPE } from './hmac.js';
import {
  parseNodePath, isTimestamp, H_TIMESTAMP, H_METADATA, H_CONTENT_LENGTH, H_EXPECTED_ETAG, T_ETAG,
  H_CONTAINER_TARGET, H_BACKEND_TIMESTAMP, H_ROW, H_REPLICATION, H_PROXY_HASHES, MAX_OBJECT_BYTES, encodeJsonHeader, decodeJsonHeader,
  type ParsedNodePath, type WireMetadata, formatTimestamp, UNKNOWN_DEVICE_STATUS,
} from './protocol.js';
import {
  DiskFiles, DeviceFull, DeviceUnavailable, ObjectConflict, readObjectBody, FOOTER_READ_BYTES, type DiskMetadata, type ObjectWriter,
} from './diskfile.js';
import { join } from 'node:path';
import { quarantineHashDir } from '../auditor/quarantine.js';
import { BodyMismatch, bodyCheckOf, verifyBody } from '../auditor/verify-stream.js';
import { sendFileRange } from './send-file.js';
import { dropAfterRead } from './page-cache.js';
import { smallWriteLogAvailable } from './small-write-log.js';
import { DeviceDbs } from './device-db.js';
import { ContainerDb, type ObjectRow } from './container-db.js';
import { AccountDb, type ContainerRow } from './account-db.js';
import { listOptionsFromQuery } from './list-query.js';
import { NodeClient } from './node-client.js';
import {
  CONTAINER_UPDATE_TIMEOUT_MS, parseTarget, PendingQueue, type PendingUpdate, type Target,
} from './container-update.js';
import { LocalNode } from '../common/local-node.js';
import { acceptRawPuts, rawBodies } from './raw-put.js';
import { batchReads, encodeAnswers, MAX_BATCHED_BODY_BYTES, READS_PATH, type BatchedRead } from './read-batch.js';
import { decodeWrites, encodeWriteAnswers, MAX_WRITES_BODY_BYTES, WRITES_PATH, type BatchedWrite } from './write-batch.js';
import { badRow, isObjectRow, listingRow, MAX_ROWS_PER_BATCH, readBody, readJsonBody, RowBatcher, ROWS_PATH, type WireRow } from './row-batch.js';

/**
 * Whole-object GETs up to this size are read and checked (CRC-32C, or MD5 for files without
 * one: auditor/verify-stream.ts) before the first byte is sent.
 */
export const VERIFY_BEFORE_SEND_BYTES = 1024 * 1024;
const MD5_HEX = /^[0-9a-f]{32}$/;
/** Body bytes gathered before one write to disk. */
const WRITE_BATCH_BYTES = 1024 * 1024;
export const DEFAULT_UPDATER_INTERVAL_MS = 5_000;
export const DEFAULT_ROLLUP_INTERVAL_MS = 1_000;
const KEEP_ALIVE_TIMEOUT_MS = 60_000;
const HEADERS_TIMEOUT_MS = 30_000;

export interface NodeServerOptions {
  devicesDir: string;
  secret: string;
  hash: HashConfig;
  /** Part power of the rings (partitions must be < 2^partPower and match the name's hash). */
  partPower: number;
  /** Bytes each device must keep free; writes that would eat into it get 507. */
  reserveBytes?: number;
  /** fsync LevelDB writes (container/account rows). */
  dbSync?: boolean;
  /** The account nodes of an account (for container stats roll-up). */
  accountTargets?: (account: string) => Target[];
  updaterIntervalMs?: number;
  rollupIntervalMs?: number;
  log?: (msg: string) => void;
  /**
   * Extra routes outside the /obj, /cont, /acct namespace (REPLICATE, recon), tried after the
   * cluster signature is checked; return true when the request was answered.
   */
  routes?: (method: string, url: string, req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>;
  /**
   * Take large replica bodies unframed (raw-put.ts); true unless false. False makes the node
   * answer as one from before them, for the tests of a proxy meeting such a node.
   */
  rawBodies?: boolean;
  /**
   * Small writes are made durable through each device's small-write log (small-write-log.ts);
   * on by default where the addon's syncfs is there. False: an fsync per file and directory.
   */
  smallWriteLog?: boolean;
  /** How often the small-write logs are checkpointed (synced and removed). */
  logCheckpointMs?: number;
}

/** Logs are checkpointed this often: a crash replays at most about this much of the writes. */
export const DEFAULT_LOG_CHECKPOINT_MS = 5000;

export interface RunningNode {
  server: http.Server;
  port: number;
  /** The node's databases and client, for in-process workers (the container replicator). */
  storage: StorageNode;
  close(): Promise<void>;
}

function errorStatus(e: unknown): number {
  if (e instanceof ObjectConflict) return 409;
  if (e instanceof StoreError) return e.status;
  if (e instanceof DeviceUnavailable) return 507;
  if (e instanceof DeviceFull) return 507;
  if ((e as NodeJS.ErrnoException)?.code === 'ENOSPC' || (e as NodeJS.ErrnoException)?.code === 'EDQUOT') return 507;
  return 500;
}

function send(res: http.ServerResponse, status: number, headers: Record<string, string> = {}, body = ''): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const b = Buffer.from(body);
  res.writeHead(status, { ...headers, 'content-length': String(b.length) });
  res.end(b);
}

/** The headers of an object version's GET or HEAD (before Content-Length and Content-Range). */
function objectHeaders(meta: DiskMetadata, bodySize: number): Record<string, string> {
  return {
    etag: meta.etag,
    [H_BACKEND_TIMESTAMP]: meta.timestamp,
    [H_METADATA]: encodeJsonHeader({ contentType: meta.contentType, meta: meta.meta, headers: meta.headers }),
    [H_CONTENT_LENGTH]: String(bodySize),
  };
}

/** A batch item's status and headers (read-batch.ts, write-batch.ts). */
interface BatchedStatus {
  status: number;
  headers: Record<string, string>;
}

/** The object's name as it is stored in its metadata: `/account/container/object`. */
function objectName(p: ParsedNodePath): string {
  return `/${p.account}/${p.container}/${p.object}`;
}

/** What a PUT's headers say, checked: the same for a single PUT and a batched one. */
interface PutHeaders {
  ts: string;
  /** The body's length; undefined when a chunked client did not say. */
  declared?: number;
  wire: WireMetadata;
  /** The client's MD5 (Content-MD5/ETag), checked against the body. */
  expected?: string;
  /** The proxy's MD5 when it sends it as a header rather than a trailer. */
  etag?: string;
  targets: Target[];
  replication: boolean;
  /** The proxy hashed the body: the node trusts its MD5 instead of hashing again. */
  proxyHashes: boolean;
}

/** The request's X-Timestamp; 400 when it is missing or not a timestamp. */
function requireTimestamp(headers: http.IncomingHttpHeaders): string {
  const ts = headers[H_TIMESTAMP];
  if (typeof ts !== 'string' || !isTimestamp(ts)) throw new BadRequest('missing or bad X-Timestamp');
  return ts;
}

function putHeaders(headers: http.IncomingHttpHeaders): PutHeaders {
  const ts = requireTimestamp(headers);
  const lenHeader = headers[H_CONTENT_LENGTH] ?? headers['content-length'];
  if (lenHeader !== undefined && (typeof lenHeader !== 'string' || !/^\d{1,13}$/.test(lenHeader))) {
    throw new BadRequest('bad content length');
  }
  const declared = lenHeader === undefined ? undefined : Number(lenHeader);
  if (declared !== undefined && declared > MAX_OBJECT_BYTES) throw new TooLarge(`object larger than ${MAX_OBJECT_BYTES} bytes`);
  return {
    ts,
    declared,
    wire: decodeJsonHeader<WireMetadata>(headers[H_METADATA] as string | undefined, 'metadata')
      ?? { contentType: 'application/octet-stream', meta: {}, headers: {} },
    expected: headers[H_EXPECTED_ETAG] as string | undefined,
    etag: headers[T_ETAG] as string | undefined,
    targets: parseTargets(headers[H_CONTAINER_TARGET]),
    replication: headers[H_REPLICATION] === '1',
    proxyHashes: headers[H_PROXY_HASHES] === '1',
  };
}

/** A storage node bound to its devices folder. */
export class StorageNode {
  readonly disk: DiskFiles;
  readonly dbs: DeviceDbs;
  readonly client: NodeClient;
  readonly pending: PendingQueue;
  /** Listing rows to container nodes, coalesced per node (row-batch.ts). */
  readonly rows: RowBatcher;
  /** Connections whose signed request passed: their later requests need no signature (hmac.ts). */
  private readonly trusted = new WeakSet<net.Socket>();
  private readonly opts: Required<Omit<NodeServerOptions, 'accountTargets' | 'log' | 'routes' | 'rawBodies'>> & NodeServerOptions;
  private timers: NodeJS.Timeout[] = [];
  private busyUpdater = false;
  private busyRollup = false;
  private closing = false;
  private readonly containerDbs = new WeakMap<object, ContainerDb>();
  private readonly accountDbs = new WeakMap<object, AccountDb>();
  /** This node's own address, once it listens: rows for its container replicas skip HTTP. */
  private self?: LocalNode;

  constructor(opts: NodeServerOptions) {
    this.opts = {
      reserveBytes: 0, dbSync: true, updaterIntervalMs: DEFAULT_UPDATER_INTERVAL_MS,
      rollupIntervalMs: DEFAULT_ROLLUP_INTERVAL_MS, logCheckpointMs: DEFAULT_LOG_CHECKPOINT_MS, ...opts,
      smallWriteLog: opts.smallWriteLog ?? smallWriteLogAvailable,
    };
    this.disk = new DiskFiles({
      devicesDir: opts.devicesDir, reserveBytes: this.opts.reserveBytes, smallWriteLog: this.opts.smallWriteLog,
    });
    this.dbs = new DeviceDbs(opts.devicesDir);
    this.client = new NodeClient(opts.secret);
    this.pending = new PendingQueue(this.dbs);
    this.rows = new RowBatcher(this.client, CONTAINER_UPDATE_TIMEOUT_MS,
      (w, ip, port) => (this.self?.owns({ ip, port }) ? this.applyWireRow(w) : undefined));
  }

  /** Called once the server listens; from then on rows for this node are applied in process. */
  listeningOn(host: string, port: number): void {
    this.self = new LocalNode(host, port);
  }

  private log(msg: string): void {
    (this.opts.log ?? logToStderr)(msg);
  }

  /** Handles one request (both 'request' and 'checkContinue'). */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, expectContinue: boolean): Promise<void> {
    try {
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      const ts = (req.headers[H_TIMESTAMP] as string | undefined) ?? '';
      if (!this.trusted.has(req.socket)) {
        if (!verifyRequest(this.opts.secret, method, url, ts, req.headers[AUTH_HEADER] as string | undefined)) {
          throw new Unauthorized('missing or invalid cluster signature');
        }
        // The connection is authenticated from here on (hmac.ts).
        this.trusted.add(req.socket);
        res.setHeader(H_AUTH_SCOPE, CONNECTION_SCOPE);
      }
      if (this.opts.routes && await this.opts.routes(method, url, req, res)) return;
      if (url === ROWS_PATH) return await this.handleRowBatch(method, req, res);
      if (url === READS_PATH) return await this.handleReadBatch(method, req, res);
      if (url === WRITES_PATH) return await this.handleWriteBatch(method, req, res);
      const p = parseNodePath(url);
      if (rawBodies.has(req) && (method !== 'PUT' || p.kind !== 'obj')) throw new BadRequest('a raw body is for object PUTs only');
      const digest = this.checkPartition(p);
      if (!(await this.disk.hasDevice(p.device))) {
        return send(res, UNKNOWN_DEVICE_STATUS, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' },
          `unknown device ${p.device}\n`);
      }
      if (p.kind === 'obj') {
        if (p.object === undefined) throw new BadRequest('object path needs account, container and object');
        await this.handleObject(method, p, digest.toString('hex'), req, res, expectContinue);
      } else if (p.kind === 'cont') {
        if (p.container === undefined) throw new BadRequest('container path needs account and container');
        if (expectContinue) res.writeContinue();
        await this.handleContainer(method, p, req, res);
      } else {
        if (expectContinue) res.writeContinue();
        await this.handleAccount(method, p, req, res);
      }
    } catch (e) {
      const status = errorStatus(e);
      if (status >= 500 && status !== 507 && !this.closing) this.log(`node: ${req.method} ${req.url}: ${(e as Error).stack}`);
      const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
      if (e instanceof ObjectConflict) headers[H_BACKEND_TIMESTAMP] = e.existing;
      // A refused upload: do not read its body; close the connection instead.
      if (req.method === 'PUT' && (!req.complete || rawBodies.has(req))) headers.connection = 'close';
      send(res, e instanceof ObjectConflict ? 409 : status, headers, `${(e as Error).message}\n`);
    }
  }

  /** The digest of the path, once its partition is checked (handlers reuse it). */
  private checkPartition(p: ParsedNodePath): Buffer {
    const limit = 2 ** this.opts.partPower;
    if (p.part >= limit) throw new BadRequest(`partition ${p.part} out of range (part power ${this.opts.partPower})`);
    const c = p.kind === 'acct' ? undefined : p.container;
    const o = p.kind === 'obj' ? p.object : undefined;
    const digest = hashPath(p.account, c, o, this.opts.hash);
    if (partitionOf(digest, this.opts.partPower) !== p.part) throw new BadRequest(`partition ${p.part} does not hold this name`);
    return digest;
  }

  // ---------------------------------------------------------------- objects

  private async handleObject(method: string, p: ParsedNodePath, hash: string, req: http.IncomingMessage,
    res: http.ServerResponse, expectContinue: boolean): Promise<void> {
    const name = objectName(p);
    switch (method) {
      case 'PUT': return this.putObject(p, hash, req, res, expectContinue);
      case 'GET':
      case 'HEAD': return this.getObject(p, hash, req, res, method === 'HEAD');
      case 'DELETE': return this.deleteObject(p, hash, name, req, res);
      case 'POST': return req.headers[H_ROW] !== undefined ? this.relayRows(p, hash, req, res) : this.postObject(p, hash, name, req, res);
      default: throw new BadRequest(`method ${method} not allowed`);
    }
  }

  private async putObject(p: ParsedNodePath, hash: string, req: http.IncomingMessage,
    res: http.ServerResponse, expectContinue: boolean): Promise<void> {
    const h = putHeaders(req.headers);
    // The proxy streams chunked and declares the length; absent = length unknown (chunked client).
    if (h.declared === undefined && req.headers['transfer-encoding'] === undefined) throw new BadRequest('missing content length');
    const raw = rawBodies.get(req);
    if (raw && (h.declared === undefined || !h.proxyHashes || h.replication)) {
      throw new BadRequest(`a raw body needs ${H_CONTENT_LENGTH} and ${H_PROXY_HASHES}`);
    }
    let started = false;
    try {
      const etag = await this.storeObject(p, hash, h, async (writer, md5) => {
        started = true;
        if (expectContinue) res.writeContinue();
        if (raw) return { received: h.declared!, trailers: await raw.receive(writer, h.declared!) };
        return { received: await this.receiveFramed(req, writer, h.declared, md5), trailers: req.trailers };
      });
      send(res, 201, { etag, [H_BACKEND_TIMESTAMP]: h.ts });
    } catch (e) {
      if (started && !(e instanceof StoreError) && !(e instanceof ObjectConflict) && !(raw ? raw.complete : req.complete)) {
        // The sender went away mid-body: nothing was written; no one is listening.
        res.destroy();
        return;
      }
      throw e;
    }
  }

  /**
   * Stores one object version: the PUT of a single request and each PUT of a write batch
   * (write-batch.ts). `receive` puts the body into the writer (hashing it into `md5` when
   * given) once the version is known to be newer than what is here; it answers the length and
   * any trailers. Returns the ETag; nothing stays behind when it throws.
   */
  private async storeObject(p: ParsedNodePath, hash: string, h: PutHeaders,
    receive: (writer: ObjectWriter, md5: Hash | undefined) => Promise<{ received: number; trailers: Record<string, string | undefined> }>,
  ): Promise<string> {
    await this.disk.checkSpace(p.device, h.declared ?? 0);
    const existing = await this.disk.newestTimestamp(p.device, p.part, hash, h.replication);
    if (existing && existing >= h.ts) throw new ObjectConflict(existing);
    const writer = await this.disk.createWriter(p.device, p.part, hash, 'data', { ignoreMeta: h.replication });
    // Replication pushes are always hashed here: they must prove the copy is intact.
    const md5 = h.proxyHashes && !h.replication ? undefined : createHash('md5');
    try {
      const { received, trailers } = await receive(writer, md5);
      if (h.declared !== undefined && received !== h.declared) throw new IncompleteBody(`body has ${received} bytes, ${h.declared} declared`);
      const trailer = trailers[T_ETAG] ?? h.etag;
      let etag: string;
      if (md5) {
        etag = md5.digest('hex');
        if (trailer !== undefined && trailer !== etag) throw new ChecksumMismatch('body MD5 differs from the proxy\'s');
      } else {
        if (trailer === undefined || !MD5_HEX.test(trailer)) throw new BadRequest(`${H_PROXY_HASHES} without an MD5 in the ${T_ETAG} trailer`);
        etag = trailer;
      }
      if (h.expected && h.expected.toLowerCase() !== etag) throw new ChecksumMismatch('body MD5 differs from the declared ETag');
      const targets = [...h.targets, ...parseTargets(trailers[H_CONTAINER_TARGET])];
      const meta: DiskMetadata = { ...h.wire, name: objectName(p), timestamp: h.ts, etag, contentLength: received };
      const row: ObjectRow = { ts: h.ts, size: received, etag, contentType: h.wire.contentType };
      await this.finishWithUpdates(p, hash, writer, meta, targets, row);
      return etag;
    } catch (e) {
      await writer.abort();
      if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new InsufficientStorage('device full');
      throw e;
    }
  }

  /**
   * Reads a node:http request body into `writer` (hashing it when `md5`); returns its length.
   * Chunks are gathered into ~1 MiB batches and written with one writev while the next batch
   * is read: few system calls, at most two batches in memory per upload. When it throws, no
   * write is under way any more.
   */
  private async receiveFramed(req: http.IncomingMessage, writer: ObjectWriter, declared: number | undefined,
    md5: ReturnType<typeof createHash> | undefined): Promise<number> {
    let received = 0;
    let batch: Buffer[] = [];
    let batchBytes = 0;
    let inFlight: Promise<void> = Promise.resolve();
    try {
      for await (const chunk of req) {
        const b = chunk as Buffer;
        received += b.length;
        if (received > (declared ?? MAX_OBJECT_BYTES)) throw new IncompleteBody('body longer than declared');
        md5?.update(b);
        batch.push(b);
        batchBytes += b.length;
        if (batchBytes >= WRITE_BATCH_BYTES) {
          await inFlight;
          inFlight = writer.writev(batch);
          batch = [];
          batchBytes = 0;
        }
      }
      await inFlight;
    } catch (e) {
      await inFlight.catch(() => undefined);
      throw e;
    }
    if (batch.length) await writer.writev(batch);
    return received;
  }

  /**
   * Makes the object version durable; its listing rows are sent (see container-update.ts) as
   * soon as the version is in place, while the directory fsync runs, and only the rows no
   * container node took are queued durably (an always-synced queue entry per write cost a
   * LevelDB sync and two batches per replica for a case that almost never happens). The write
   * is acknowledged only when the object, its directory and each row (delivered or queued) are
   * durable; a failed queue write fails the request even when the disk write held.
   */
  private async finishWithUpdates(p: ParsedNodePath, hash: string, writer: ObjectWriter, meta: DiskMetadata,
    targets: Target[], row: ObjectRow): Promise<void> {
    const updates = pendingUpdates(p, hash, targets, row);
    // Delivered before answering (bounded by CONTAINER_UPDATE_TIMEOUT_MS per row), so a listing or
    // a container DELETE right after the acknowledged write sees it.
    // The queue entries are written (not synced) during the data fsync, before the version is put
    // in place: a node killed after the rename and before the rows are delivered keeps them for
    // the updater, so no object, acknowledged or not, can stay out of every listing. Rows no
    // container node took are synced before the answer (sendStaged).
    const staged = this.pending.add(p.device, updates, false);
    staged.catch(() => undefined);
    try {
      await writer.finish(meta, async () => this.pending.sendStaged(p.device, updates, await staged, (u) => this.rows.send(u)), staged);
    } catch (e) {
      await this.pending.settleFailed(p.device, await staged.catch(() => []), !(e instanceof ObjectConflict)).catch(() => undefined);
      throw e;
    }
  }

  /**
   * Listing rows the proxy owes for a version this node stored: the replica that was to send
   * them did not store the write (or had not answered when it was acknowledged). They are sent
   * and, where no container node takes them, queued durably, exactly as this node's own rows.
   * 404 when this node holds no version that old or newer (the proxy asks another).
   */
  private async relayRows(p: ParsedNodePath, hash: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const ts = requireTimestamp(req.headers);
    const row = decodeJsonHeader<unknown>(req.headers[H_ROW] as string, 'row');
    if (!isObjectRow(row) || row.ts !== ts) throw new BadRequest('missing or bad row');
    const targets = parseTargets(req.headers[H_CONTAINER_TARGET]);
    if (targets.length === 0) throw new BadRequest('rows to relay without a container target');
    const newest = await this.disk.newestTimestamp(p.device, p.part, hash);
    if (newest === undefined || newest < ts) return send(res, 404);
    const updates = pendingUpdates(p, hash, targets, listingRow(row));
    const keys = await this.pending.add(p.device, updates, false);
    await this.pending.sendStaged(p.device, updates, keys, (u) => this.rows.send(u));
    send(res, 204);
  }

  private async getObject(p: ParsedNodePath, hash: string, req: http.IncomingMessage, res: http.ServerResponse,
    head: boolean): Promise<void> {
    const st = await this.disk.openObject(p.device, p.part, hash);
    if (st.kind === 'missing') return send(res, 404);
    if (st.kind === 'deleted') return send(res, 404, { [H_BACKEND_TIMESTAMP]: st.timestamp });
    const { fd, meta, bodySize } = st.obj;
    let closeFd = true;
    try {
      const headers = objectHeaders(meta, bodySize);
      let start = 0;
      let end = bodySize - 1;
      let status = 200;
      const range = req.headers.range;
      if (range && !head) {
        const r = parseRange(range, bodySize);
        if (r === 'unsatisfiable') return send(res, 416, { [H_CONTENT_LENGTH]: String(bodySize) });
        if (r) {
          start = r.start;
          end = r.end;
          status = 206;
          headers['content-range'] = `bytes ${start}-${end}/${bodySize}`;
        }
      }
      const length = Math.max(0, end - start + 1);
      headers['content-length'] = String(head ? 0 : length);
      if (head) {
        headers['content-length'] = '0';
        res.writeHead(200, headers);
        res.end();
        return;
      }
      if (status === 200 && length > 0 && length <= VERIFY_BEFORE_SEND_BYTES) {
        // Small whole object: verified before any byte is sent; a bad copy gets a 5xx and the
        // proxy reads another replica.
        const body = await readObjectBody(fd, length);
        const bad = verifyBody(bodyCheckOf(meta), body);
        if (bad) {
          closeSync(fd);
          closeFd = false;
          await this.quarantine(p, hash, `GET found the ${bad.message}`);
          return send(res, 500, { 'content-type': 'text/plain; charset=utf-8' }, 'object is corrupt; quarantined\n');
        }
        res.writeHead(status, headers);
        res.end(body);
        return;
      }
      res.writeHead(status, headers);
      if (length === 0) {
        res.end();
        return;
      }
      if (status !== 200) {
        await sendFileRange(fd, start, length, res).then(() => res.end(), () => res.destroy());
        await dropAfterRead(fd, length);
        return;
      }
      // Large whole object: checked while streaming; on a mismatch the last chunk is never sent
      // and the response is destroyed (the client sees an error, not a complete wrong body).
      let mismatch: BodyMismatch | undefined;
      await sendFileRange(fd, start, length, res, bodyCheckOf(meta)).then(() => res.end(), (e) => {
        if (e instanceof BodyMismatch) mismatch = e;
        res.destroy();
      });
      await dropAfterRead(fd, length);
      if (mismatch) {
        closeSync(fd);
        closeFd = false;
        await this.quarantine(p, hash, mismatch.message);
      }
    } finally {
      if (closeFd) closeSync(fd);
    }
  }

  /** Moves an object's hash folder into the device's quarantine (the replicator restores it). */
  private async quarantine(p: ParsedNodePath, hash: string, why: string): Promise<void> {
    const to = await quarantineHashDir(this.disk.devicePath(p.device), this.disk.hashDir(p.device, p.part, hash))
      .catch((e: Error) => `(failed: ${e.message})`);
    this.log(`node: ${p.device}/${p.part}/${hash}: ${why}; quarantined to ${to}`);
  }

  private async deleteObject(p: ParsedNodePath, hash: string, name: string, req: http.IncomingMessage,
    res: http.ServerResponse): Promise<void> {
    const ts = requireTimestamp(req.headers);
    const targets = parseTargets(req.headers[H_CONTAINER_TARGET]);
    const st = await this.disk.openObject(p.device, p.part, hash);
    if (st.kind === 'present') closeSync(st.obj.fd);
    const writer = await this.disk.createWriter(p.device, p.part, hash, 'ts');
    try {
      await this.finishWithUpdates(p, hash, writer,
        { name, timestamp: ts, etag: '', contentLength: 0, contentType: '', meta: {}, headers: {} },
        targets, { ts, size: 0, etag: '', contentType: '', deleted: true });
    } catch (e) {
      await writer.abort();
      throw e;
    }
    send(res, st.kind === 'present' ? 204 : 404, { [H_BACKEND_TIMESTAMP]: ts });
  }

  private async postObject(p: ParsedNodePath, hash: string, name: string, req: http.IncomingMessage,
    res: http.ServerResponse): Promise<void> {
    const ts = requireTimestamp(req.headers);
    const wire = decodeJsonHeader<WireMetadata>(req.headers[H_METADATA] as string | undefined, 'metadata');
    if (!wire) throw new BadRequest('missing metadata');
    const st = await this.disk.openObject(p.device, p.part, hash);
    if (st.kind !== 'present') return send(res, 404, st.kind === 'deleted' ? { [H_BACKEND_TIMESTAMP]: st.timestamp } : {});
    closeSync(st.obj.fd);
    const writer = await this.disk.createWriter(p.device, p.part, hash, 'meta');
    try {
      await writer.finish({ ...wire, name, timestamp: ts, etag: '', contentLength: 0 });
    } catch (e) {
      await writer.abort();
      throw e;
    }
    send(res, 202);
  }

  // ------------------------------------------------------------- containers

  /** One ContainerDb per device: its per-container lock must be shared by all requests (and workers). */
  async containerDb(device: string): Promise<ContainerDb> {
    const db = await this.dbs.get(device);
    let c = this.containerDbs.get(db);
    if (!c) {
      c = new ContainerDb(db, this.opts.dbSync);
      this.containerDbs.set(db, c);
    }
    return c;
  }

  /** One AccountDb per device, for the same reason. */
  private async accountDb(device: string): Promise<AccountDb> {
    const db = await this.dbs.get(device);
    let a = this.accountDbs.get(db);
    if (!a) {
      a = new AccountDb(db, this.opts.dbSync);
      this.accountDbs.set(db, a);
    }
    return a;
  }

  private async handleContainer(method: string, p: ParsedNodePath, req: http.IncomingMessage,
    res: http.ServerResponse): Promise<void> {
    const db = await this.containerDb(p.device);
    const a = p.account;
    const c = p.container!;
    if (p.object !== undefined) {
      // A listing row from an object node.
      const ts = requireTimestamp(req.headers);
      if (method !== 'PUT' && method !== 'DELETE') throw new BadRequest(`method ${method} not allowed on rows`);
      const row = decodeJsonHeader<ObjectRow>(req.headers[H_ROW] as string | undefined, 'row');
      if (!row || row.ts !== ts || typeof row.size !== 'number') throw new BadRequest('missing or bad row');
      row.deleted = method === 'DELETE' ? true : undefined;
      const r = await db.applyRow(a, c, p.object, row);
      return send(res, r === 'no-container' ? 404 : r === 'older' ? 202 : 201);
    }
    switch (method) {
      case 'PUT': {
        const ts = requireTimestamp(req.headers);
        const wire = decodeJsonHeader<Partial<WireMetadata>>(req.headers[H_METADATA] as string | undefined, 'metadata');
        const r = await db.put(a, c, ts, wire?.meta, wire?.headers);
        if (r.created) await this.rollupOne(p.device, a, c).catch(() => undefined);
        return send(res, r.created ? 201 : 202);
      }
      case 'HEAD':
      case 'GET': {
        const rec = await db.get(a, c);
        if (!rec || (rec.deleteTs && rec.deleteTs >= rec.putTs)) {
          return send(res, 404, rec?.deleteTs ? { [H_BACKEND_TIMESTAMP]: rec.deleteTs } : {});
        }
        const info = encodeJsonHeader({
          objectCount: rec.objectCount, bytesUsed: rec.bytesUsed, meta: rec.meta, headers: rec.headers,
          createdAt: rec.createdAt, putTs: rec.putTs,
        });
        if (method === 'HEAD') return send(res, 204, { [H_METADATA]: info, [H_BACKEND_TIMESTAMP]: rec.putTs });
        const page = await db.list(a, c, listOptionsFromQuery(p.query));
        return send(res, 200, { [H_METADATA]: info, 'content-type': 'application/json' }, JSON.stringify(page));
      }
      case 'POST': {
        const ts = requireTimestamp(req.headers);
        const wire = decodeJsonHeader<Partial<WireMetadata>>(req.headers[H_METADATA] as string | undefined, 'metadata');
        const ok = await db.post(a, c, ts, wire?.meta ?? {}, wire?.headers);
        return send(res, ok ? 204 : 404);
      }
      case 'DELETE': {
        const ts = requireTimestamp(req.headers);
        const r = await db.delete(a, c, ts);
        if (r === 'not-empty') throw new Conflict('container not empty', 'not-empty');
        if (r === 'missing') return send(res, 404);
        await this.rollupOne(p.device, a, c).catch(() => undefined);
        return send(res, 204);
      }
      default:
        throw new BadRequest(`method ${method} not allowed`);
    }
  }

  /** A batch of listing rows (row-batch.ts), each applied as its single-row request would be. */
  private async handleRowBatch(method: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (method !== 'POST') throw new BadRequest(`method ${method} not allowed on ${ROWS_PATH}`);
    let rows: unknown;
    try {
      rows = ((await readJsonBody(req)) as { rows?: unknown }).rows;
    } catch {
      throw new BadRequest('unreadable row batch');
    }
    if (!Array.isArray(rows) || rows.length > MAX_ROWS_PER_BATCH) throw new BadRequest('bad row batch');
    const statuses = await Promise.all(rows.map((w) => this.applyWireRow(w)));
    send(res, 200, { 'content-type': 'application/json' }, JSON.stringify({ statuses }));
  }

  /** `POST /reads`: small GETs and HEADs, each answered as its own request would be (read-batch.ts). */
  private async handleReadBatch(method: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (method !== 'POST') throw new BadRequest(`method ${method} not allowed on ${READS_PATH}`);
    let reads: ReturnType<typeof batchReads>;
    try {
      reads = batchReads(await readJsonBody(req));
    } catch {
      throw new BadRequest('unreadable read batch');
    }
    if (!reads) throw new BadRequest('bad read batch');
    const answers = await Promise.all(reads.map(([path, m]) => this.readOne(path, m === 'HEAD')));
    const body = encodeAnswers(answers);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    res.end(body);
  }

  /**
   * One item of a read or write batch: its path checked as a single request's would be (an
   * object path, its partition, a known device), then `run`; errors answer the status the
   * single request would have had.
   */
  private async batchItem<T extends BatchedStatus>(kind: 'read' | 'write', path: string,
    run: (p: ParsedNodePath, hash: string) => Promise<T>): Promise<T | BatchedStatus> {
    try {
      const p = parseNodePath(path);
      if (p.kind !== 'obj' || p.object === undefined) throw new BadRequest(`a ${kind} batch holds object paths only`);
      const hash = this.checkPartition(p).toString('hex');
      if (!(await this.disk.hasDevice(p.device))) return { status: UNKNOWN_DEVICE_STATUS, headers: {} };
      return await run(p, hash);
    } catch (e) {
      if (e instanceof ObjectConflict) return { status: 409, headers: { [H_BACKEND_TIMESTAMP]: e.existing } };
      const status = errorStatus(e);
      if (status >= 500 && status !== 507 && !this.closing) this.log(`node: ${kind} batch ${path}: ${(e as Error).stack}`);
      return { status, headers: {} };
    }
  }

  /**
   * One read of a batch: a HEAD's status and timestamp (a version check: the hash dir's names
   * say it, no file is opened), or a small GET's whole answer.
   */
  private readOne(path: string, head: boolean): Promise<BatchedRead> {
    return this.batchItem('read', path, async (p, hash): Promise<BatchedRead> => {
      const st = head ? this.disk.versionOf(p.device, p.part, hash)
        : await this.disk.openObject(p.device, p.part, hash, MAX_BATCHED_BODY_BYTES + FOOTER_READ_BYTES);
      if (st.kind === 'missing') return { status: 404, headers: {} };
      if (st.kind === 'deleted') return { status: 404, headers: { [H_BACKEND_TIMESTAMP]: st.timestamp } };
      if (!('obj' in st)) return { status: 200, headers: { [H_BACKEND_TIMESTAMP]: st.timestamp } };
      const { fd, meta, bodySize } = st.obj;
      let body: Buffer | undefined;
      try {
        if (bodySize > MAX_BATCHED_BODY_BYTES) return { status: 200, headers: {}, bodyLeftOut: true };
        body = st.obj.body ?? await readObjectBody(fd, bodySize);
      } finally {
        closeSync(fd);
      }
      const bad = bodySize > 0 ? verifyBody(bodyCheckOf(meta), body) : undefined;
      if (bad) {
        await this.quarantine(p, hash, `GET found the ${bad.message}`);
        return { status: 500, headers: {} };
      }
      return { status: 200, headers: { ...objectHeaders(meta, bodySize), 'content-length': String(bodySize) }, body };
    });
  }

  /** `POST /writes`: small PUTs, each stored and answered as its own request would be (write-batch.ts). */
  private async handleWriteBatch(method: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (method !== 'POST') throw new BadRequest(`method ${method} not allowed on ${WRITES_PATH}`);
    let writes: BatchedWrite[] | undefined;
    try {
      writes = decodeWrites(await readBody(req, MAX_WRITES_BODY_BYTES));
    } catch {
      throw new BadRequest('unreadable write batch');
    }
    if (!writes) throw new BadRequest('bad write batch');
    const answers = await Promise.all(writes.map((w) => this.writeOne(w)));
    send(res, 200, { 'content-type': 'application/json' }, encodeWriteAnswers(answers));
  }

  /** One PUT of a batch: its status and headers as its single request would have had them. */
  private writeOne(w: BatchedWrite): Promise<BatchedStatus> {
    return this.batchItem('write', w.path, async (p, hash) => {
      const h = putHeaders(w.headers);
      const etag = await this.storeObject(p, hash, h, async (writer, md5) => {
        md5?.update(w.body);
        if (w.body.length) await writer.write(w.body);
        return { received: w.body.length, trailers: {} };
      });
      return { status: 201, headers: { etag, [H_BACKEND_TIMESTAMP]: h.ts } };
    });
  }

  private async applyWireRow(w: unknown): Promise<number> {
    if (badRow(w)) return 400;
    const r = w as WireRow;
    if (r.part !== partitionOf(hashPath(r.account, r.container, undefined, this.opts.hash), this.opts.partPower)) return 400;
    if (!(await this.disk.hasDevice(r.device))) return UNKNOWN_DEVICE_STATUS;
    try {
      const out = await (await this.containerDb(r.device)).applyRow(r.account, r.container, r.object, listingRow(r.row));
      return out === 'no-container' ? 404 : out === 'older' ? 202 : 201;
    } catch (e) {
      if (!this.closing) this.log(`node: row batch: ${(e as Error).message}`);
      return 500;
    }
  }

  // --------------------------------------------------------------- accounts

  private async handleAccount(method: string, p: ParsedNodePath, req: http.IncomingMessage,
    res: http.ServerResponse): Promise<void> {
    const db = await this.accountDb(p.device);
    const a = p.account;
    if (p.container !== undefined) {
      if (method !== 'PUT') throw new BadRequest(`method ${method} not allowed on container rows`);
      requireTimestamp(req.headers);
      const row = decodeJsonHeader<ContainerRow>(req.headers[H_ROW] as string | undefined, 'row');
      if (!row || !isTimestamp(row.putTs) || !isTimestamp(row.statsTs)) throw new BadRequest('missing or bad row');
      await db.applyRow(a, p.container, row);
      return send(res, 201);
    }
    switch (method) {
      case 'PUT':
        return send(res, (await db.put(a, requireTimestamp(req.headers))) ? 201 : 202);
      case 'POST': {
        const ts = requireTimestamp(req.headers);
        const wire = decodeJsonHeader<Partial<WireMetadata>>(req.headers[H_METADATA] as string | undefined, 'metadata');
        await db.post(a, ts, wire?.meta ?? {});
        return send(res, 204);
      }
      case 'HEAD':
      case 'GET': {
        const rec = await db.get(a);
        if (!rec) return send(res, 404);
        const info = encodeJsonHeader({
          containerCount: rec.containerCount, objectCount: rec.objectCount, bytesUsed: rec.bytesUsed,
          meta: rec.meta, createdAt: rec.createdAt,
        });
        if (method === 'HEAD') return send(res, 204, { [H_METADATA]: info });
        const page = await db.list(a, listOptionsFromQuery(p.query));
        return send(res, 200, { [H_METADATA]: info, 'content-type': 'application/json' }, JSON.stringify(page));
      }
      default:
        throw new BadRequest(`method ${method} not allowed`);
    }
  }

  // ------------------------------------------------------- background loops

  /** Sends one container's stats to its account nodes; clears the dirty mark on a majority. */
  private async rollupOne(device: string, a: string, c: string, mark?: string): Promise<void> {
    const targets = this.opts.accountTargets?.(a);
    if (!targets || targets.length === 0) return;
    const db = await this.containerDb(device);
    // The mark before the stats: a change made while they are sent leaves a newer mark, which
    // clean() below does not remove, so the new totals go out on the next pass.
    const seen = mark ?? await db.mark(a, c);
    const rec = await db.get(a, c);
    if (!rec) return;
    const row: ContainerRow = {
      putTs: rec.putTs, deleteTs: rec.deleteTs, count: rec.objectCount, bytes: rec.bytesUsed, statsTs: rec.statsTs,
    };
    const ts = formatTimestamp(Date.now());
    const results = await Promise.allSettled(targets.map(async (t) => {
      const path = `/acct/${encodeURIComponent(t.device)}/${t.part}/${encodeURIComponent(a)}/${encodeURIComponent(c)}`;
      const r = await this.client.request({
        host: t.host, port: t.port, method: 'PUT', path, timestamp: ts,
        headers: { [H_ROW]: encodeJsonHeader(row) }, timeoutMs: 5000,
      });
      r.body.resume();
      if (r.status >= 300) throw new Error(`account update got ${r.status}`);
    }));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    if (ok >= Math.floor(targets.length / 2) + 1) {
      await db.clean(a, c, seen);
    }
  }

  private async rollupPass(): Promise<void> {
    if (this.busyRollup) return;
    this.busyRollup = true;
    try {
      for (const device of await this.devicesWithDb()) {
        const db = await this.containerDb(device);
        for (const d of await db.dirty()) {
          await this.rollupOne(device, d.account, d.container, d.mark).catch(() => undefined);
        }
      }
    } finally {
      this.busyRollup = false;
    }
  }

  private async updaterPass(): Promise<void> {
    if (this.busyUpdater) return;
    this.busyUpdater = true;
    try {
      for (const device of await this.devicesWithDb()) {
        await this.pending.replay(this.client, device, async (u) => {
          const newest = await this.disk.newestTimestamp(device, u.part, u.hash);
          return newest !== undefined && newest >= u.row.ts;
        }).catch(() => 0);
      }
    } finally {
      this.busyUpdater = false;
    }
  }

  /**
   * Local devices that have a database (opened by the loops so their queues and dirty marks are
   * seen after a restart; walked by the container replicator).
   */
  async devicesWithDb(): Promise<string[]> {
    const out: string[] = [];
    for (const d of await readdir(this.opts.devicesDir).catch(() => [] as string[])) {
      if (d.startsWith('.')) continue;
      if (await stat(join(this.opts.devicesDir, d, 'db')).then((s) => s.isDirectory(), () => false)) out.push(d);
    }
    return out;
  }

  /** Runs the updater (queued listing updates) and account roll-up loops. */
  startLoops(): void {
    this.timers.push(setInterval(() => void this.updaterPass(), this.opts.updaterIntervalMs));
    this.timers.push(setInterval(() => void this.rollupPass(), this.opts.rollupIntervalMs));
    this.timers.push(setInterval(() => void this.checkpointPass(), this.opts.logCheckpointMs));
    for (const t of this.timers) t.unref();
  }

  /**
   * Syncs and removes the small-write log segments written so far (a pass still running is
   * shared, see SmallWriteLog.checkpoint); a failure is retried next time.
   */
  private async checkpointPass(): Promise<void> {
    if (this.closing) return;
    await this.disk.checkpointLogs()
      .catch((e) => this.log(`small-write log checkpoint failed (kept for the next one): ${(e as Error).message}`));
  }

  /**
   * Replays what a crash left in the small-write logs; before the node serves, so every
   * acknowledged small write is in place before anyone can read or replicate it.
   */
  async recover(): Promise<void> {
    const r = await this.disk.recoverLogs();
    if (r.segments > 0) {
      this.log(`small-write logs replayed: ${r.segments} segments, ${r.records} records, `
        + `${r.restored} files written again, ${r.superseded} superseded by newer versions`);
    }
  }

  /** Replays queued container updates now (tests, shutdown). */
  async runUpdaterOnce(): Promise<void> {
    await this.updaterPass();
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.client.close();
    // Removals of delivered queue entries wait to ride with a later write: written now.
    await this.pending.flush().catch(() => undefined);
    // A clean stop leaves no log to replay (on failure the segments stay for the next start).
    await this.disk.closeLogs().catch((e) => this.log(`small-write log not retired: ${(e as Error).message}`));
    await this.dbs.close();
  }
}

/** The listing updates of an object version on this node, one per container target. */
function pendingUpdates(p: ParsedNodePath, hash: string, targets: Target[], row: ObjectRow): PendingUpdate[] {
  const queuedAt = Date.now();
  return targets.map((target) => ({
    target, account: p.account, container: p.container!, object: p.object!, row, part: p.part, hash, queuedAt,
  }));
}

/** Container targets from a header or trailer: comma-separated `ip:port/device/part`. */
function parseTargets(v: string | string[] | undefined): Target[] {
  if (v === undefined || v === '') return [];
  if (Array.isArray(v)) throw new BadRequest('repeated container target');
  return v.split(',').map((s) => {
    const t = parseTarget(s.trim());
    if (!t) throw new BadRequest('bad container target');
    return t;
  });
}

/** Resolves a `Range: bytes=…` header (one range) against the size. */
export function parseRange(h: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** Starts a node's HTTP server; `port` 0 picks a free port. */
export async function startNodeServer(opts: NodeServerOptions, port = 0, host = '127.0.0.1'): Promise<RunningNode> {
  const node = new StorageNode(opts);
  await node.recover();
  const server = http.createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, requestTimeout: 0, headersTimeout: HEADERS_TIMEOUT_MS });
  server.on('request', (req, res) => void node.handle(req, res, false));
  server.on('checkContinue', (req, res) => void node.handle(req, res, true));
  const rawSockets = opts.rawBodies === false ? new Set<net.Socket>()
    : acceptRawPuts(server, (req, res, expectContinue) => node.handle(req, res, expectContinue));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  node.listeningOn(host, boundPort);
  node.startLoops();
  return {
    server,
    port: boundPort,
    storage: node,
    close: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
        for (const s of rawSockets) s.destroy();
      });
      await node.close();
    },
  };
}
