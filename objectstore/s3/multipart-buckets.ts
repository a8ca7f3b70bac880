/**
 * Which buckets can hold multipart objects, so that PutObject and CopyObject look for a
 * replaced multipart object's segments only where there can be one.
 *
 * A write that replaces a multipart object deletes its segments afterwards (objects.ts,
 * segmentsAt), which needs a HEAD of the key before the write: on the replicated store a
 * majority of nodes, and the third primary too when the key is new: three node requests more
 * per 4 KiB PutObject, which made S3 PUTs 5-21 % slower than Swift API ones (session 20). Only a bucket
 * whose `<bucket>+segments` container exists can hold a multipart object (CreateMultipartUpload
 * makes it first), so a write into any other bucket skips the HEAD.
 *
 * The answer is cached for CACHE_MS per proxy. A proxy that saw no segments container may go on
 * skipping for that long while another proxy starts a first upload in the bucket; so
 * CreateMultipartUpload, when the container is younger than SETTLE_MS (twice the cache), waits
 * that long after it is in place before it answers:
 * every manifest that upload completes is written later, so it carries a newer timestamp than
 * any write that skipped the HEAD on a stale answer, and wins over it (no manifest is replaced
 * without its segments being freed), as long as the proxies' clocks agree within CACHE_MS.
 * What it costs: an upload into a bucket whose segments container is new waits SETTLE_MS.
 */
import { NotFound } from '../common/errors.js';
import type { ObjectBackend } from '../proxy/backend.js';
import { SEGMENTS_SUFFIX } from './request.js';

/** How long one proxy trusts what it saw of a bucket's segments container. */
export const CACHE_MS = 500;
/** How long CreateMultipartUpload waits when the segments container is younger than this. */
export const SETTLE_MS = 2 * CACHE_MS;

export class MultipartBuckets {
  private readonly seen = new Map<string, { has: boolean; at: number }>();

  constructor(private readonly backend: ObjectBackend) {}

  /** False only when the bucket had no segments container within the last CACHE_MS. */
  async mayHoldMultipart(account: string, bucket: string): Promise<boolean> {
    const key = `${account}/${bucket}`;
    const now = Date.now();
    const hit = this.seen.get(key);
    if (hit && now - hit.at < CACHE_MS) return hit.has;
    let has = true;
    try {
      await this.backend.headContainer(account, bucket + SEGMENTS_SUFFIX);
    } catch (e) {
      if (!(e instanceof NotFound)) throw e;
      has = false;
    }
    if (this.seen.size > 10_000) this.seen.clear(); // bounded: a cache, not a registry
    this.seen.set(key, { has, at: now });
    return has;
  }

  /**
   * Called by CreateMultipartUpload once the segments container exists: remembers it and, if
   * the container is new, waits SETTLE_MS (see above) before the upload may go on.
   */
  async uploadStarted(account: string, bucket: string): Promise<void> {
    this.seen.set(`${account}/${bucket}`, { has: true, at: Date.now() });
    const { createdAt } = await this.backend.headContainer(account, bucket + SEGMENTS_SUFFIX);
    // A full SETTLE_MS from now, not from createdAt: a proxy may have looked (and seen nothing)
    // after createdAt, while the container was still being written.
    if (Date.now() - createdAt < SETTLE_MS) await new Promise((r) => setTimeout(r, SETTLE_MS));
  }
}
