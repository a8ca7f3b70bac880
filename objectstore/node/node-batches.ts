/**
 * Items bound for storage nodes, several to a request (the group-commit pattern): one queue per
 * node; an item for a node with fewer than `maxInFlight` requests running starts a request,
 * items that arrive meanwhile wait and go together in the next one. Nothing waits for a timer,
 * so a lone item is not delayed. Listing rows (row-batch.ts) and small reads (read-batch.ts)
 * go through it.
 */
export interface NodeBatchesOptions<T, R> {
  /** Items in one request at most. */
  maxPerBatch: number;
  /** Requests running at once to one node. */
  maxInFlight: number;
  /**
   * Start an idle node's request on the event loop's next turn, so every item queued during
   * this turn goes in it; otherwise the first item goes at once.
   */
  nextTurn: boolean;
  /** Sends one batch; answers one result per item, in order. A throw fails every item of it. */
  send(host: string, port: number, items: T[]): Promise<R[]>;
}

interface Waiting<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

interface NodeQueue<T, R> {
  host: string;
  port: number;
  waiting: Array<Waiting<T, R>>;
  inFlight: number;
}

export class NodeBatches<T, R> {
  private readonly queues = new Map<string, NodeQueue<T, R>>();

  constructor(private readonly opts: NodeBatchesOptions<T, R>) {}

  /** Resolves with the item's result, or rejects when its batch failed. */
  add(host: string, port: number, item: T): Promise<R> {
    const key = `${host}:${port}`;
    let q = this.queues.get(key);
    if (!q) {
      q = { host, port, waiting: [], inFlight: 0 };
      this.queues.set(key, q);
    }
    const p = new Promise<R>((resolve, reject) => q.waiting.push({ item, resolve, reject }));
    if (q.inFlight < this.opts.maxInFlight) {
      q.inFlight++;
      if (this.opts.nextTurn) setImmediate(() => void this.drain(q));
      else void this.drain(q);
    }
    return p;
  }

  /** Sends what waits for the node, batch after batch, until nothing does. */
  private async drain(q: NodeQueue<T, R>): Promise<void> {
    try {
      while (q.waiting.length > 0) {
        const batch = q.waiting.splice(0, this.opts.maxPerBatch);
        try {
          const results = await this.opts.send(q.host, q.port, batch.map((w) => w.item));
          batch.forEach((w, i) => w.resolve(results[i]!));
        } catch (e) {
          for (const w of batch) w.reject(e as Error);
        }
      }
    } finally {
      q.inFlight--;
    }
  }
}
