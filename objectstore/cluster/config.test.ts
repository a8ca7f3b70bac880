/** Config: file, then environment, then defaults; clear errors for bad settings. */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, DEFAULT_NODE_PORT } from './config.js';

t.test('loadConfig', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-cfg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const f = join(dir, 'c.yaml');
  await writeFile(f, 'secret: 0123456789abcdef0123\nhashSuffix: s\nringDir: rings\nnode:\n  port: 7000\n  devicesDir: /srv/x\n');
  const c = await loadConfig(f, {});
  t.equal(c.ringDir, join(dir, 'rings'), 'relative to the file');
  t.equal(c.node.port, 7000);
  t.equal(c.proxy.port, 8080);
  t.equal(c.node.dbSync, true);
  const e = await loadConfig(f, { RINGSTACK_NODE_PORT: '7100', RINGSTACK_DB_SYNC: 'false', RINGSTACK_HASH_PATH_SUFFIX: 'env' });
  t.equal(e.node.port, 7100, 'environment wins');
  t.equal(e.node.dbSync, false);
  t.equal(e.hashSuffix, 'env');
  t.equal(c.node.smallWriteLog, undefined, 'small-write log: the node decides (on where the addon is built)');
  t.equal(e.node.smallWriteLog, undefined);
  t.equal((await loadConfig(f, { RINGSTACK_SMALL_WRITE_LOG: 'false' })).node.smallWriteLog, false);
  await t.rejects(loadConfig(f, { RINGSTACK_SMALL_WRITE_LOG: 'sometimes' }), /RINGSTACK_SMALL_WRITE_LOG must be true or false, got "sometimes"/);
  t.same(c.node.replicator, { intervalMs: 30_000, concurrency: 2, reclaimAgeSeconds: 604_800 }, 'replicator defaults');
  t.same(c.node.auditor, { intervalMs: 60_000, filesPerSecond: 20, bytesPerSecond: 10_485_760 }, 'auditor defaults');
  t.equal(c.node.ringWatchMs, 15_000);
  t.equal(c.proxy.receiveBufferBytes, 4 * 1024 * 1024, 'each client connection gets a 4 MiB window by default');
  t.equal((await loadConfig(f, { RINGSTACK_PROXY_RECEIVE_BUFFER_BYTES: '0' })).proxy.receiveBufferBytes, 0, '0 = kernel autotuning');
  await t.rejects(loadConfig(f, { RINGSTACK_PROXY_RECEIVE_BUFFER_BYTES: '-1' }),
    /RINGSTACK_PROXY_RECEIVE_BUFFER_BYTES must be a whole number from 0 to 1073741824, got "-1"/);
  await writeFile(f, 'secret: 0123456789abcdef0123\nhashSuffix: s\nnode:\n  ringWatchMs: 500\n'
    + '  replicator: {intervalMs: 1000, concurrency: 4, reclaimAgeSeconds: 60}\n  auditor: {filesPerSecond: 100}\n');
  const r = await loadConfig(f, { RINGSTACK_AUDITOR_BYTES_PER_SECOND: '1000', RINGSTACK_REPLICATOR_CONCURRENCY: '3' });
  t.same(r.node.replicator, { intervalMs: 1000, concurrency: 3, reclaimAgeSeconds: 60 }, 'file, then environment');
  t.same(r.node.auditor, { intervalMs: 60_000, filesPerSecond: 100, bytesPerSecond: 1000 });
  t.equal(r.node.ringWatchMs, 500);
  await writeFile(f, 'secret: 0123456789abcdef0123\nhashSuffix: s\nproxy:\n  receiveBufferBytes: 65536\n');
  t.equal((await loadConfig(f, {})).proxy.receiveBufferBytes, 65536, 'from the file');
  await writeFile(f, 'secret: 0123456789abcdef0123\nhashSuffix: s\nproxy:\n  receiveBufferBytes: 4GB\n');
  await t.rejects(loadConfig(f, {}), /proxy.receiveBufferBytes must be a whole number from 0 to 1073741824, got "4GB"/);
  await writeFile(f, 'secret: 0123456789abcdef0123\nhashSuffix: s\nnode:\n  replicator: {interval: 1}\n');
  await t.rejects(loadConfig(f, {}), /unknown setting "node.replicator.interval"/);
  await writeFile(f, 'secret: 0123456789abcdef0123\nhashSuffix: s\nnode:\n  auditor: {filesPerSecond: 0}\n');
  await t.rejects(loadConfig(f, {}), /node.auditor.filesPerSecond must be a whole number from 1/);
  await writeFile(f, 'hashSuffix: s\n');
  await t.rejects(loadConfig(f, {}), /no cluster secret/, 'no secret');
  t.equal((await loadConfig(f, { RINGSTACK_CLUSTER_SECRET: 'x'.repeat(20) })).node.port, DEFAULT_NODE_PORT);
  await writeFile(f, 'secret: 0123456789abcdef0123\nhashSuffix: s\nnode:\n  prot: 1\n');
  await t.rejects(loadConfig(f, {}), /unknown setting "node.prot"/);
  await writeFile(f, 'secret: 0123456789abcdef0123\nhashSuffix: s\nnode:\n  port: seventy\n');
  await t.rejects(loadConfig(f, {}), /node.port must be a whole number/);
  await writeFile(f, 'secret: [unclosed\n');
  await t.rejects(loadConfig(f, {}), /not valid YAML/);
  await t.rejects(loadConfig(join(dir, 'missing.yaml'), {}), /cannot read config/);
});
