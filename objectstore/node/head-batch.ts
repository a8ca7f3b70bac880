/**
 * The version checks of read-after-write GETs, several in one request per storage node.
 *
 * A GET reads the body from one replica and asks the rest of the majority only for the newest
 * timestamp it holds (replicated-backend.ts, readNewest). As single HEADs, those checks cost a
 * 4 KiB GET about a third of its CPU: a whole HTTP exchange on the proxy and the node for a
 * status and a timestamp. Under load many GETs ask the same node at once, so the checks wait
 * in a queue per node and go together: the first check of an idle node goes out on the
 * event loop's next turn (with every check queued during this turn), later ones wait until
 * the batch in flight has its answer (the group-commit pattern of row-batch.ts). Nothing waits
 * for a timer, so a lone GET is not delayed.
 *
 * Wire: `POST /heads` (HMAC-signed like every node request), JSON body `{ paths: [...] }`, each
 * a node object path (`/obj/<dev>/<part>/<a>/<c>/<o>`, as protocol.ts's nodePath makes it); the
 * answer is `{ heads: [[status, timestamp], ...] }`, one per path, with the status a `HEAD` of
 * that path would have had (200, 404, 400 bad path or partition, 421 unknown device, 507, 500)
 * and its `X-Backend-Timestamp` ('' when it had none). A batch that fails as a whole answers
 * status 0 for each check (the caller asks another node, as for a dead node); a node that does
 * not know the route (an older version, mid-upgrade) gets the checks as single HEADs instead.
 */
import type { NodeClient } from './node-client.js';
import { formatTimestamp } from './protocol.js';

export const HEADS_PATH = '/heads';
/** Checks in one request at most. */
export const MAX_HEADS_PER_BATCH = 256;

/** What a HEAD told about a name: its status and the X-Backend-Timestamp ('' when none). */
export interface HeadAnswer {
  status: number;
  timestamp: string;
}

interface Waiting {
  path: string;
  resolve: (a: HeadAnswer) => void;
}

interface NodeQueue {
  host: string;
  port: number;
  waiting: Waiting[];
  busy: boolean;
}

/** A batch the node refused as a whole (it does not know the route, or the batch is bad). */
class BatchRefused extends Error {}

export class HeadBatcher {
  private readonly queues = new Map<string, NodeQueue>();

  /** `single` asks one path the old way: for nodes that refuse a batch. */
  constructor(private readonly client: NodeClient, private readonly timeoutMs: number,
    private readonly single: (host: string, port: number, path: string) => Promise<HeadAnswer>) {}

  /** Resolves with the path's status and timestamp at that node; status 0 when it did not answer. */
  head(host: string, port: number, path: string): Promise<HeadAnswer> {
    const key = `${host}:${port}`;
    let q = this.queues.get(key);
    if (!q) {
      q = { host, port, waiting: [], busy: false };
      this.queues.set(key, q);
    }
    const p = new Promise<HeadAnswer>((resolve) => q.waiting.push({ path, resolve }));
    if (!q.busy) {
      q.busy = true;
      setImmediate(() => void this.drain(q));
    }
    return p;
  }

  private async drain(q: NodeQueue): Promise<void> {
    try {
      while (q.waiting.length > 0) {
        const batch = q.waiting.splice(0, MAX_HEADS_PER_BATCH);
        const answers = await this.post(q, batch.map((w) => w.path)).catch(async (e) => {
          if (!(e instanceof BatchRefused)) return batch.map(() => ({ status: 0, timestamp: '' }));
          return Promise.all(batch.map((w) => this.single(q.host, q.port, w.path)));
        });
        batch.forEach((w, i) => w.resolve(answers[i]!));
      }
    } finally {
      q.busy = false;
    }
  }

  private async post(q: NodeQueue, paths: string[]): Promise<HeadAnswer[]> {
    const r = await this.client.fetchText({
      host: q.host, port: q.port, method: 'POST', path: HEADS_PATH, timestamp: formatTimestamp(Date.now()),
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ paths }), timeoutMs: this.timeoutMs,
    });
    if (r.status >= 400 && r.status < 500) throw new BatchRefused(`head batch got ${r.status}`);
    if (r.status !== 200) throw new Error(`head batch got ${r.status}`);
    const heads = (JSON.parse(r.text) as { heads?: unknown }).heads;
    if (!Array.isArray(heads) || heads.length !== paths.length) throw new Error('bad head batch answer');
    return heads.map((h) => {
      const [status, timestamp] = Array.isArray(h) ? h : [];
      return { status: Number(status) || 0, timestamp: typeof timestamp === 'string' ? timestamp : '' };
    });
  }
}

/** The paths of a `/heads` request body, or undefined when it is not one. */
export function headPaths(body: unknown): string[] | undefined {
  const paths = (body as { paths?: unknown } | null)?.paths;
  if (!Array.isArray(paths) || paths.length > MAX_HEADS_PER_BATCH || !paths.every((p) => typeof p === 'string')) return undefined;
  return paths as string[];
}
