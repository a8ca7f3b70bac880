/**
 * The status API on an in-memory state bucket: every route, filters, paging, project-scoped
 * tokens, 405 for every other method, and what a client sees while the store is partly down.
 */
import t from 'tap';
import Fastify from 'fastify';
import http from 'node:http';
import { eventKey, hostObservedKey, usageKey } from '../../agents/contract/keys.js';
import { statusPlugin, type StatusPluginOptions } from './plugin.js';
import { MemoryStateSource } from './source.js';
import { REV1, REV2, buildStack, revisionKeyOf, revisionRecord, writeStack } from './test-fixtures.js';

const T0 = Date.parse('2026-11-20T10:00:00Z');

async function server(t: { teardown(fn: () => unknown): void }, opts: Partial<StatusPluginOptions> = {}, source = new MemoryStateSource()) {
  let clock = T0 + 5000;
  const app = Fastify({ logger: false });
  await app.register(statusPlugin, { source, refreshMs: 0, usage: false, now: () => clock, pollMs: 50, ...opts });
  t.teardown(() => app.close());
  return { app, source, setClock: (ms: number) => { clock = ms; } };
}

function seed(source: MemoryStateSource) {
  const stack = buildStack({ heartbeat: new Date(T0) });
  writeStack(source, stack, new Date(T0));
  source.put(revisionKeyOf(REV2), revisionRecord(REV2, 'rejected', new Date(T0 - 60_000), ['instances/a.yaml:3:1 spec: bad']));
  source.put(revisionKeyOf(REV1), revisionRecord(REV1, 'accepted', new Date(T0 - 1000)));
  source.put(eventKey(new Date(T0 - 500), 'hv1', 1), { time: new Date(T0 - 500).toISOString(), source: 'agent', host: 'hv1', resourceKind: 'instances', resource: 'demo/vm-00000', action: 'created', reason: 'Created', message: 'domain defined', result: 'ok' });
  source.put(eventKey(new Date(T0 - 400), 'hv2', 2), { time: new Date(T0 - 400).toISOString(), source: 'agent', host: 'hv2', resourceKind: 'instances', resource: 'other/vm-00000', action: 'started', reason: 'PowerState', message: 'started', result: 'ok' });
  return stack;
}


t.test('hosts, instances, networks, volumes, images, projects, revisions', async (t) => {
  const { app, source } = await server(t);
  seed(source);
  const hosts = (await app.inject('/api/v1/hosts')).json();
  t.same(hosts.items.map((h: any) => [h.name, h.health, h.heartbeatAgeSeconds, h.allocation.instances]), [['hv1', 'up', 5, 3], ['hv2', 'up', 5, 2]]);
  t.equal(hosts.items[0].capacity.vcpus, 64);
  t.equal(hosts.stale, false);
  t.equal((await app.inject('/api/v1/hosts/hv2')).json().item.allocation.vcpus, 4);
  t.equal((await app.inject('/api/v1/hosts/nope')).statusCode, 404);

  const inst = (await app.inject('/api/v1/instances/demo/vm-00000')).json().item;
  t.equal(inst.state, 'ACTIVE');
  t.equal(inst.summary, 'Ready');
  t.equal(inst.host, 'hv1');
  t.same(inst.ips.map((i: any) => i.ip), ['10.0.0.2']);
  t.equal(inst.conditions.find((c: any) => c.type === 'Ready').status, 'True');
  t.equal(inst.conditions[0].observedRevision, REV1);
  t.equal(inst.desired.vcpus, 2);
  t.equal(inst.observed.hv1.libvirtState, 'running');
  t.same(inst.events.map((e: any) => e.message), ['domain defined']);
  t.equal((await app.inject('/api/v1/instances/demo/nope')).statusCode, 404);

  const nets = (await app.inject('/api/v1/networks')).json();
  t.same(nets.items.map((n: any) => [n.id, n.summary, n.hosts.length]), [['demo/net', 'Ready', 2], ['other/net', 'Ready', 2]]);
  const vols = (await app.inject('/api/v1/volumes?project=other')).json();
  t.same(vols.items.map((v: any) => v.id), ['other/vm-00000/boot', 'other/vm-00001/boot']);
  const img = (await app.inject('/api/v1/images/debian-12')).json().item;
  t.same([img.status, img.sizeBytes, img.sha256], ['active', 1048576, 'f'.repeat(64)]);
  const projects = (await app.inject('/api/v1/projects')).json();
  t.same(projects.items.map((p: any) => [p.name, p.usage.instances]), [['demo', 3], ['other', 2]]);
  t.equal((await app.inject('/api/v1/projects/demo')).json().item.quotas.networks, 10);

  const revs = (await app.inject('/api/v1/revisions')).json();
  t.same(revs.items.map((r: any) => [r.revision, r.status, r.current, r.converged]), [[REV1, 'accepted', true, true], [REV2, 'rejected', false, false]]);
  t.ok(revs.items[0].convergedAt, 'the converged time is known');
  t.same((await app.inject(`/api/v1/revisions/${REV2}`)).json().item.errors, ['instances/a.yaml:3:1 spec: bad']);
  t.same((await app.inject('/api/v1/revisions?state=rejected')).json().items.map((r: any) => r.revision), [REV2]);

  const ov = (await app.inject('/api/v1/overview')).json();
  t.same(ov.hosts, { total: 2, up: 2, stale: 0, down: 0 });
  t.same(ov.instancesByState, { ACTIVE: 5 });
  t.same([ov.revision.revision, ov.revision.converged], [REV1, true]);
  t.equal((await app.inject('/api/v1/healthz')).json().status, 'ok');
});

