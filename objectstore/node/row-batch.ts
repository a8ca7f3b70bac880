/**
 * Listing rows from object nodes to container nodes, several in one request.
 *
 * Every object PUT/DELETE makes each of its three replicas send its row to one container node.
 * The proxy names the container replica on the object replica's own node when the rings put one
 * there, and such a row is applied in this process (`local`), without a request: on a cluster
 * where every node holds every ring (three nodes, three replicas) a write's rows cross no
 * network at all. Rows that do go out are coalesced, since under load many go from one node to
 * the same container node at once: the first row to a node goes out at once; rows that arrive while
 * MAX_BATCHES_IN_FLIGHT requests to that node are running wait and go together in the next one
 * (the container node applies them at once, its group commit writing a container's rows in one
 * synced LevelDB batch; the queues are node-batches.ts). Nothing waits for a timer, so a lone row
 * is not delayed.
 *
 * Wire: `POST /rows` (HMAC-signed like every node request), JSON body
 * `{ rows: [{ device, part, account, container, object, row }] }` (a row with `deleted` is a
 * DELETE); the answer is `{ statuses: [...] }`, one per row, with the status the single-row
 * request (`PUT|DELETE /cont/<dev>/<part>/a/c/o`) would have had: 201, 202 (older), 404 (no such
 * container), 400 (bad row or partition), 421 (unknown device). The durable queue and the updater
 * (container-update.ts) are unchanged: a row whose batch fails is queued like a failed single row.
 */
import type http from 'node:http';
import type { NodeClient } from './node-client.js';
import type { ObjectRow } from './container-db.js';
import type { PendingUpdate } from './container-update.js';
import { CONTAINER_UPDATE_TIMEOUT_MS } from './container-update.js';
import { checkDevice, checkNames, formatTimestamp, isTimestamp } from './protocol.js';
import { NodeBatches } from './node-batches.js';

export const ROWS_PATH = '/rows';
/** Rows in one request at most. */
export const MAX_ROWS_PER_BATCH = 256;
/** Concurrent batch requests to one container node; more rows wait for the next batch. */
export const MAX_BATCHES_IN_FLIGHT = 2;
/** Largest request body a node accepts on /rows. */
export const MAX_ROWS_BODY_BYTES = 4 * 1024 * 1024;

export interface WireRow {
  device: string;
  part: number;
  account: string;
  container: string;
  object: string;
  row: ObjectRow;
}

export class RowBatchError extends Error {}

/** Sends rows to container nodes, coalescing the rows for one node that are waiting at once. */
export class RowBatcher {
  private readonly batches: NodeBatches<WireRow, number>;
  /**
   * `local` applies a row in this process and resolves with its status, or returns undefined
   * when the target is another node.
   */
  constructor(private readonly client: NodeClient, private readonly timeoutMs = CONTAINER_UPDATE_TIMEOUT_MS,
    private readonly local?: (w: WireRow, host: string, port: number) => Promise<number> | undefined) {
    this.batches = new NodeBatches({
      maxPerBatch: MAX_ROWS_PER_BATCH, maxInFlight: MAX_BATCHES_IN_FLIGHT, nextTurn: false,
      send: (host, port, rows) => this.post(host, port, rows),
    });
  }

  /** Resolves with the row's status at the container node; rejects when the request failed. */
  send(u: PendingUpdate): Promise<number> {
    const wire = wireRowOf(u);
    return this.local?.(wire, u.target.host, u.target.port) ?? this.batches.add(u.target.host, u.target.port, wire);
  }

  private async post(host: string, port: number, rows: WireRow[]): Promise<number[]> {
    const r = await this.client.fetchText({
      host, port, method: 'POST', path: ROWS_PATH, timestamp: formatTimestamp(Date.now()),
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows }), timeoutMs: this.timeoutMs,
    });
    if (r.status !== 200) throw new RowBatchError(`row batch got ${r.status}`);
    const statuses = (JSON.parse(r.text) as { statuses?: unknown }).statuses;
    if (!Array.isArray(statuses) || statuses.length !== rows.length) throw new RowBatchError('bad row batch answer');
    return statuses.map(Number);
  }
}

function wireRowOf(u: PendingUpdate): WireRow {
  return { device: u.target.device, part: u.target.part, account: u.account, container: u.container, object: u.object, row: u.row };
}

/** Reads a JSON request body of at most `limit` bytes. */
export async function readJsonBody(req: http.IncomingMessage, limit = MAX_ROWS_BODY_BYTES): Promise<unknown> {
  return JSON.parse((await readBody(req, limit)).toString('utf8'));
}

/** A request body whole; throws once it is longer than `limit`. */
export async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw new RowBatchError('batch too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks, n);
}

/**
 * Checks one row of a batch; returns the 400 reason, or undefined when it is well formed.
 * (Partition and device are checked by the caller, which knows the ring and the devices.)
 */
export function badRow(w: unknown): string | undefined {
  if (typeof w !== 'object' || w === null) return 'row is not an object';
  const r = w as Partial<WireRow>;
  if (typeof r.device !== 'string' || typeof r.account !== 'string' || typeof r.container !== 'string'
    || typeof r.object !== 'string' || typeof r.part !== 'number' || !Number.isInteger(r.part) || r.part < 0) return 'bad row address';
  try {
    checkDevice(r.device);
    checkNames(r.account, r.container, r.object);
  } catch (e) {
    return (e as Error).message;
  }
  if (!isObjectRow(r.row)) return 'missing or bad row';
  return undefined;
}

/** A checked row's fields alone, as the container stores them (nothing else from the wire). */
export function listingRow(r: ObjectRow): ObjectRow {
  return { ts: r.ts, size: r.size, etag: r.etag, contentType: r.contentType, deleted: r.deleted ? true : undefined };
}

/** A well-formed listing row (as sent in a batch, or in an `x-ringstack-row` header). */
export function isObjectRow(row: unknown): row is ObjectRow {
  const r = row as Partial<ObjectRow> | null;
  return typeof r === 'object' && r !== null && isTimestamp(r.ts) && Number.isSafeInteger(r.size) && r.size! >= 0
    && typeof r.etag === 'string' && typeof r.contentType === 'string';
}
