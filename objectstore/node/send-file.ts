/**
 * Serving a stored body from its file through a few reused buffers.
 *
 * Why not fs.createReadStream piped to the response: the stream allocates a fresh buffer for
 * every chunk, so each 16 MiB GET leaves 16 MiB of external memory behind. V8 answers external
 * memory with major GCs; profiled on this project's 2-core VMs under 16 concurrent 16 MiB
 * GETs, a storage node spent about a quarter of its CPU marking and sweeping. Here each chunk
 * is read into a buffer from a small shared pool, written to the socket, and the buffer goes
 * back to the pool once the socket has taken the bytes (the write's callback), so a GET
 * allocates nothing after warm-up.
 *
 * With a check, the body is verified as it is read and the last chunk is only written once the
 * checksum of everything matched: on a mismatch the caller gets BodyMismatch with the response
 * still short of its Content-Length, and destroys it (the client sees an error, never a
 * complete wrong body), as auditor/verify-stream.ts's holdBack does for streams.
 */
import { read } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { digestFor, type BodyCheck } from '../auditor/verify-stream.js';
import { BufferPool } from '../common/buffer-pool.js';

/** Bytes per read and per socket write (what createReadStream was given before). */
export const SEND_CHUNK_BYTES = 256 * 1024;
/** Chunks of one response on their way to the socket while the next one is read. */
const CHUNKS_IN_FLIGHT = 4;
/** Idle buffers kept for the next responses: 16 MiB, enough for 16 concurrent GETs. */
const POOL_BUFFERS = 64;

const pool = new BufferPool(SEND_CHUNK_BYTES, POOL_BUFFERS);

/** Fills buf[0, want) from the file at `pos`; short only at the end of the file. */
async function readFull(fd: number, buf: Buffer, want: number, pos: number): Promise<number> {
  let got = 0;
  while (got < want) {
    const n = await new Promise<number>((res, rej) =>
      read(fd, buf, got, want - got, pos + got, (e, bytes) => (e ? rej(e) : res(bytes))));
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * Writes bytes [start, start + length) of `fd` to `res` (whose head is already written) and
 * leaves the response open: the caller ends it. Stops early, without error, when the response
 * closes (the client went away). Throws BodyMismatch (last chunk unsent) when `check` fails,
 * or an Error when the file is shorter than `start + length`.
 */
export async function sendFileRange(fd: number, start: number, length: number, res: ServerResponse,
  check?: BodyCheck): Promise<void> {
  const digest = check ? digestFor(check) : undefined;
  // Resolves false when the response closes first: a write the socket never took may still
  // hold its buffer, so that buffer is left to the GC instead of going back to the pool.
  const closed = new Promise<false>((resolve) => res.once('close', () => resolve(false)));
  const inFlight: { buf: Buffer; taken: Promise<boolean> }[] = [];
  const settle = async (w: { buf: Buffer; taken: Promise<boolean> }) => {
    if (await Promise.race([w.taken, closed])) pool.give(w.buf);
  };
  const end = start + length;
  let pos = start;
  try {
    while (pos < end && !res.destroyed) {
      if (inFlight.length >= CHUNKS_IN_FLIGHT) await settle(inFlight.shift()!);
      const buf = pool.take();
      const want = Math.min(SEND_CHUNK_BYTES, end - pos);
      let chunk: Buffer;
      try {
        const n = await readFull(fd, buf, want, pos);
        if (n < want) throw new Error(`object file ends at byte ${pos + n}, before the ${end} its footer records`);
        chunk = buf.subarray(0, n);
        digest?.update(chunk);
        // The last chunk goes out only when the checksum of everything matched.
        const bad = digest && pos + n === end ? digest.mismatch() : undefined;
        if (bad) throw bad;
      } catch (e) {
        pool.give(buf); // never written: nothing else holds it
        throw e;
      }
      pos += chunk.length;
      inFlight.push({ buf, taken: new Promise((resolve) => res.write(chunk, (e) => resolve(!e))) });
    }
  } finally {
    await Promise.all(inFlight.map(settle));
  }
}