t.test('conditions follow observed state: an error, a late host, an unapplied spec', async (t) => {
  const { app, source, setClock } = await server(t, { heartbeatTimeoutSeconds: 30, gracePeriodSeconds: 300 });
  const stack = seed(source);
  const hv1 = stack.observed[0]!;
  hv1.instances['demo/vm-00000']!.lastError = { message: 'image checksum mismatch', time: new Date(T0).toISOString(), permanent: true };
  hv1.instances['demo/vm-00000']!.state = 'ERROR';
  hv1.instances['demo/vm-00002']!.appliedHash = 'old';
  source.put(hostObservedKey('hv1'), hv1);
  setClock(T0 + 60_000);
  const list = (await app.inject('/api/v1/instances?project=demo')).json().items;
  const by = Object.fromEntries(list.map((i: any) => [i.id, i]));
  t.equal(by['demo/vm-00000'].summary, 'Stalled');
  t.match(by['demo/vm-00000'].conditions.find((c: any) => c.type === 'Stalled'), { status: 'True', reason: 'PermanentError', message: 'image checksum mismatch' });
  t.equal(by['demo/vm-00002'].conditions.find((c: any) => c.type === 'Ready').reason, 'SpecNotApplied');
  t.equal(by['demo/vm-00002'].summary, 'Degraded', 'its host is 60 s late: Degraded');
  t.equal((await app.inject('/api/v1/hosts/hv1')).json().item.health, 'stale');
  setClock(T0 + 400_000);
  t.equal((await app.inject('/api/v1/hosts/hv1')).json().item.health, 'down');
  t.same((await app.inject('/api/v1/hosts?state=down')).json().items.length, 2);
});

t.test('filters and paging', async (t) => {
  const { app, source } = await server(t);
  seed(source);
  const web = (await app.inject('/api/v1/instances?label=app=web')).json().items.map((i: any) => i.id);
  t.same(web, ['demo/vm-00000', 'demo/vm-00002', 'other/vm-00000']);
  t.same((await app.inject('/api/v1/instances?label=app=web,tier=x&project=demo')).json().items.length, 2);
  t.same((await app.inject('/api/v1/instances?state=active')).json().items.length, 5);
  t.same((await app.inject('/api/v1/instances?state=ready')).json().items.length, 5);
  t.same((await app.inject('/api/v1/instances?state=ERROR')).json().items.length, 0);
  const seen: string[] = [];
  let url = '/api/v1/instances?limit=2';
  for (let pages = 0; pages < 10; pages++) {
    const r = (await app.inject(url)).json();
    t.ok(r.items.length <= 2);
    seen.push(...r.items.map((i: any) => i.id));
    if (!r.next) break;
    url = `/api/v1/instances?limit=2&continue=${encodeURIComponent(r.next)}`;
  }
  t.same(seen, ['demo/vm-00000', 'demo/vm-00001', 'demo/vm-00002', 'other/vm-00000', 'other/vm-00001'], 'pages cover every item once, in order');
  const bad = await app.inject('/api/v1/instances?continue=garbage');
  t.equal(bad.statusCode, 400);
  t.match(bad.json().message, /continue/);
  t.equal((await app.inject('/api/v1/instances?label=noequals')).statusCode, 400);
  t.equal((await app.inject('/api/v1/instances?limit=0')).statusCode, 400);
  const ev = (await app.inject('/api/v1/events?host=hv2')).json();
  t.same(ev.items.map((e: any) => e.resource), ['other/vm-00000']);
  t.same((await app.inject('/api/v1/events?resource=demo/vm-00000')).json().items.length, 1);
  t.same((await app.inject(`/api/v1/events?since=${new Date(T0 - 450).toISOString()}`)).json().items.length, 1);
  t.equal((await app.inject('/api/v1/events?since=yesterday')).statusCode, 400);
});

