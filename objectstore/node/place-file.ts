/**
 * How a storage node puts a small file, already whole in memory, at its final name: as an
 * unnamed file linked into place (the addon's placeFile: open(O_TMPFILE), write, linkat), so
 * no reader ever sees it partial and a crash leaves no temp file behind; where the filesystem
 * or the host lacks that (or the addon is not built), as a temp file renamed into place.
 * Neither fsyncs: the caller's small-write log has the bytes durable already
 * (small-write-log.ts), and its checkpoint's syncfs puts the file on disk.
 */
import { openSync, closeSync, writeSync, renameSync, unlinkSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { nativeAddon } from '../common/native-addon.js';

const addon = nativeAddon<{ placeFile(dir: string, path: string, data: Buffer): void }>('placeFile');

/** False once the addon is missing or the filesystem refused O_TMPFILE: temp files from then on. */
let unnamedFiles = addon !== null;

/** Whether the next placeFile will link an unnamed file (tests compare both ways). */
export function placesUnnamed(): boolean {
  return unnamedFiles;
}

/** Makes placeFile use temp files from now on, or (`false`) unnamed files again where it can: for tests and benchmarks. */
export function useTempFiles(yes = true): void {
  unnamedFiles = !yes && addon !== null;
}

/**
 * Creates the temp file `tempPath` (O_EXCL: never another writer's), and its folder when that
 * is missing; readable as well as writable when `readable`. Returns its descriptor.
 */
export function createTempFile(tempPath: string, readable = false): number {
  const flags = readable ? 'wx+' : 'wx';
  try {
    return openSync(tempPath, flags);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(dirname(tempPath), { recursive: true });
    return openSync(tempPath, flags);
  }
}

/** Writes all of `chunks` at the file's current offset, synchronously (short writes resumed). */
export function writeAllSync(fd: number, chunks: Buffer[]): void {
  for (const c of chunks) {
    let off = 0;
    while (off < c.length) off += writeSync(fd, c, off, c.length - off);
  }
}

/**
 * Writes `data` as a new file at `path`, inside the existing directory `dir`; `tempPath` (on
 * the same filesystem, in a directory that may not exist yet) is used only by the fallback.
 * Throws EEXIST, leaving what is there, when `path` exists (with unnamed files; a rename would
 * replace it, so the caller checks first: diskfile.ts's newest-wins check).
 */
export function placeFile(dir: string, path: string, data: Buffer, tempPath: string): void {
  if (unnamedFiles) {
    try {
      return addon!.placeFile(dir, path, data);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'EOPNOTSUPP' || err.syscall !== 'open') throw e;
      unnamedFiles = false;
    }
  }
  const fd = createTempFile(tempPath);
  let open = true;
  try {
    writeAllSync(fd, [data]);
    open = false;
    closeSync(fd);
    renameSync(tempPath, path);
  } catch (e) {
    // (Never closed twice: the number may already name another file.)
    if (open) closeSync(fd);
    try {
      unlinkSync(tempPath);
    } catch {
      // never renamed away, or gone
    }
    throw e;
  }
}
