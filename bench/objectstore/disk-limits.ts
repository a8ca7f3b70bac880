/**
 * The disk's own limits, to print beside the object store numbers (issue 4 asks for them):
 * how many "write 4 KiB + fdatasync" rounds per second one writer and 16 parallel writers get,
 * and how many MB/s of fsynced data one sequential writer and 12 parallel 16 MiB writers
 * (4 large PUTs × 3 replicas) get. Runs in a temp folder on the filesystem under test.
 *
 *   node dist/bench/objectstore/disk-limits.js [--dir /tmp] [--seconds 5] [--mib 256]
 */
// Parallel fsyncs need threads in libuv's pool; this must be set before the pool starts.
process.env.UV_THREADPOOL_SIZE ??= '64';
import { open, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const SMALL_BYTES = 4096;
const PARALLEL_FSYNC_WRITERS = 16;
const CHUNK_BYTES = 1024 * 1024;
const LARGE_FILE_MIB = 16;
const PARALLEL_LARGE_WRITERS = 12;

/** Rounds of "write 4 KiB at the start of a file, fdatasync" per second with `writers` files. */
async function fsyncsPerSecond(dir: string, writers: number, seconds: number): Promise<{ per_s: number; mean_ms: number }> {
  const buf = Buffer.alloc(SMALL_BYTES, 7);
  const deadline = Date.now() + seconds * 1000;
  let rounds = 0;
  let busyMs = 0;
  await Promise.all(Array.from({ length: writers }, async (_, i) => {
    const fh = await open(join(dir, `fsync-${i}`), 'w');
    try {
      let n = 0;
      while (Date.now() < deadline) {
        const t0 = performance.now();
        // A new block each round (like a new object), so every sync writes data and metadata.
        await fh.write(buf, 0, buf.length, (n++ % 1024) * SMALL_BYTES);
        await fh.datasync();
        busyMs += performance.now() - t0;
        rounds++;
      }
    } finally {
      await fh.close();
    }
  }));
  return { per_s: Math.round(rounds / seconds), mean_ms: Math.round((busyMs / Math.max(1, rounds)) * 100) / 100 };
}

/** MB/s of `writers` files of `mib` MiB each written in 1 MiB writes and fsynced at the end. */
async function writeMbPerSecond(dir: string, writers: number, mib: number): Promise<number> {
  const chunk = Buffer.alloc(CHUNK_BYTES, 9);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: writers }, async (_, i) => {
    const fh = await open(join(dir, `large-${i}`), 'w');
    try {
      for (let m = 0; m < mib; m++) await fh.write(chunk, 0, chunk.length);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  return Math.round((writers * mib * CHUNK_BYTES) / seconds / 1e6);
}

export interface DiskLimits {
  dir: string;
  loadavg_1m: number;
  fsync_serial: { per_s: number; mean_ms: number };
  fsync_parallel_16: { per_s: number; mean_ms: number };
  write_seq_mb_s: number;
  write_parallel_12x16mib_mb_s: number;
}

export async function measureDiskLimits(base: string, seconds: number, mib: number): Promise<DiskLimits> {
  const dir = await mkdtemp(join(base, 'ringstack-disk-limits-'));
  try {
    const fsync_serial = await fsyncsPerSecond(dir, 1, seconds);
    const fsync_parallel_16 = await fsyncsPerSecond(dir, PARALLEL_FSYNC_WRITERS, seconds);
    const write_seq_mb_s = await writeMbPerSecond(dir, 1, mib);
    const write_parallel_12x16mib_mb_s = await writeMbPerSecond(dir, PARALLEL_LARGE_WRITERS, LARGE_FILE_MIB);
    return {
      dir: base, loadavg_1m: Math.round(loadavg()[0]! * 100) / 100,
      fsync_serial, fsync_parallel_16, write_seq_mb_s, write_parallel_12x16mib_mb_s,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string', default: tmpdir() },
      seconds: { type: 'string', default: '5' },
      mib: { type: 'string', default: '256' },
    },
  });
  const r = await measureDiskLimits(values.dir!, Number(values.seconds), Number(values.mib));
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((e) => {
    process.stderr.write(`disk-limits: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
