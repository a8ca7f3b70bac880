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
