/**
 * Test bodies whose every 4 bytes depend on a seed and their position, so a body assembled from
 * the wrong buffer, in the wrong order or from another body shows in its MD5.
 */
import { createHash } from 'node:crypto';

export function pattern(seed: number, size: number): Buffer {
  const b = Buffer.alloc(size + 3);
  for (let i = 0; i < size; i += 4) b.writeUInt32LE(((i * 2654435761) ^ seed) >>> 0, i);
  return b.subarray(0, size);
}

export const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
