/**
 * Keeps the number of packs of a repository small. Every accepted push adds one pack, and
 * isomorphic-git looks through every pack index to find an object, so after many pushes
 * reads slow down. When a repository holds `threshold` packs or more, everything reachable
 * from its refs is written into one new pack (isomorphic-git packObjects, no deltas) and the
 * old packs are deleted; unreachable objects (deleted branches, nothing else) go with them.
 *
 * Must run under the repository lock (repo-store.ts): pushes and fetches take it too, so no
 * reader of this endpoint uses an old pack while it is deleted.
 */

import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import git from 'isomorphic-git';
import { readRefs } from './refs.js';
import { objectsToSend } from './upload-pack.js';
import { fsyncDir, fsyncFile, writeFileDurable } from './durable.js';

/** Number of packs at which a repository is repacked. */
export const DEFAULT_REPACK_THRESHOLD = 16;

/** Names (without extension) of the complete packs (pack and index) in objects/pack. */
async function listPacks(packDir: string): Promise<string[]> {
  const files = new Set(await fsp.readdir(packDir).catch(() => [] as string[]));
  return [...files]
    .filter((f) => /^pack-[0-9a-f]{40}\.idx$/.test(f) && files.has(f.replace(/\.idx$/, '.pack')))
    .map((f) => f.slice(0, -4));
}

/**
 * Repacks `gitdir` when it has at least `threshold` packs. Returns the number of packs
 * removed (0 when nothing was done).
 */
export async function repackIfNeeded(gitdir: string, threshold = DEFAULT_REPACK_THRESHOLD): Promise<number> {
  const packDir = path.join(gitdir, 'objects', 'pack');
  const before = await listPacks(packDir);
  if (threshold <= 0 || before.length < threshold) return 0;
  const snap = await readRefs(gitdir);
  const tips = [...new Set(snap.refs.map((r) => r.oid))];
  if (tips.length === 0) return 0;
  const cache = {};
  const oids = await objectsToSend(gitdir, tips, [], cache);
  const { filename, packfile } = await git.packObjects({ fs, dir: gitdir, gitdir, oids, cache });
  const name = filename.replace(/\.pack$/, '');
  const packPath = path.join(packDir, filename);
  await writeFileDurable(packPath, Buffer.from(packfile!));
  await git.indexPack({ fs, dir: gitdir, gitdir, filepath: path.relative(gitdir, packPath) });
  await fsyncFile(path.join(packDir, `${name}.idx`));
  await fsyncDir(packDir);
  let removed = 0;
  for (const old of before) {
    if (old === name) continue;
    // Index first: a pack without its index is ignored, an index without its pack is an error.
    await fsp.rm(path.join(packDir, `${old}.idx`), { force: true });
    await fsp.rm(path.join(packDir, `${old}.pack`), { force: true });
    removed++;
  }
  await fsyncDir(packDir);
  return removed;
}
