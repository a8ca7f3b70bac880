/**
 * The schedule every storage-node background worker shares (replicator, auditor, container
 * replicator): run a pass, wait one interval after it ends, run the next; never two passes at
 * once; the first pass one interval after start (so a node that just started serves requests
 * first); a failed pass is logged and the loop goes on; stop() waits for the running pass.
 */
export class PassLoop {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  /**
   * @param name   the worker's name, at the start of its log lines
   * @param intervalMs  pause between the end of a pass and the start of the next
   * @param pass   one pass; its rejection is logged, not thrown
   */
  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly pass: () => Promise<unknown>,
    private readonly log: (line: string) => void,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  start(): void {
    const next = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        const run = this.pass().then(() => undefined, (e: Error) => this.log(`${this.name}: pass failed: ${e.stack}`));
        this.running = run;
        void run.then(next);
      }, this.intervalMs);
      this.timer.unref();
    };
    next();
  }

  /** No pass starts after this; resolves once the running pass (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
