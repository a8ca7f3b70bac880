import t, { type Test } from 'tap';
import { gunzipSync } from 'node:zlib';
import { mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli.js';
import { ringCommand } from './ring.js';
import { readBuilderFile } from '../../objectstore/ring/builder-file.js';
import { Ring } from '../../objectstore/ring/ring.js';

interface Run { code: number; out: string; err: string }

async function ring(...args: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const code = await main(['ring', ...args], { out: (s) => { out += s; }, err: (s) => { err += s; } }, [ringCommand]);
  return { code, out, err };
}

async function fixture(t: Test): Promise<{ dir: string; builder: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ring-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return { dir, builder: join(dir, 'object.builder') };
}

/** Runs a command that must fail and checks that no file in `dir` changed. */
async function failsCleanly(t: Test, dir: string, code: number, pattern: RegExp, args: string[]): Promise<void> {
  const before = new Map<string, string>();
  for (const f of await readdir(dir)) before.set(f, (await readFile(join(dir, f))).toString('base64') + (await stat(join(dir, f))).mtimeMs);
  const r = await ring(...args);
  t.equal(r.code, code, `${args.join(' ')} exits ${code}`);
  t.match(r.err.split('\n')[0], pattern, `message: ${r.err.split('\n')[0]}`);
  t.equal(r.out, '', 'nothing on stdout');
  const after = new Map<string, string>();
  for (const f of await readdir(dir)) after.set(f, (await readFile(join(dir, f))).toString('base64') + (await stat(join(dir, f))).mtimeMs);
  t.same([...after.entries()], [...before.entries()], 'files on disk unchanged');
}

t.test('create, add (both forms), rebalance, show, get-nodes, write-ring, validate', async (t) => {
  const { dir, builder } = await fixture(t);
  t.equal((await ring('create', builder, '8', '3', '1')).code, 0);
  const add = await ring('add', builder, 'r1z1-127.0.0.1:6200/sdb1_meta', '100', 'r1z2-127.0.0.2:6200/sdb', '100',
    'r1z3-[::1]:6200/sdb', '100');
  t.equal(add.code, 0, add.err);
  t.match(add.out, /got id 0/);
  const long = await ring('add', builder, '--region', '1', '--zone', '4', '--ip', '127.0.0.4', '--port', '6200',
    '--device', 'sdc', '--weight', '50.5', '--meta', 'long form');
  t.equal(long.code, 0, long.err);
  const b = await readBuilderFile(builder);
  t.same(b.devs.map((d) => [d!.zone, d!.ip, d!.device, d!.weight, d!.meta]),
    [[1, '127.0.0.1', 'sdb1', 100, 'meta'], [2, '127.0.0.2', 'sdb', 100, ''], [3, '::1', 'sdb', 100, ''], [4, '127.0.0.4', 'sdc', 50.5, 'long form']]);
  const reb = await ring('rebalance', builder, '--seed', '1');
  t.equal(reb.code, 0, reb.err);
  t.match(reb.out, /^Reassigned 768 \(300\.00%\) partitions\. Balance is now \d+\.\d\d\.  Dispersion is now 0\.00/);
  const ringFile = join(dir, 'object.ring.gz');
  t.ok((await stat(ringFile)).size > 0, 'rebalance wrote object.ring.gz');
  const show = await ring('show', builder);
  t.match(show.out, /256 partitions, 3\.000000 replicas, 1 regions, 4 zones, 4 devices/);
  t.match(show.out, /\[::1\]:6200/);
  t.equal((await ring('validate', builder)).code, 0);
  const other = join(dir, 'copy.ring.gz');
  t.equal((await ring('write-ring', builder, other)).code, 0);
  t.same(gunzipSync(await readFile(other)), gunzipSync(await readFile(ringFile)), 'write-ring gives the same ring');

  const hash = { prefix: 'p', suffix: 's' };
  const r = await Ring.load(ringFile, hash);
  const json = await ring('get-nodes', ringFile, 'AUTH_a', 'c', 'o/ü', '--json', '--hash-path-prefix', 'p', '--hash-path-suffix', 's');
  t.equal(json.code, 0, json.err);
  const answer = JSON.parse(json.out);
  const { part, nodes } = r.getNodes('AUTH_a', 'c', 'o/ü');
  t.equal(answer.partition, part);
  t.same(answer.primaries.map((d: { id: number }) => d.id), nodes.map((n) => n.id));
  t.same(Object.keys(answer.primaries[0]).sort(), ['device', 'id', 'ip', 'port', 'region', 'weight', 'zone']);
  t.equal(answer.handoffs.length, 1, 'only one device left for handoffs');
  const text = await ring('get-nodes', ringFile, 'AUTH_a', 'c', 'o/ü', '--hash-path-prefix', 'p', '--hash-path-suffix', 's');
  t.match(text.out, new RegExp(`Partition\\t${part}\\n`));
  t.match(text.out, /\[Handoff\]/);

  // swift.conf and environment defaults
  const conf = join(dir, 'swift.conf');
  await writeFile(conf, '[swift-hash]\nswift_hash_path_prefix = p\nswift_hash_path_suffix = s\n');
  const viaConf = JSON.parse((await ring('get-nodes', ringFile, 'AUTH_a', 'c', 'o/ü', '--json', '--swift-conf', conf)).out);
  t.equal(viaConf.partition, part);
  process.env.RINGSTACK_HASH_PATH_PREFIX = 'p';
  process.env.RINGSTACK_HASH_PATH_SUFFIX = 's';
  t.teardown(() => { delete process.env.RINGSTACK_HASH_PATH_PREFIX; delete process.env.RINGSTACK_HASH_PATH_SUFFIX; });
  const viaEnv = JSON.parse((await ring('get-nodes', ringFile, 'AUTH_a', 'c', 'o/ü', '--json', '--handoffs', '0')).out);
  t.equal(viaEnv.partition, part);
  t.same(viaEnv.handoffs, []);
  delete process.env.RINGSTACK_HASH_PATH_PREFIX;
  delete process.env.RINGSTACK_HASH_PATH_SUFFIX;
  const noSalt = JSON.parse((await ring('get-nodes', ringFile, 'AUTH_test', '--json')).out);
  t.equal(noSalt.partition, (await Ring.load(ringFile, { prefix: '', suffix: '' })).getPart('AUTH_test'));
});

t.test('set-weight, set-overload, remove, pretend-min-part-hours-passed', async (t) => {
  const { builder } = await fixture(t);
  await ring('create', builder, '8', '3', '1');
  await ring('add', builder, ...[1, 2, 3, 4].flatMap((z) => [`r1z${z}-10.0.0.${z}:6200/sdb`, '100']));
  await ring('rebalance', builder, '--seed', '2');
  t.equal((await ring('set-weight', builder, '10.0.0.1:6200/sdb', '200')).code, 0);
  t.equal((await readBuilderFile(builder)).devs[0]!.weight, 200);
  t.equal((await ring('set-overload', builder, '10%')).code, 0);
  t.equal((await readBuilderFile(builder)).overload, 0.1);
  t.equal((await ring('set-overload', builder, '0.25')).code, 0);
  t.equal((await readBuilderFile(builder)).overload, 0.25);
  t.equal((await ring('remove', builder, '--id', '3')).code, 0);
  t.same((await readBuilderFile(builder)).pendingRemovals, [3]);
  t.equal((await ring('pretend-min-part-hours-passed', builder)).code, 0);
  const reb = await ring('rebalance', builder, '--seed', '2');
  t.equal(reb.code, 0, reb.err);
  t.match(reb.out, /Removed 1 device/);
  const after = await readBuilderFile(builder);
  t.equal(after.devs[3], null);
  t.equal((await ring('remove', builder, '-10.0.0.2')).code, 0, 'Swift-style ip search');
});

t.test('bad input: one clear line, exit code, nothing changes on disk', async (t) => {
  const { dir, builder } = await fixture(t);
  await failsCleanly(t, dir, 2, /part_power must be between 1 and 32, got 33/, ['create', builder, '33', '3', '1']);
  await failsCleanly(t, dir, 2, /part_power must be between 1 and 32, got 0/, ['create', builder, '0', '3', '1']);
  await failsCleanly(t, dir, 2, /part_power must be a whole number/, ['create', builder, 'x', '3', '1']);
  await failsCleanly(t, dir, 2, /missing replicas, min_part_hours/, ['create', builder, '8']);
  t.equal((await ring('create', builder, '8', '3', '1')).code, 0);
  await failsCleanly(t, dir, 1, /already exists/, ['create', builder, '8', '3', '1']);
  t.equal((await ring('add', builder, 'r1z1-10.0.0.1:6200/sdb', '100', 'r1z2-10.0.0.2:6200/sdb', '100')).code, 0);
  await failsCleanly(t, dir, 2, /negative values are not allowed: -5/, ['add', builder, 'r1z3-10.0.0.3:6200/sdb', '-5']);
  await failsCleanly(t, dir, 2, /weight must be a number, got "heavy"/, ['add', builder, 'r1z3-10.0.0.3:6200/sdb', 'heavy']);
  await failsCleanly(t, dir, 2, /invalid device "z3-10.0.0.3"/, ['add', builder, 'z3-10.0.0.3', '100']);
  await failsCleanly(t, dir, 2, /missing weight/, ['add', builder, 'r1z3-10.0.0.3:6200/sdb']);
  await failsCleanly(t, dir, 1, /device d0 already uses 10\.0\.0\.1:6200\/sdb/,
    ['add', builder, 'r1z3-10.0.0.3:6200/sdb', '100', 'r1z1-10.0.0.1:6200/sdb', '100']);
  await failsCleanly(t, dir, 2, /missing --port/, ['add', builder, '--region', '1', '--zone', '1', '--ip', '1.2.3.4', '--device', 'x', '--weight', '1']);
  await failsCleanly(t, dir, 1, /no device matches "d9"/, ['set-weight', builder, 'd9', '10']);
  await failsCleanly(t, dir, 1, /no device matches "d9"/, ['remove', builder, '--id', '9']);
  await failsCleanly(t, dir, 2, /negative values are not allowed/, ['set-weight', builder, 'd0', '-1']);
  await failsCleanly(t, dir, 2, /overload must be a number/, ['set-overload', builder, 'lots']);
  await failsCleanly(t, dir, 1, /3 replicas need at least 3 devices with weight; the ring has 2/, ['rebalance', builder]);
  await failsCleanly(t, dir, 1, /never been rebalanced/, ['write-ring', builder, join(dir, 'x.ring.gz')]);
  await failsCleanly(t, dir, 2, /unknown subcommand "explode"/, ['explode']);
  await failsCleanly(t, dir, 2, /Unknown option '--bogus'/, ['show', builder, '--bogus']);

  t.equal((await ring('add', builder, 'r1z3-10.0.0.3:6200/sdb', '100')).code, 0);
  t.equal((await ring('rebalance', builder)).code, 0);
  const ringFile = join(dir, 'object.ring.gz');
  const raw = await readFile(builder);
  await writeFile(builder, raw.subarray(0, raw.length >> 1));
  await failsCleanly(t, dir, 1, new RegExp(`${builder}: not a readable builder file`), ['add', builder, 'r1z4-10.0.0.4:6200/sdb', '100']);
  await failsCleanly(t, dir, 1, /not a readable builder file/, ['rebalance', builder]);
  const ringRaw = await readFile(ringFile);
  await writeFile(ringFile, ringRaw.subarray(0, ringRaw.length - 30));
  await failsCleanly(t, dir, 1, new RegExp(`${ringFile}: `), ['get-nodes', ringFile, 'AUTH_a']);
  await failsCleanly(t, dir, 2, /missing account/, ['get-nodes', ringFile]);
});

t.test('help', async (t) => {
  const r = await ring('--help');
  t.equal(r.code, 0);
  t.match(r.out, /RINGSTACK_HASH_PATH_PREFIX/);
  t.match((await ring('get-nodes', '--help')).out, /get-nodes <ring-file>/);
  t.equal((await ring()).code, 2);
});
