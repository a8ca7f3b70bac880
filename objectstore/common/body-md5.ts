/**
 * The MD5 of a large body as it streams through the proxy (its ETag), hashed off the event loop
 * when the addon is there (native/page-cache, md5_hasher.c): the bytes are handed over as they
 * pass and hashed in the libuv pool, the bodies of concurrent uploads together (sixteen at a
 * time in vector lanes, with AVX-512F or AVX2). On one thread, MD5 was half of the proxy's CPU
 * on a 16 MiB PUT.
 *
 * Without the addon, or with RINGSTACK_PROXY_MD5=node in the environment (to compare), it is
 * node:crypto's MD5 on the event loop, with the same interface.
 */
import { createHash } from 'node:crypto';
import { nativeAddon } from './native-addon.js';

type Md5Stream = object;

interface Md5Addon {
  md5New(): Md5Stream;
  md5Update(s: Md5Stream, bytes: Uint8Array): number;
  md5Flush(s: Md5Stream, cb: () => void): boolean;
  md5Digest(s: Md5Stream): Buffer;
  md5Discard(s: Md5Stream): void;
  md5LanesKind: 'avx512f' | 'avx2' | 'none';
}

/** What RINGSTACK_MD5_LANES may say (the addon reads it; an unknown value is refused here). */
export const MD5_LANES_SETTINGS = ['avx512f', 'avx2', 'off'] as const;

const lanesSetting = process.env.RINGSTACK_MD5_LANES;
if (lanesSetting && !(MD5_LANES_SETTINGS as readonly string[]).includes(lanesSetting)) {
  throw new Error(`RINGSTACK_MD5_LANES must be one of ${MD5_LANES_SETTINGS.join(', ')} (got '${lanesSetting}')`);
}

const addon = nativeAddon<Md5Addon>('md5New');

/** True when the addon hashes bodies (the tests check that `npm ci` built it). */
export const pooledMd5Available = addon !== null;

/**
 * The vector instructions that hash concurrent bodies together: the best the CPU has, at most
 * what RINGSTACK_MD5_LANES names (`avx512f`, `avx2` or `off`), read once when the addon loads;
 * 'none' hashes one body at a time, and without the addon it is node:crypto.
 */
export const md5LanesKind: Md5Addon['md5LanesKind'] | 'node:crypto' = addon ? addon.md5LanesKind : 'node:crypto';

/**
 * Bytes of one body handed over and not hashed yet beyond which `update` asks the caller to
 * wait: keeps the hashing close behind the relay, so the digest at a body's end does not wait
 * for a backlog (with 4 MiB, the PUTs were slower than with MD5 on the event loop).
 */
export const MAX_UNHASHED_BYTES = 1024 * 1024;

export interface BodyMd5 {
  /**
   * Adds bytes (not to be changed afterwards: the pool reads them later). Returns a promise when
   * too many bytes wait to be hashed; the caller should await it before reading more.
   */
  update(bytes: Buffer): Promise<void> | undefined;
  /** The hex digest, once every byte is hashed. */
  digest(): Promise<string>;
  /** Gives up (an aborted upload): bytes not yet taken by the pool are let go. */
  discard(): void;
}

class PooledMd5 implements BodyMd5 {
  private readonly stream: Md5Stream;
  constructor(private readonly native: Md5Addon) {
    this.stream = native.md5New();
  }
  update(bytes: Buffer): Promise<void> | undefined {
    return this.native.md5Update(this.stream, bytes) > MAX_UNHASHED_BYTES ? this.flushed() : undefined;
  }
  async digest(): Promise<string> {
    await this.flushed();
    return this.native.md5Digest(this.stream).toString('hex');
  }
  discard(): void {
    this.native.md5Discard(this.stream);
  }
  private flushed(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.native.md5Flush(this.stream, resolve)) resolve();
    });
  }
}

class NodeMd5 implements BodyMd5 {
  private readonly hash = createHash('md5');
  update(bytes: Buffer): undefined {
    this.hash.update(bytes);
    return undefined;
  }
  digest(): Promise<string> {
    return Promise.resolve(this.hash.digest('hex'));
  }
  discard(): void {}
}

/** A new body MD5: in the pool when the addon is there and not turned off, else node:crypto. */
export function bodyMd5(): BodyMd5 {
  return addon && process.env.RINGSTACK_PROXY_MD5 !== 'node' ? new PooledMd5(addon) : new NodeMd5();
}
