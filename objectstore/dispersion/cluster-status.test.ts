/**
 * `ringstack objectstore status` on a real cluster: every node up with its device and recon
 * stats, then a node down (exit 1), in human and JSON form; and from a --data-dir store.
 */
import t from 'tap';
import { Readable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestCluster } from '../cluster/test-cluster.js';
import { runLocalObjectStore } from '../cluster/local.js';
import { until } from '../../test/support/wait.js';
import { main } from '../../bin/cli.js';
import { objectstoreCommand } from '../../bin/commands/objectstore.js';
import type { ClusterStatus } from './cluster-status.js';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['objectstore', ...args], { out: (s) => { out += s; }, err: (s) => { err += s; } }, [objectstoreCommand]);
  return { code, out, err };
}

t.test('status of a 3-node cluster', async (t) => {
  const cluster = await TestCluster.start({
    extra: () => ({ replicator: { intervalMs: 500 }, auditor: { intervalMs: 500, filesPerSecond: 1000 } }),
  });
  t.teardown(() => cluster.stop());
  await cluster.backend.putContainer('acct', 'bucket');
  const body = Buffer.from('hello');
  await cluster.backend.putObject('acct', 'bucket', 'o', { body: Readable.from([body]), contentLength: body.length });
  const config = cluster.nodes[0]!.configFile;

  // Wait for a completed replication pass and an audit pass that saw the object on every node.
  const s = await until('passes completed on every node', 60_000, async () => {
    const r = await cli('status', '--config', config, '--json');
    const j = JSON.parse(r.out) as ClusterStatus;
    // (a pass that started before the write may complete with 0 files: wait for a later one)
    return j.nodes.every((n) => n.replication?.lastPassCompleted && (n.audit?.filesChecked ?? 0) >= 1) ? { r, j } : false;
  }, 500);
  t.equal(s.r.code, 0, 'exit 0 when healthy');
  t.equal(s.j.healthy, true);
  t.same(s.j.nodes.map((n) => n.node), cluster.nodes.map((n) => `127.0.0.1:${n.port}`).sort());
  for (const n of s.j.nodes) {
    t.ok(n.up, `${n.node} up`);
    t.same(n.missingDevices, []);
    const dev = n.devices.find((d) => d.inRing)!;
    t.ok(dev.size > 0 && dev.fillPercent > 0 && dev.fillPercent <= 100, `${n.node} device fill ${dev.fillPercent.toFixed(1)} %`);
    t.ok(n.audit!.filesChecked >= 1, 'the auditor checked the object');
  }
  const human = await cli('status', '--config', config);
  t.equal(human.code, 0);
  t.match(human.out, /NODE\s+STATE\s+REPLICATED/);
  t.match(human.out, /DEVICE\s+STATE\s+FILL/);
  t.match(human.out, /all nodes up, all devices present/);
  t.equal(human.out.split('\n').filter((l) => /^127\.0\.0\.1:\d+\s+up\s/.test(l)).length, 3, 'three nodes up');

  await cluster.killNode(1);
  const down = await cli('status', '--config', config);
  t.equal(down.code, 1, 'exit 1 with a node down');
  t.match(down.out, new RegExp(`127\\.0\\.0\\.1:${cluster.nodes[1]!.port}\\s+DOWN \\(ECONNREFUSED\\)`));
  t.match(down.out, new RegExp(`127\\.0\\.0\\.1:${cluster.nodes[1]!.port}/${cluster.nodes[1]!.device}\\s+node down`));
  t.match(down.out, /UNHEALTHY/);
  const j = JSON.parse((await cli('status', '--config', config, '--json')).out) as ClusterStatus;
  t.equal(j.healthy, false);
  t.same(j.nodes.filter((n) => !n.up).map((n) => n.node), [`127.0.0.1:${cluster.nodes[1]!.port}`]);
});

t.test('status and dispersion of a store run with --data-dir', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-status-'));
  const store = await runLocalObjectStore({ dataDir: dir, port: 0, log: () => undefined, env: { ...process.env, NODE_OPTIONS: '' } });
  t.teardown(async () => {
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const s = await cli('status', '--data-dir', dir);
  t.equal(s.code, 0, s.out + s.err);
  t.equal(s.out.split('\n').filter((l) => /^127\.0\.0\.1:\d+\s+up\s/.test(l)).length, 3);
  const d = await cli('dispersion', '--data-dir', dir, '--populate', '10');
  t.equal(d.code === 0 || d.code === 1, true, d.err);
  const again = await until('dispersion objects all in place', 30_000, async () => {
    const r = await cli('dispersion', '--data-dir', dir);
    return r.code === 0 ? r : false;
  }, 500);
  t.match(again.out, /10 objects checked, 3 replicas each/);
});

t.test('status usage', async (t) => {
  t.equal((await cli('status')).code, 2);
  const r = await cli('status', '--data-dir', '/nonexistent/x');
  t.equal(r.code, 1);
  t.match(r.err, /cannot read/);
});
