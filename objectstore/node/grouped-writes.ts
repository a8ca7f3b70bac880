/**
 * Unsynced writes of concurrent requests to one LevelDB, merged into few batches (group
 * commit, as LevelDB itself does for writers that meet in its queue, but before the trip
 * through the libuv pool: each trip wakes a pool thread and the event loop, which on a busy
 * 2-core host costs more than the write itself).
 *
 * `write` starts a batch at once when none is being written, else joins the next one, which
 * starts when the current one ends. `writeLater` adds operations that need not be on disk
 * soon (a queue entry already delivered): they ride along with the next batch, or go alone
 * after `lateMs`.
 */
/** One operation of a LevelDB batch. */
export type Op = { type: 'put'; key: string; value: unknown } | { type: 'del'; key: string };

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class GroupedWrites {
  private queued: Op[] = [];
  private waiters: Waiter[] = [];
  private writing = false;
  /** The batches being written now, until none is left. */
  private draining: Promise<void> = Promise.resolve();
  private lateTimer?: NodeJS.Timeout;

  constructor(private readonly batch: (ops: Op[]) => Promise<void>, private readonly lateMs = 100) {}

  /** Resolves once `ops` are written (in one batch with whatever else was queued). */
  write(ops: Op[]): Promise<void> {
    const done = this.enqueue(ops);
    if (!this.writing) this.startDrain();
    return done;
  }

  /** Resolves once `ops` are written, with the next batch or within about `lateMs`. */
  writeLater(ops: Op[]): Promise<void> {
    const done = this.enqueue(ops);
    if (!this.writing && !this.lateTimer) {
      this.lateTimer = setTimeout(() => {
        this.lateTimer = undefined;
        if (!this.writing) this.startDrain();
      }, this.lateMs);
      this.lateTimer.unref();
    }
    return done;
  }

  private enqueue(ops: Op[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push(...ops);
      this.waiters.push({ resolve, reject });
    });
  }

  /** Writes whatever is queued now and waits for the batch in flight (before a close). */
  async flush(): Promise<void> {
    if (this.waiters.length > 0 && !this.writing) this.startDrain();
    await this.draining;
  }

  private startDrain(): void {
    this.draining = this.drain();
  }

  private async drain(): Promise<void> {
    this.writing = true;
    if (this.lateTimer) {
      clearTimeout(this.lateTimer);
      this.lateTimer = undefined;
    }
    while (this.waiters.length > 0) {
      const ops = this.queued;
      const waiters = this.waiters;
      this.queued = [];
      this.waiters = [];
      try {
        if (ops.length > 0) await this.batch(ops);
        for (const w of waiters) w.resolve();
      } catch (e) {
        // A LevelDB batch is atomic: none of its operations took.
        for (const w of waiters) w.reject(e);
      }
    }
    this.writing = false;
  }
}
