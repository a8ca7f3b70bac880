/**
 * `ringstack status` and `ringstack usage` against a listening status API (in-memory state
 * bucket): tables, details, JSON, CSV, tokens and usage errors.
 */
import t from 'tap';
import Fastify from 'fastify';
import { main } from '../cli.js';
import { statusPlugin } from '../../controller/status/plugin.js';
import { MemoryStateSource } from '../../controller/status/source.js';
import { REV1, buildStack, revisionKeyOf, revisionRecord, writeStack } from '../../controller/status/test-fixtures.js';
import { usageKey } from '../../agents/contract/keys.js';

const source = new MemoryStateSource();
const now = Date.now();
writeStack(source, buildStack({ heartbeat: new Date(now) }), new Date(now));
source.put(revisionKeyOf(REV1), revisionRecord(REV1, 'accepted', new Date(now)));
source.put(usageKey('demo', new Date('2026-11-20T12:00:00Z')), {
  formatVersion: 1, kind: 'UsageRecord', project: 'demo', from: '2026-11-20T10:00:00.000Z', to: '2026-11-20T12:00:00.000Z',
  resources: { instances: [{ id: 'demo/a', flavor: 'm1.small', vcpus: 2, memoryMiB: 1024 }], volumes: [], images: [] },
});
const app = Fastify({ logger: false });
await app.register(statusPlugin, { source, usage: false, tokens: [{ token: 'tok' }, { token: 'demo-tok', project: 'demo' }] });
await app.listen({ port: 0, host: '127.0.0.1' });
t.teardown(() => app.close());
const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

async function run(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}
const flags = ['--controller', url, '--token', 'tok'];

t.test('overview, lists and one resource as tables', async (t) => {
  const ov = await run('status', ...flags);
  t.equal(ov.code, 0, ov.err);
  t.match(ov.out, `revision: ${REV1.slice(0, 12)} converged`);
  t.match(ov.out, 'hosts: 2/2 up');
  t.match(ov.out, 'instances: 5 ACTIVE');
  t.match(ov.out, /HOST\s+ZONE\s+HEALTH/);
  const list = await run('status', 'instances', ...flags, '--project', 'other');
  t.equal(list.code, 0);
  t.same(list.out.trim().split('\n').map((l) => l.split(/\s+/)[0]), ['ID', 'other/vm-00000', 'other/vm-00001']);
  t.match(list.out, /other\/vm-00000\s+ACTIVE\s+Ready\s+hv2\s+10\.0\.0\.5\s+m1\.small/);
  const one = await run('status', 'instances', 'demo/vm-00001', ...flags);
  t.equal(one.code, 0);
  t.match(one.out, /Ready\s+True\s+Converged/);
  t.match(one.out, /desired:\n\{/);
  const revs = await run('status', 'revisions', ...flags);
  t.match(revs.out, new RegExp(`${REV1.slice(0, 12)}\\*\\s+accepted`));
  const json = await run('status', 'hosts', ...flags, '--json');
  t.same(JSON.parse(json.out).items.map((h: any) => h.name), ['hv1', 'hv2']);
});

t.test('scoped token, errors and usage mistakes', async (t) => {
  const scoped = await run('status', 'instances', '--controller', url, '--token', 'demo-tok');
  t.notMatch(scoped.out, /other\//);
  const missing = await run('status', 'instances', 'other/vm-00000', '--controller', url, '--token', 'demo-tok');
  t.equal(missing.code, 1);
  t.match(missing.err, /404 no instance other\/vm-00000/);
  const unauth = await run('status', '--controller', url);
  t.equal(unauth.code, 1);
  t.match(unauth.err, /401 a read token is required/);
  const bad = await run('status', 'servers', ...flags);
  t.equal(bad.code, 2);
  t.match(bad.err, /unknown kind "servers"/);
  const down = await run('status', '--controller', 'http://127.0.0.1:1');
  t.equal(down.code, 1);
  t.match(down.err, /cannot reach the controller/);
});

t.test('ringstack usage: table, CSV, errors', async (t) => {
  const r = await run('usage', ...flags, '--project', 'demo', '--from', '2026-11-20T11:00:00Z', '--to', '2026-11-21');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /vcpu_hours\s+2\n/);
  t.match(r.out, /instance_hours\{flavor=m1\.small\}\s+1\n/);
  const csv = await run('usage', ...flags, '--project', 'demo', '--from', '2026-11-20', '--to', '2026-11-21', '--csv');
  t.match(csv.out, /^project,from,to,metric,value\n/);
  t.match(csv.out, 'demo,2026-11-20T00:00:00.000Z,2026-11-21T00:00:00.000Z,"memory_gib_hours",2\n');
  t.equal((await run('usage', ...flags, '--from', '2026-11-20', '--to', '2026-11-21')).code, 2);
  const badTime = await run('usage', ...flags, '--project', 'demo', '--from', 'soon', '--to', '2026-11-21');
  t.equal(badTime.code, 2);
  t.match(badTime.err, /--from must be an ISO 8601 time, got "soon"/);
  t.equal((await run('usage', '--help')).code, 0);
  t.equal((await run('status', '--help')).code, 0);
});
