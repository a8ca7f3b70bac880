/**
 * Backup of the bare repositories into the object store, so a controller started on a new
 * machine resumes with every accepted commit: after each accepted push the repository is
 * saved as one tar archive (`git/<name>.tar`): HEAD, config, a packed-refs file holding every
 * ref, and all packs and loose objects. Refs are read before objects are listed; objects are
 * only ever added before a ref moves, so every ref in the archive has its objects with it.
 * Packs are already compressed, so the archive is not.
 */

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { readRefs } from './refs.js';
import { tarStream, untar, type TarFile } from './tar.js';
import { fsyncDir, fsyncFile } from './durable.js';
import type { ObjectPutGet } from './object-put-get.js';

/** Key prefix of repository archives in the state bucket. */
export const BACKUP_PREFIX = 'git/';
/** Files at the top of a bare repository that the archive carries. */
const TOP_FILES = ['HEAD', 'config', 'description'];
/** Empty folders a bare repository must have. */
const REQUIRED_DIRS = ['objects/pack', 'objects/info', 'refs/heads', 'refs/tags'];

/** Saves and restores whole repositories. */
export interface RepoBackup {
  /** Saves the repository at `repoDir` under `name`. */
  save(repoDir: string, name: string): Promise<void>;
  /** Recreates `repoDir` (which must not exist) from the backup of `name`; false if none. */
  restore(repoDir: string, name: string): Promise<boolean>;
}

/** Key of the archive of repository `name`. */
export function backupKey(name: string): string {
  return `${BACKUP_PREFIX}${name}.tar`;
}

/** The packed-refs text of the repository's current refs. */
async function packedRefs(repoDir: string): Promise<string> {
  const snap = await readRefs(repoDir);
  let text = '# pack-refs with: peeled fully-peeled sorted \n';
  for (const r of snap.refs) {
    text += `${r.oid} ${r.name}\n`;
    if (r.peeled) text += `^${r.peeled}\n`;
  }
  return text;
}

/** Files of the repository's object database: packs and indexes, then loose objects. */
async function* objectFiles(repoDir: string): AsyncGenerator<TarFile> {
  const objects = path.join(repoDir, 'objects');
  const packDir = path.join(objects, 'pack');
  const packs = (await fsp.readdir(packDir).catch(() => [] as string[])).filter((f) => /^pack-[0-9a-f]{40}\.(pack|idx)$/.test(f));
  // Index after pack for each pair, so a reader never sees an index without its pack.
  packs.sort((a, b) => a.localeCompare(b));
  for (const f of packs) {
    const data = await fsp.readFile(path.join(packDir, f)).catch(() => undefined);
    if (data) yield { path: `objects/pack/${f}`, data };
  }
  for (const sub of (await fsp.readdir(objects)).filter((d) => /^[0-9a-f]{2}$/.test(d)).sort()) {
    for (const f of (await fsp.readdir(path.join(objects, sub))).filter((x) => /^[0-9a-f]{38}$/.test(x)).sort()) {
      const data = await fsp.readFile(path.join(objects, sub, f)).catch(() => undefined);
      if (data) yield { path: `objects/${sub}/${f}`, data };
    }
  }
}

/** RepoBackup into an object store through ObjectPutGet. */
export class ObjectStoreRepoBackup implements RepoBackup {
  constructor(private readonly store: ObjectPutGet) {}

  async save(repoDir: string, name: string): Promise<void> {
    const refs = await packedRefs(repoDir);
    async function* files(): AsyncGenerator<TarFile> {
      for (const f of TOP_FILES) {
        const data = await fsp.readFile(path.join(repoDir, f)).catch(() => undefined);
        if (data) yield { path: f, data };
      }
      yield { path: 'packed-refs', data: Buffer.from(refs) };
      yield* objectFiles(repoDir);
    }
    await this.store.put(backupKey(name), tarStream(files()));
  }

  async restore(repoDir: string, name: string): Promise<boolean> {
    const body = await this.store.get(backupKey(name));
    if (!body) return false;
    const parent = path.dirname(repoDir);
    const tmp = path.join(parent, `.${path.basename(repoDir)}.${randomBytes(6).toString('hex')}.restore`);
    await fsp.mkdir(tmp, { recursive: true });
    try {
      const src = Buffer.isBuffer(body) ? Readable.from([body]) : body;
      for await (const f of untar(src)) {
        const rel = path.normalize(f.path);
        if (path.isAbsolute(rel) || rel.startsWith('..')) throw new Error(`unsafe path in backup: ${f.path}`);
        const file = path.join(tmp, rel);
        await fsp.mkdir(path.dirname(file), { recursive: true });
        await fsp.writeFile(file, f.data);
        await fsyncFile(file);
      }
      for (const d of REQUIRED_DIRS) await fsp.mkdir(path.join(tmp, d), { recursive: true });
      await fsyncDir(path.join(tmp, 'objects', 'pack'));
      await fsyncDir(tmp);
      await fsp.rename(tmp, repoDir);
      await fsyncDir(parent);
      return true;
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }
}
