/**
 * Large-object benchmark for the Swift front end on the replicated store (3 storage nodes as
 * child processes): uploads an image with python-swiftclient (`--use-slo` or DLO) in
 * segments, downloads it, checks the bytes, and prints MB/s of both directions and the peak
 * RSS of the process running the Swift front end and proxy backend, which shows that segments
 * stream through instead of being buffered.
 *
 *   npx tsc -p . && node dist/bench/objectstore/swift-large-object.js [--mib 512] [--segment-mib 64] [--dlo]
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TestCluster } from '../../objectstore/cluster/test-cluster.js';
import { startTestSwiftServer } from '../../objectstore/swift/test-server.js';

const { values } = parseArgs({
  options: { mib: { type: 'string', default: '512' }, 'segment-mib': { type: 'string', default: '64' }, dlo: { type: 'boolean', default: false } },
});
const MIB = 1024 * 1024;
const size = Number(values.mib) * MIB;
const segment = Number(values['segment-mib']) * MIB;

async function md5File(path: string): Promise<string> {
  const h = createHash('md5');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

async function writeRandom(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  const block = randomBytes(MIB);
  for (let done = 0; done < bytes; done += MIB) {
    // Vary each block so segments differ.
    block.writeUInt32BE(done / MIB, 0);
    if (!out.write(Buffer.from(block))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
}

const dir = await mkdtemp(join(tmpdir(), 'swift-bench-'));
const cluster = await TestCluster.start({ nodes: 3 });
const server = await startTestSwiftServer({ backend: cluster.backend });
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 100);
const swift = (...args: string[]) => new Promise<void>((resolve, reject) => {
  execFile('/usr/bin/swift', ['-A', `${server.url}/auth/v1.0`, '-U', 'test:tester', '-K', 'testing', ...args],
    { cwd: dir, env: { PATH: '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8' } },
    (err, _out, stderr) => (err ? reject(new Error(stderr || String(err))) : resolve()));
});

try {
  const file = join(dir, 'image.img');
  await writeRandom(file, size);
  const want = await md5File(file);
  const baseRss = process.memoryUsage().rss;
  let t0 = Date.now();
  await swift('upload', ...(values.dlo ? [] : ['--use-slo']), '--segment-size', String(segment), 'images', 'image.img');
  const upMs = Date.now() - t0;
  t0 = Date.now();
  await swift('download', 'images', 'image.img', '-o', 'image.out');
  const downMs = Date.now() - t0;
  const got = await md5File(join(dir, 'image.out'));
  const outSize = (await stat(join(dir, 'image.out'))).size;
  clearInterval(sampler);
  process.stdout.write(`${JSON.stringify({
    kind: values.dlo ? 'DLO' : 'SLO', mib: size / MIB, segmentMib: segment / MIB, replicas: 3,
    uploadMBps: +(size / MIB / (upMs / 1000)).toFixed(1), downloadMBps: +(size / MIB / (downMs / 1000)).toFixed(1),
    bytesMatch: got === want && outSize === size,
    rssBeforeMib: Math.round(baseRss / MIB), peakRssMib: Math.round(peakRss / MIB),
  }, null, 2)}\n`);
} finally {
  clearInterval(sampler);
  await server.close();
  await cluster.stop();
  await rm(dir, { recursive: true, force: true });
}
