/**
 * Stable identities derived from resource ids, so that recompiling, restarting the controller
 * or running two controllers always gives the same UUIDs, MACs and bridge names:
 * - UUIDs: name-based (RFC 4122 version 5 layout) from sha1 of `ringstack.dev/uuid\0<kind>\0<id>`.
 * - MACs: 52:54:00 (the QEMU/KVM prefix) + 3 bytes of sha1(instance id, NIC index), rehashed
 *   with a counter when taken; the caller keeps previously assigned MACs.
 * - Bridge names: `rs` + 8 hex digits of sha1(network id) (Linux allows 15 characters).
 */
import * as crypto from 'node:crypto';

/** Namespace of ringstack's name-based UUIDs (fixed forever: changing it changes every UUID). */
const UUID_NAMESPACE = 'ringstack.dev/uuid\0';
export const MAC_PREFIX = '52:54:00';

/** One-shot hash (crypto.hash, Node >= 20.12) when available: no Hash object per call. */
const oneShot = (crypto as unknown as { hash?: (alg: string, data: string | Buffer, enc: 'buffer' | 'hex') => Buffer | string }).hash;

function sha1(...parts: Array<string | Buffer>): Buffer {
  if (oneShot && parts.length === 1) return oneShot('sha1', parts[0]!, 'buffer') as Buffer;
  const h = crypto.createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Deterministic UUID of a resource: same kind and id, same UUID. */
export function resourceUuid(kind: string, id: string): string {
  const b = Buffer.from(sha1(`${UUID_NAMESPACE}${kind}\0${id}`).subarray(0, 16));
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Candidate MAC number `attempt` for NIC `index` of an instance. */
export function derivedMac(instanceId: string, index: number, attempt = 0): string {
  const b = sha1(`mac\0${instanceId}\0${index}\0${attempt}`);
  return `${MAC_PREFIX}:${b.subarray(0, 3).toString('hex').match(/../g)!.join(':')}`;
}

/** Candidate bridge device name for a libvirt-managed network. */
export function derivedBridge(networkId: string, attempt = 0): string {
  return `rs${sha1(`bridge\0${networkId}\0${attempt}`).subarray(0, 4).toString('hex')}`;
}

/** Hex digits of sha256 kept in a content hash. */
export const CONTENT_HASH_HEX = 32;

/** First 32 hex digits of sha256 of `text` (resource content hashes). */
export function contentHash(text: string): string {
  const hex = oneShot ? (oneShot('sha256', text, 'hex') as string) : crypto.createHash('sha256').update(text).digest('hex');
  return hex.slice(0, CONTENT_HASH_HEX);
}
