/**
 * Swift's path hash and partition function: md5(prefix + "/a[/c[/o]]" + suffix) over UTF-8,
 * partition = first 4 digest bytes big-endian shifted right by (32 - part power).
 * The prefix and suffix come from swift.conf and must never change once a cluster holds data.
 */
import * as crypto from 'node:crypto';

/** Node's one-shot digest (20.12+): no Hash object per call; createHash on older Nodes. */
const md5 = typeof crypto.hash === 'function'
  ? (s: string) => crypto.hash('md5', s, 'buffer')
  : (s: string) => crypto.createHash('md5').update(s, 'utf8').digest();

/** The per-cluster salt around every hashed path, `[swift-hash]` in swift.conf. */
export interface HashConfig {
  prefix: string;
  suffix: string;
}

/**
 * Digest of an account, container or object path. As in Swift, an empty container or object
 * counts as absent, and an object needs a container.
 */
export function hashPath(account: string, container: string | undefined, object: string | undefined,
  hash: HashConfig): Buffer {
  if (object && !container) throw new TypeError('a container is required when an object is given');
  let path = `/${account}`;
  if (container) path += `/${container}`;
  if (object) path += `/${object}`;
  return md5(hash.prefix + path + hash.suffix);
}

/** Partition of a digest: its first 32 bits big-endian, keeping the top `partPower` bits. */
export function partitionOf(digest: Buffer, partPower: number): number {
  if (partPower === 0) return 0;
  return digest.readUInt32BE(0) >>> (32 - partPower);
}

/** Partition of a path in a ring of 2^partPower partitions. */
export function partitionForPath(partPower: number, hash: HashConfig, account: string,
  container?: string, object?: string): number {
  return partitionOf(hashPath(account, container, object, hash), partPower);
}
