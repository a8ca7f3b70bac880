/**
 * Keeps the auditor at its configured rates: after each file and each chunk read, sleeps until
 * the files and bytes done since the pass started are within files/s and bytes/s. A stop signal
 * ends any sleep at once (the caller then stops the pass).
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class Pacer {
  private readonly started = Date.now();
  private files = 0;
  private bytes = 0;
  constructor(private readonly filesPerSecond: number, private readonly bytesPerSecond: number,
    private readonly signal?: AbortSignal) {}

  /** One more file started. */
  async file(): Promise<void> {
    this.files++;
    await this.wait();
  }

  /** `n` more bytes read. */
  async read(n: number): Promise<void> {
    this.bytes += n;
    await this.wait();
  }

  private async wait(): Promise<void> {
    const dueMs = Math.max(this.files / this.filesPerSecond, this.bytes / this.bytesPerSecond) * 1000;
    const ahead = dueMs - (Date.now() - this.started);
    if (ahead > 0 && !this.signal?.aborted) await sleep(ahead, undefined, { signal: this.signal }).catch(() => undefined);
  }
}
