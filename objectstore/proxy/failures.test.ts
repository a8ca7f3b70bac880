/**
 * Failure handling with real node processes: a full device sends the write to a handoff,
 * kill -9 of a node in the middle of a 64 MiB upload, and listing updates that survive a dead
 * container node (queued durably, replayed by the updater).
 */
import t from 'tap';
import { Readable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TestCluster } from '../cluster/test-cluster.js';
import { hashPath } from '../ring/hash.js';
import { nodePath } from '../node/protocol.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

async function md5Of(r: Readable): Promise<{ md5: string; bytes: number }> {
  const h = createHash('md5');
  let bytes = 0;
  for await (const c of r) {
    h.update(c as Buffer);
    bytes += (c as Buffer).length;
  }
  return { md5: h.digest('hex'), bytes };
}

async function exists(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/**
 * The files of `dir` once they equal `want`, or what is there after `ms`. The proxy answers
 * once a majority stored the object and lets the last replica finish on its own (Swift's
 * post-quorum grace), so on a loaded machine the third copy can land just after the reply.
 */
async function eventually(dir: string, want: string[], ms = 15000): Promise<string[]> {
  const end = Date.now() + ms;
  for (;;) {
    const got = await exists(dir);
    if (JSON.stringify(got) === JSON.stringify(want) || Date.now() > end) return got;
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('a full device: the write goes to a handoff', async (t) => {
  const NAME = 'big-on-full';
  let full = -1;
  let mode = '';
  const cluster = await TestCluster.start({
    nodes: 4,
    beforeStart: async (c) => {
      const { nodes } = c.rings.object.getNodes('acct', 'bucket', NAME);
      full = c.nodes.findIndex((x) => x.device === nodes[0]!.device);
      try {
        // A really full device: a 1 MiB tmpfs (needs root).
        await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', c.devicePath(full)]);
        c.mounts.push(c.devicePath(full));
        // Fill it: not even a small object fits.
        await run('dd', ['if=/dev/zero', `of=${join(c.devicePath(full), 'filler')}`, 'bs=4k']).catch(() => undefined);
        mode = 'tmpfs';
      } catch {
        mode = 'reserve';
      }
    },
    // Without mount: a reserve larger than any disk makes the device "full".
    extra: (i) => (mode === 'reserve' && i === full ? { reserveBytes: 2 ** 52 } : {}),
  });
  t.teardown(() => cluster.stop());
  t.comment(`full device simulated with ${mode}`);
  const b = cluster.backend;
  await b.putContainer('acct', 'bucket');
  const data = randomBytes(2 * MiB);
  const info = await b.putObject('acct', 'bucket', NAME, { body: Readable.from([data]), contentLength: data.length });
  const { part, nodes } = cluster.rings.object.getNodes('acct', 'bucket', NAME);
  const hash = hashPath('acct', 'bucket', NAME, cluster.hash).toString('hex');
  const rel = join('objects', String(part), hash.slice(-3), hash);
  t.same(await exists(join(cluster.devicePath(full), rel)), [], 'nothing on the full device');
  const handoff = cluster.rings.object.getMoreNodes(part).next().value!;
  const hi = cluster.nodes.findIndex((x) => x.device === handoff.device);
  t.notOk(nodes.some((n) => n.device === handoff.device));
  t.same(await eventually(join(cluster.devicePath(hi), rel), [`${info.timestamp}.data`]), [`${info.timestamp}.data`], 'the handoff holds a replica');
  for (const n of nodes.slice(1)) {
    const i = cluster.nodes.findIndex((x) => x.device === n.device);
    t.same(await eventually(join(cluster.devicePath(i), rel), [`${info.timestamp}.data`]), [`${info.timestamp}.data`], `primary ${n.device} holds it`);
  }
  t.equal((await md5Of((await b.getObject('acct', 'bucket', NAME)).body)).md5, info.etag);
  // A small object (sent whole, without 100-continue) also goes to the handoff.
  const small = await b.putObject('acct', 'bucket', NAME, { body: Readable.from([Buffer.from('small')]), contentLength: 5 });
  t.same(await exists(join(cluster.devicePath(full), rel)), [], 'still nothing on the full device');
  t.same(await eventually(join(cluster.devicePath(hi), rel), [`${small.timestamp}.data`]), [`${small.timestamp}.data`], 'the handoff took the small overwrite');
  t.equal((await md5Of((await b.getObject('acct', 'bucket', NAME)).body)).md5, small.etag);
});

t.test('kill -9 of a node while a 64 MiB upload streams', async (t) => {
  const cluster = await TestCluster.start();
  t.teardown(() => cluster.stop());
  const b = cluster.backend;
  await b.putContainer('acct', 'bucket');
  const SIZE = 64 * MiB;
  const CHUNK = MiB;
  const seed = randomBytes(CHUNK);
  const whole = createHash('md5');
  const { nodes } = cluster.rings.object.getNodes('acct', 'bucket', 'big');
  const victim = cluster.nodes.findIndex((x) => x.device === nodes[1]!.device);
  let sent = 0;
  const body = Readable.from((async function* () {
    for (let i = 0; i < SIZE / CHUNK; i++) {
      const c = Buffer.from(seed);
      c.writeUInt32BE(i, 0);
      whole.update(c);
      sent += c.length;
      if (i === 16) await cluster.killNode(victim);
      yield c;
    }
  })());
  let outcome: 'ok' | 'failed';
  try {
    const info = await b.putObject('acct', 'bucket', 'big', { body, contentLength: SIZE });
    t.equal(info.etag, whole.digest('hex'));
    outcome = 'ok';
  } catch (e) {
    t.comment(`upload failed: ${(e as Error).message}`);
    outcome = 'failed';
  }
  t.comment(`outcome: ${outcome} after sending ${sent} bytes`);
  t.equal(outcome, 'ok', 'two of three replicas remain: the upload succeeds');
  await cluster.startNode(victim);
  // Restart everything and read it back byte for byte.
  for (let i = 0; i < 3; i++) {
    await cluster.killNode(i, 'SIGTERM');
    await cluster.startNode(i);
  }
  const got = await md5Of((await b.getObject('acct', 'bucket', 'big', { newest: true })).body);
  t.equal(got.bytes, SIZE);
  const expected = createHash('md5');
  for (let i = 0; i < SIZE / CHUNK; i++) {
    const c = Buffer.from(seed);
    c.writeUInt32BE(i, 0);
    expected.update(c);
  }
  t.equal(got.md5, expected.digest('hex'), 'byte for byte');
  // The killed node kept no partial object.
  const hash = hashPath('acct', 'bucket', 'big', cluster.hash).toString('hex');
  const { part } = cluster.rings.object.getNodes('acct', 'bucket', 'big');
  t.same(await exists(join(cluster.devicePath(victim), 'objects', String(part), hash.slice(-3), hash)), [],
    'no .data on the node killed mid-upload');
});

t.test('listing updates survive a dead container node', async (t) => {
  const cluster = await TestCluster.start();
  t.teardown(() => cluster.stop());
  const b = cluster.backend;
  await b.putContainer('acct', 'logs');
  const { part: cpart, nodes: cnodes } = cluster.rings.container.getNodes('acct', 'logs');
  const dead = cluster.nodes.findIndex((x) => x.device === cnodes[0]!.device);
  await cluster.killNode(dead);
  const names = Array.from({ length: 6 }, (_, i) => `entry-${i}`);
  for (const n of names) await b.putObject('acct', 'logs', n, { body: Readable.from([Buffer.from(n)]), contentLength: n.length });
  await cluster.startNode(dead);
  const ask = async () => {
    const n = cluster.nodes[dead]!;
    const r = await b.client.fetchText({ host: '127.0.0.1', port: n.port, method: 'GET', path: nodePath('cont', n.device, cpart, 'acct', 'logs') });
    return r.status === 200 ? (JSON.parse(r.text).entries as Array<{ name: string }>).map((e) => e.name) : [];
  };
  const end = Date.now() + 30_000;
  let listed: string[] = [];
  while (Date.now() < end) {
    listed = await ask();
    if (listed.length === names.length) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  t.same(listed, names, 'the restarted container node caught up from the queued updates');
});
