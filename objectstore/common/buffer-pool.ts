/**
 * Free buffers of one size, kept for reuse so that a hot path (bodies relayed or sent in
 * chunks) allocates nothing after warm-up: each fresh Buffer is external memory, and V8 answers
 * external memory with major GCs. A buffer must be given back only once nothing references it
 * any more (for a socket write: from the write's callback); one never given back is simply left
 * to the garbage collector.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  /** `keep`: free buffers kept at most; more are left to the garbage collector. */
  constructor(readonly bufferBytes: number, private readonly keep: number) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
  }

  give(buf: Buffer): void {
    if (this.free.length < this.keep) this.free.push(buf);
  }

  /** Free buffers held now (tests). */
  get size(): number {
    return this.free.length;
  }
}
