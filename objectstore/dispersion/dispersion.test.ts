/**
 * The dispersion check and `ringstack objectstore dispersion` on a real 3-node cluster: all
 * copies in place, a copy removed from one node's disk, a node down, populate mode, and the
 * command's exit codes and output.
 */
import t from 'tap';
import { Readable } from 'node:stream';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TestCluster } from '../cluster/test-cluster.js';
import { hashPath } from '../ring/hash.js';
import { checkDispersion } from './check.js';
import { dispersionNames, DISPERSION_ACCOUNT, DISPERSION_CONTAINER, listedObjects } from './objects.js';
import { main } from '../../bin/cli.js';
import { objectstoreCommand } from '../../bin/commands/objectstore.js';

const OBJECTS = 40;

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['objectstore', ...args], { out: (s) => { out += s; }, err: (s) => { err += s; } }, [objectstoreCommand]);
  return { code, out, err };
}

t.test('dispersion of a real cluster', async (t) => {
  const cluster = await TestCluster.start();
  t.teardown(() => cluster.stop());
  const b = cluster.backend;
  await b.putContainer('acct', 'bucket');
  for (let i = 0; i < OBJECTS; i++) {
    const body = Buffer.from(`object ${i}`);
    await b.putObject('acct', 'bucket', `o${i}`, { body: Readable.from([body]), contentLength: body.length });
  }
  const names = await listedObjects(b, 'acct', 'bucket');
  t.equal(names.length, OBJECTS, 'every object listed');
  // The third copy may land just after the acknowledgement: wait until all are in place.
  let r = await checkDispersion(names, { ring: cluster.rings.object, secret: cluster.secret });
  for (let i = 0; i < 50 && r.complete < OBJECTS; i++) {
    await new Promise((res) => setTimeout(res, 200));
    r = await checkDispersion(names, { ring: cluster.rings.object, secret: cluster.secret });
  }
  t.equal(r.objects, OBJECTS);
  t.equal(r.complete, OBJECTS, 'all replicas in place');
  t.same(r.missingCopies, {});
  t.equal(r.devices.reduce((s, d) => s + d.expected, 0), OBJECTS * 3, 'three expected copies per object');
  t.ok(r.devices.every((d) => d.found === d.expected && d.errors === 0));

  const ok = await cli('dispersion', '--config', cluster.nodes[0]!.configFile, '--container', 'acct/bucket');
  t.equal(ok.code, 0, `exit 0 when complete: ${ok.err}`);
  t.match(ok.out, new RegExp(`acct/bucket: ${OBJECTS} objects checked, 3 replicas each`));
  t.match(ok.out, new RegExp(`all replicas in place: ${OBJECTS} \\(100.00 %\\)`));
  t.match(ok.out, /missing 1 copy: 0/);

  // One copy of o7 removed from its first primary's disk.
  const { part, nodes } = cluster.rings.object.getNodes('acct', 'bucket', 'o7');
  const victim = cluster.nodes.findIndex((x) => x.device === nodes[0]!.device);
  const hash = hashPath('acct', 'bucket', 'o7', cluster.hash).toString('hex');
  const dir = join(cluster.devicePath(victim), 'objects', String(part), hash.slice(-3), hash);
  t.ok((await readdir(dir)).some((f) => f.endsWith('.data')), 'the copy was there');
  await rm(dir, { recursive: true });
  const one = await cli('dispersion', '--config', cluster.nodes[1]!.configFile, '--container', 'acct/bucket', '--json');
  t.equal(one.code, 1, 'exit 1 when a copy is missing');
  const j = JSON.parse(one.out);
  t.equal(j.complete, OBJECTS - 1);
  t.same(j.missingCopies, { 1: 1 });
  t.same(j.missingSample.map((m: { object: string }) => m.object), ['o7']);
  const tally = j.devices.find((d: { node: string }) => d.node.endsWith(`/${nodes[0]!.device}`));
  t.equal(tally.expected - tally.found, 1, 'the device that lost it is named');

  // A node down: every object it should hold misses a copy, its HEADs count as errors.
  await cluster.killNode(2);
  const down = await checkDispersion(names, { ring: cluster.rings.object, secret: cluster.secret, timeoutMs: 2000 });
  const downDev = down.devices.find((d) => d.node.endsWith(`/${cluster.nodes[2]!.device}`))!;
  t.equal(downDev.found, 0);
  t.equal(downDev.errors, downDev.expected);
  t.equal(down.errors, downDev.expected);
  t.equal(down.complete, 0, 'with 3 replicas on 3 nodes every object misses a copy');
  const human = await cli('dispersion', '--config', cluster.nodes[0]!.configFile, '--container', 'acct/bucket');
  t.equal(human.code, 1);
  t.match(human.out, /missing 1 copy: (39|40)/);
  t.match(human.out, /unanswered HEADs: \d+/);
});

t.test('populate: one object per partition, then checked from the listing', async (t) => {
  const cluster = await TestCluster.start();
  t.teardown(() => cluster.stop());
  const names = dispersionNames(cluster.rings.object, 12);
  const parts = new Set(names.map((n) => cluster.rings.object.getPart(DISPERSION_ACCOUNT, DISPERSION_CONTAINER, n)));
  t.equal(parts.size, 12, 'twelve different partitions');
  const pop = await cli('dispersion', '--config', cluster.nodes[0]!.configFile, '--populate', '12', '--json');
  t.equal(JSON.parse(pop.out).objects, 12, pop.err);
  t.same((await listedObjects(cluster.backend, DISPERSION_ACCOUNT, DISPERSION_CONTAINER)).map((n) => n.object).sort(),
    [...names].sort(), 'the listing holds the populated names');
  let again = await cli('dispersion', '--config', cluster.nodes[0]!.configFile);
  for (let i = 0; i < 50 && again.code !== 0; i++) {
    await new Promise((res) => setTimeout(res, 200));
    again = await cli('dispersion', '--config', cluster.nodes[0]!.configFile);
  }
  t.equal(again.code, 0, again.out);
  t.match(again.out, /\.dispersion\/dispersion_objects: 12 objects checked/);
});

t.test('usage errors', async (t) => {
  const none = await cli('dispersion');
  t.equal(none.code, 2);
  t.match(none.err, /missing --data-dir or --config/);
  const both = await cli('dispersion', '--data-dir', '/x', '--config', '/y');
  t.equal(both.code, 2);
  const bad = await cli('dispersion', '--config', '/y', '--container', 'nocontainer');
  t.equal(bad.code, 2);
  t.match(bad.err, /ACCOUNT\/CONTAINER/);
  const pop = await cli('dispersion', '--config', '/y', '--populate', 'many');
  t.equal(pop.code, 2);
  const missing = await cli('dispersion', '--data-dir', '/nonexistent/store');
  t.equal(missing.code, 1);
  t.match(missing.err, /cannot read \/nonexistent\/store\/cluster.yaml/);
  const sub = await cli('nonsense', '--data-dir', '/x');
  t.equal(sub.code, 2);
  t.match(sub.err, /unknown subcommand "nonsense"/);
});
