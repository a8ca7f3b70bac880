/**
 * Memory stays flat with object size: uploads and downloads one large object (2 GiB by
 * default) through `ringstack objectstore`'s Swift API while sampling the RSS of the proxy
 * (the launcher process) and of each storage node; checks the bytes (MD5) and prints JSON.
 *
 *   node dist/bench/objectstore/memory.js [--size-mib 2048]
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import net from 'node:net';
import { startRingstack, stopRingstack } from './bench.js';
import { authV1, request } from './load.js';
import { descendants, RssSampler } from './procs.js';

const MiB = 1024 * 1024;

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });
}

function chunk(i: number, seed: Buffer): Buffer {
  const c = Buffer.from(seed);
  c.writeUInt32BE(i, 0);
  return c;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'size-mib': { type: 'string', default: '2048' } } });
  const sizeMib = Number(values['size-mib']);
  const size = sizeMib * MiB;
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-mem-'));
  const port = await freePort();
  const rs = await startRingstack(dir, port);
  const pids = descendants(rs.pid!);
  const sampler = new RssSampler(() => pids);
  const result: Record<string, unknown> = { size_mib: sizeMib };
  try {
    const ep = await authV1(`http://127.0.0.1:${port}/auth/v1.0`, 'bench', 'bench-secret-key');
    await request(ep, 'PUT', '/mem');
    const seed = Buffer.alloc(MiB, 0x5a);
    const url = new URL(`${ep.storageUrl}/mem/big`);
    sampler.start();
    const md5 = createHash('md5');
    let t0 = Date.now();
    const status = await new Promise<number>((res, rej) => {
      const req = http.request({
        host: url.hostname, port: url.port, path: url.pathname, method: 'PUT',
        headers: { 'x-auth-token': ep.token, 'content-length': String(size) },
      }, (r) => {
        r.resume();
        r.on('end', () => res(r.statusCode ?? 0));
      });
      req.on('error', rej);
      let i = 0;
      const pump = () => {
        while (i < sizeMib) {
          const c = chunk(i++, seed);
          md5.update(c);
          if (!req.write(c)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    result.put = { status, seconds: (Date.now() - t0) / 1000, mb_s: Math.round(size / ((Date.now() - t0) / 1000) / 1e5) / 10 };
    const want = md5.digest('hex');
    t0 = Date.now();
    const got = await new Promise<{ status: number; md5: string; bytes: number }>((res, rej) => {
      http.get({ host: url.hostname, port: url.port, path: url.pathname, headers: { 'x-auth-token': ep.token } }, (r) => {
        const h = createHash('md5');
        let bytes = 0;
        r.on('data', (c: Buffer) => {
          h.update(c);
          bytes += c.length;
        });
        r.on('end', () => res({ status: r.statusCode ?? 0, md5: h.digest('hex'), bytes }));
        r.on('error', rej);
      }).on('error', rej);
    });
    result.get = { status: got.status, seconds: (Date.now() - t0) / 1000, mb_s: Math.round(size / ((Date.now() - t0) / 1000) / 1e5) / 10, bytes: got.bytes, md5_ok: got.md5 === want };
    const peaks = sampler.stop();
    result.peak_rss_mb = { proxy: peaks[String(rs.pid)], nodes: pids.slice(1).map((p) => peaks[String(p)]) };
  } finally {
    sampler.stop();
    await stopRingstack(rs);
    await rm(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().then(() => process.exit(0), (e) => {
    process.stderr.write(`memory: ${(e as Error).stack}\n`);
    process.exit(1);
  });
}