t.test('tokens: required when configured, scoped tokens see only their project', async (t) => {
  const { app, source } = await server(t, { tokens: [{ token: 'admin' }, { token: 'demo-ro', project: 'demo' }] });
  seed(source);
  const none = await app.inject('/api/v1/instances');
  t.equal(none.statusCode, 401);
  t.match(none.headers['www-authenticate'], /Bearer/);
  t.equal((await app.inject({ url: '/api/v1/instances', headers: { authorization: 'Bearer wrong' } })).statusCode, 401);
  const admin = { authorization: 'Bearer admin' };
  const demo = { authorization: 'Bearer demo-ro' };
  t.equal((await app.inject({ url: '/api/v1/instances', headers: admin })).json().items.length, 5);
  const mine = (await app.inject({ url: '/api/v1/instances', headers: demo })).json().items;
  t.same(mine.map((i: any) => i.project), ['demo', 'demo', 'demo']);
  t.equal((await app.inject({ url: '/api/v1/instances?project=other', headers: demo })).json().items.length, 0, 'asking for another project finds nothing');
  t.equal((await app.inject({ url: '/api/v1/instances/other/vm-00000', headers: demo })).statusCode, 404, 'invisible, not forbidden');
  t.same((await app.inject({ url: '/api/v1/projects', headers: demo })).json().items.map((p: any) => p.name), ['demo']);
  t.equal((await app.inject({ url: '/api/v1/projects/other', headers: demo })).statusCode, 404);
  t.same((await app.inject({ url: '/api/v1/events', headers: demo })).json().items.map((e: any) => e.resource), ['demo/vm-00000']);
  t.same((await app.inject({ url: '/api/v1/images', headers: demo })).json().items.map((i: any) => i.id), ['debian-12'], 'shared images stay visible');
  t.same((await app.inject({ url: '/api/v1/overview', headers: demo })).json().instancesByState, { ACTIVE: 3 });
  t.equal((await app.inject({ url: '/api/v1/usage?project=other&from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z', headers: demo })).statusCode, 404);
  t.equal((await app.inject('/openapi.json')).statusCode, 200, 'the API description is public');
  t.equal((await app.inject('/dashboard/')).statusCode, 200, 'the dashboard files are public');
});

t.test('no tokens: reads are open on loopback only', async (t) => {
  const { app, source } = await server(t);
  seed(source);
  t.equal((await app.inject({ url: '/api/v1/hosts', remoteAddress: '127.0.0.1' })).statusCode, 200);
  const far = await app.inject({ url: '/api/v1/hosts', remoteAddress: '192.0.2.7' });
  t.equal(far.statusCode, 403);
  t.match(far.json().message, /loopback/);
});

