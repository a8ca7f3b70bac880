/**
 * sendFileRange against a real file and real HTTP responses: concurrent bodies exact although
 * the buffers are shared and reused, ranges, a checksum that fails (the last chunk never
 * sent), a file shorter than promised, and a client that leaves mid-body (no hang).
 */
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { closeSync, openSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEND_CHUNK_BYTES, sendFileRange } from './send-file.js';
import { BodyMismatch, type BodyCheck } from '../auditor/verify-stream.js';
import { crc32c } from '../common/crc32c.js';
import { md5, pattern } from '../../test/support/bodies.js';


const dir = mkdtempSync(join(tmpdir(), 'ringstack-send-file-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const SIZE = SEND_CHUNK_BYTES * 9 + 1234;
const files = [1, 2, 3, 4, 5, 6].map((seed) => {
  const body = pattern(seed, SIZE);
  const path = join(dir, `f${seed}`);
  writeFileSync(path, body);
  return { seed, body, path };
});

/** A server answering /<file index>?start=&length=&check=good|bad|none through sendFileRange. */
async function server(outcomes: Array<string>): Promise<number> {
  const s = http.createServer(async (req, res) => {
    const u = new URL(req.url!, 'http://x');
    const f = files[Number(u.pathname.slice(1))]!;
    const start = Number(u.searchParams.get('start') ?? 0);
    const length = Number(u.searchParams.get('length') ?? SIZE);
    const mode = u.searchParams.get('check') ?? 'none';
    const check: BodyCheck | undefined = mode === 'none' ? undefined
      : { algorithm: 'crc32c', expected: mode === 'good' ? crc32c(f.body) : (crc32c(f.body) ^ 1) >>> 0 };
    const fd = openSync(f.path, 'r');
    res.writeHead(200, { 'content-length': String(length) });
    try {
      await sendFileRange(fd, start, length, res, check);
      res.end();
      outcomes.push('sent');
    } catch (e) {
      outcomes.push(e instanceof BodyMismatch ? 'mismatch' : `error: ${(e as Error).message}`);
      res.destroy();
    } finally {
      closeSync(fd);
    }
  });
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  t.teardown(() => s.close());
  return (s.address() as net.AddressInfo).port;
}

/** The bytes a GET got, and whether its response completed. */
function get(port: number, path: string): Promise<{ body: Buffer; complete: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ body: Buffer.concat(chunks), complete: true }));
      res.on('error', () => resolve({ body: Buffer.concat(chunks), complete: false }));
      res.on('aborted', () => resolve({ body: Buffer.concat(chunks), complete: false }));
    }).on('error', () => resolve({ body: Buffer.concat(chunks), complete: false }));
  });
}

t.test('concurrent bodies arrive exact through the shared buffers, checked or not', async (t) => {
  const port = await server([]);
  for (let round = 0; round < 2; round++) {
    const got = await Promise.all(files.map((f, i) => get(port, `/${i}?check=${i % 2 ? 'good' : 'none'}`)));
    got.forEach((g, i) => t.ok(g.complete && md5(g.body) === md5(files[i]!.body), `round ${round} file ${i} exact`));
  }
});

t.test('a range sends exactly its bytes', async (t) => {
  const port = await server([]);
  const start = SEND_CHUNK_BYTES - 5;
  const length = SEND_CHUNK_BYTES * 2 + 11;
  const g = await get(port, `/2?start=${start}&length=${length}`);
  t.ok(g.complete);
  t.equal(md5(g.body), md5(files[2]!.body.subarray(start, start + length)));
});

t.test('a failed check never completes the body and never sends its last chunk', async (t) => {
  const outcomes: string[] = [];
  const port = await server(outcomes);
  const g = await get(port, '/3?check=bad');
  t.notOk(g.complete, 'the response is cut short');
  t.ok(g.body.length <= SIZE - (SIZE % SEND_CHUNK_BYTES), `${g.body.length} bytes arrived: not the last chunk`);
  t.same(outcomes, ['mismatch']);
});

t.test('a file shorter than its promised length is an error, not a short complete body', async (t) => {
  const outcomes: string[] = [];
  const port = await server(outcomes);
  const g = await get(port, `/4?start=${SIZE - 100}&length=200`);
  t.notOk(g.complete);
  t.match(outcomes[0], /object file ends at byte/);
});

t.test('a client that leaves mid-body ends the send (no hang)', async (t) => {
  const outcomes: string[] = [];
  const port = await server(outcomes);
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write('GET /5 HTTP/1.1\r\nhost: x\r\n\r\n');
  await once(sock, 'data');
  sock.destroy();
  const deadline = Date.now() + 10_000;
  while (outcomes.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.equal(outcomes.length, 1, `the send returned (${outcomes[0]})`);
});
