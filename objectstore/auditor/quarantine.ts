/**
 * Moving a damaged object out of the way (Swift's quarantine): its whole hash folder is renamed
 * to `<device>/quarantined/objects/<hash>-<random>/` (kept for a human to look at), and both
 * parent folders are fsynced so the move survives a crash. The next replication pass no longer
 * sees the object on this node (suffix hashes are recomputed from the folders, so no hash cache
 * needs invalidating) and a peer pushes a good copy back.
 *
 * Used by the auditor, by GET when the bytes it is about to serve do not match their ETag,
 * and by the replicator when a peer refuses a pushed body because of its MD5.
 */
import { fsyncDirs } from '../node/path-sync.js';
import { mkdir, rename } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

export const QUARANTINE_SUBDIR = join('quarantined', 'objects');

let quarantinedSinceStart = 0;

/** Hash folders quarantined by this process since it started. */
export function quarantinedTotal(): number {
  return quarantinedSinceStart;
}

/**
 * Moves `hashDir` (a folder under `<devicePath>/objects/`) into the device's quarantine.
 * Returns the new path, or undefined when the folder was already gone.
 */
export async function quarantineHashDir(devicePath: string, hashDir: string): Promise<string | undefined> {
  const qdir = join(devicePath, QUARANTINE_SUBDIR);
  await mkdir(qdir, { recursive: true });
  const dest = join(qdir, `${basename(hashDir)}-${randomBytes(4).toString('hex')}`);
  try {
    await rename(hashDir, dest);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  await fsyncDirs([dirname(hashDir), qdir]);
  quarantinedSinceStart++;
  return dest;
}