t.test('every method other than GET and HEAD answers 405 with Allow', async (t) => {
  const { app, source } = await server(t);
  seed(source);
  const before = source.docs.size;
  const urls = ['/api/v1/hosts', '/api/v1/hosts/hv1', '/api/v1/instances', '/api/v1/instances/demo/vm-00000', '/api/v1/networks', '/api/v1/volumes',
    '/api/v1/images', '/api/v1/projects', '/api/v1/projects/demo', '/api/v1/revisions', `/api/v1/revisions/${REV1}`, '/api/v1/events',
    '/api/v1/events/stream', '/api/v1/usage', '/api/v1/overview', '/api/v1/healthz', '/metrics', '/openapi.json', '/dashboard/'];
  for (const url of urls) {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      const r = await app.inject({ method, url, payload: method === 'DELETE' ? undefined : { x: 1 } });
      t.equal(r.statusCode, 405, `${method} ${url}`);
      t.equal(r.headers.allow, 'GET, HEAD', `${method} ${url} Allow`);
    }
  }
  const streamHead = await app.inject({ method: 'HEAD', url: '/api/v1/events/stream' });
  t.same([streamHead.statusCode, streamHead.headers['content-type']], [200, 'text/event-stream; charset=utf-8'], 'HEAD on the stream does not hang');
  const head = await app.inject({ method: 'HEAD', url: '/api/v1/instances' });
  t.equal(head.statusCode, 200);
  t.equal(head.body, '');
  t.equal(source.docs.size, before, 'nothing was written');
});

t.test('store partly down: last good data is marked stale with its age; never read answers 503', async (t) => {
  const { app, source, setClock } = await server(t);
  source.failing.add('*');
  const cold = await app.inject('/api/v1/instances');
  t.equal(cold.statusCode, 503);
  t.match(cold.json().message, /not been read yet.*store unavailable/);
  t.equal((await app.inject('/api/v1/healthz')).statusCode, 503);
  source.failing.clear();
  seed(source);
  t.equal((await app.inject('/api/v1/instances')).json().stale, false);
  // One host's observed state cannot be read: its data is kept and marked stale.
  source.failing.add(hostObservedKey('hv2'));
  setClock(T0 + 15_000);
  const hosts = (await app.inject('/api/v1/hosts')).json();
  t.equal(hosts.stale, true);
  t.same(hosts.items.map((h: any) => [h.name, h.stale]), [['hv1', false], ['hv2', true]]);
  t.equal(hosts.ageSeconds, 10, 'the age is that of the oldest read used');
  const inst = (await app.inject('/api/v1/instances/other/vm-00000')).json();
  t.same([inst.stale, inst.item.stale, inst.item.state], [true, true, 'ACTIVE'], 'instances on hv2 are served from the last read, marked stale');
  t.equal((await app.inject('/api/v1/instances/demo/vm-00000')).json().item.stale, false);
  // The whole store goes away.
  source.failing.add('*');
  setClock(T0 + 65_000);
  const all = (await app.inject('/api/v1/instances')).json();
  t.same([all.stale, all.ageSeconds, all.items.length], [true, 60, 5]);
  t.equal((await app.inject('/api/v1/healthz')).json().status, 'degraded');
  t.equal((await app.inject('/api/v1/revisions')).json().stale, true);
  source.failing.clear();
  setClock(T0 + 66_000);
  const back = (await app.inject('/api/v1/instances')).json();
  t.same([back.stale, back.ageSeconds], [false, 0]);
});

t.test('metrics and OpenAPI document', async (t) => {
  const { app, source } = await server(t);
  seed(source);
  await app.inject('/api/v1/instances');
  const m = await app.inject('/metrics');
  t.match(m.headers['content-type'], /text\/plain; version=0.0.4/);
  t.match(m.body, /ringstack_agent_heartbeat_age_seconds\{host="hv1"\} 5\n/);
  t.match(m.body, /ringstack_host_up\{host="hv2"\} 1/);
  t.match(m.body, /ringstack_store_requests_total\{op="get",result="ok"\} \d+/);
  t.match(m.body, /ringstack_store_request_duration_seconds_bucket\{le="\+Inf",op="list"\} \d+/);
  t.match(m.body, /ringstack_reconcile_duration_seconds_count\{phase="publish"\} 1/);
  t.match(m.body, new RegExp(`ringstack_convergence_lag_seconds\\{revision="${REV1}"\\} 5`));
  t.match(m.body, /ringstack_instances\{summary="Ready"\} 5/);
  const doc = (await app.inject('/openapi.json')).json();
  t.equal(doc.openapi, '3.0.3');
  for (const p of ['/api/v1/hosts', '/api/v1/hosts/{name}', '/api/v1/instances/{id}', '/api/v1/events/stream', '/api/v1/usage', '/metrics']) t.ok(doc.paths[p], p);
  const q = doc.paths['/api/v1/instances'].get.parameters.map((p: any) => p.name);
  t.same(q, ['limit', 'continue', 'project', 'label', 'state']);
  t.equal(doc.paths['/api/v1/hosts'].get.responses['200'].content['application/json'].schema.properties.items.items.properties.heartbeat.nullable, true);
});

