/**
 * A minimal POSIX ustar writer and reader for regular files, used for repository backups, so
 * an operator can inspect a backup with `tar tvf`. Only what the backup needs: regular files
 * with relative paths shorter than 100 bytes, no links, no extended headers.
 */

import { Readable } from 'node:stream';

/** Size of a tar block. */
export const BLOCK = 512;
/** Longest path this writer stores (the ustar name field). */
export const MAX_TAR_PATH = 99;

/** One file of an archive. */
export interface TarFile {
  path: string;
  data: Buffer;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** The 512-byte ustar header of a regular file. */
export function tarHeader(path: string, size: number, mtime: number): Buffer {
  if (Buffer.byteLength(path) > MAX_TAR_PATH) throw new RangeError(`tar path too long: ${path}`);
  const h = Buffer.alloc(BLOCK);
  h.write(path, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(Math.floor(mtime), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

/** Zero bytes that pad `size` up to a whole block. */
function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** A tar stream of `files` (an async source, so big archives are never held whole). */
export function tarStream(files: AsyncIterable<TarFile>, mtime = Date.now() / 1000): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    for await (const f of files) {
      yield tarHeader(f.path, f.data.length, mtime);
      yield f.data;
      yield padding(f.data.length);
    }
    yield Buffer.alloc(BLOCK * 2);
  }
  return Readable.from(gen());
}

/** Reads the files of a tar stream, one whole file at a time. Throws on a corrupt header. */
export async function* untar(src: AsyncIterable<Buffer | string>): AsyncGenerator<TarFile> {
  const chunks: Buffer[] = [];
  let buffered = 0;
  /** Removes and returns the first n buffered bytes (the caller checked n <= buffered). */
  const take = (n: number): Buffer => {
    const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    chunks.length = 0;
    if (all.length > n) chunks.push(all.subarray(n));
    buffered -= n;
    return all.subarray(0, n);
  };
  let want: { path: string; size: number } | undefined;
  for await (const chunk of src) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    chunks.push(b);
    buffered += b.length;
    for (;;) {
      if (!want) {
        if (buffered < BLOCK) break;
        const h = take(BLOCK);
        if (h.every((x) => x === 0)) return;
        let sum = 0;
        for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
        const field = (from: number, to: number) => h.toString('ascii', from, to).replace(/\0.*$/s, '').trim();
        if (parseInt(field(148, 156), 8) !== sum) throw new Error('corrupt tar header (checksum)');
        const path = h.toString('utf8', 0, 100).replace(/\0.*$/s, '');
        const type = h.toString('ascii', 156, 157);
        if (type !== '0' && type !== '\0') throw new Error(`unsupported tar entry type ${JSON.stringify(type)} for ${path}`);
        want = { path, size: parseInt(field(124, 136) || '0', 8) };
      }
      const padded = want.size + padding(want.size).length;
      if (buffered < padded) break;
      const data = Buffer.from(take(padded).subarray(0, want.size));
      yield { path: want.path, data };
      want = undefined;
    }
  }
  throw new Error('truncated tar archive');
}