t.test('usage report through the API', async (t) => {
  const { app, source } = await server(t);
  seed(source);
  const from = new Date('2026-11-20T08:00:00Z');
  const to = new Date('2026-11-20T10:00:00Z');
  source.put(usageKey('demo', to), {
    formatVersion: 1, kind: 'UsageRecord', project: 'demo', from: from.toISOString(), to: to.toISOString(),
    resources: { instances: [{ id: 'demo/a', flavor: 'm1.small', vcpus: 2, memoryMiB: 2048 }], volumes: [{ id: 'demo/v', sizeGiB: 10 }], images: [] },
  });
  const r = await app.inject('/api/v1/usage?project=demo&from=2026-11-20T09:00:00Z&to=2026-11-21T00:00:00Z');
  t.equal(r.statusCode, 200);
  t.match(r.json(), { instanceHours: 1, vcpuHours: 2, memoryGiBHours: 2, volumeGiBHours: 10, instanceHoursByFlavor: { 'm1.small': 1 }, records: 1 });
  t.equal((await app.inject('/api/v1/usage?project=demo&from=x&to=2026-11-21T00:00:00Z')).statusCode, 400);
  t.equal((await app.inject('/api/v1/usage?project=demo')).statusCode, 400);
});

t.test('event stream pushes new events and revision changes', async (t) => {
  const { app, source } = await server(t, { pollMs: 30 });
  seed(source);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const got: string[] = [];
  const req = http.get({ host: '127.0.0.1', port, path: '/api/v1/events/stream' });
  const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
  t.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
  let buf = '';
  const waitFor = (re: RegExp) => new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} in ${buf}`)), 10_000);
    const check = () => { const m = re.exec(buf); if (m) { clearTimeout(timer); res.off('data', onData); resolve(m[0]); } };
    const onData = (d: Buffer) => { buf += d; check(); };
    res.on('data', onData);
    check();
  });
  got.push(await waitFor(/event: revision\ndata: .*\n\n/));
  t.match(got[0], REV1);
  t.notMatch(buf, /domain defined/, 'events from before the connection are not replayed');
  source.put(eventKey(new Date(T0 + 1000), 'hv1', 3), { time: new Date(T0 + 1000).toISOString(), source: 'agent', host: 'hv1', resourceKind: 'instances', resource: 'demo/vm-00001', action: 'stopped', reason: 'PowerState', message: 'stopped by manifest', result: 'ok' });
  const ev = await waitFor(/id: state\/events\/\S+\nevent: event\ndata: .*stopped by manifest.*\n\n/);
  t.match(ev, /"resource":"demo\/vm-00001"/);
  const s2 = buildStack({ revision: REV2, heartbeat: new Date(T0) });
  writeStack(source, s2, new Date(T0 + 2000));
  await waitFor(new RegExp(`event: revision\\ndata: .*${REV2}`));
  req.destroy();

  // A reconnecting client resumes after the last event it saw (Last-Event-ID).
  const firstKey = eventKey(new Date(T0 - 500), 'hv1', 1);
  const again = http.get({ host: '127.0.0.1', port, path: '/api/v1/events/stream', headers: { 'last-event-id': firstKey } });
  const res2 = await new Promise<http.IncomingMessage>((resolve) => again.on('response', resolve));
  let buf2 = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no replay in ${buf2}`)), 10_000);
    res2.on('data', (d: Buffer) => { buf2 += d; if (/stopped by manifest/.test(buf2)) { clearTimeout(timer); resolve(); } });
  });
  t.notMatch(buf2, /domain defined/, 'the event named by Last-Event-ID is not sent again');
  t.match(buf2, /id: state\/events\/.*hv2-000002\.json\nevent: event\n/, 'the next ones are');
  again.destroy();
});
