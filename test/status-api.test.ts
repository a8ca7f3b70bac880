/**
 * The status API end to end on real parts: a local object store, the controller with its Git
 * endpoint, real `git push`, and fake hosts reporting observed state. A pushed revision shows
 * as accepted, then converged once every host applied it; instances show desired against
 * observed with conditions; a rejected push shows its errors; usage records appear in the
 * store; nothing but GET and HEAD is accepted.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { startStatusStack, until } from './support/status-stack.js';

const stack = await startStatusStack({ statusTokens: ['admin-token', 'demo-token:demo'] });
t.teardown(() => stack.stop());
const api = async (path: string, token = 'admin-token') => {
  const res = await fetch(`${stack.ctl.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() as any };
};

let commit = '';
t.test('a push shows as an accepted revision, converged once the hosts applied it', async (t) => {
  await stack.registerHost('hv1');
  await stack.registerHost('hv2');
  commit = await stack.pushFixtures('initial');
  const placed = await until('placements of all three instances', async () => {
    const r = await api('/api/v1/instances');
    return r.status === 200 && r.body.items.length === 3 && r.body.items.every((i: any) => i.host) ? r.body : undefined;
  });
  t.same(placed.items.map((i: any) => i.id), ['demo/db', 'demo/web-1', 'demo/web-2']);
  // The controller records the revision after it published the placements, and the status API
  // reads both on its next refresh: the record may show a refresh after the placements.
  const rev = await until('the revision record', async () => (await api(`/api/v1/revisions/${commit}`)).body.item);
  t.match(rev, { revision: commit, status: 'accepted', current: true });
  t.ok(rev.appliedAt);
  await stack.observeHost('hv1');
  await stack.observeHost('hv2');
  const converged = await until('convergence', async () => {
    const r = (await api(`/api/v1/revisions/${commit}`)).body.item;
    return r.converged ? r : undefined;
  });
  t.ok(converged.convergedAt, 'the time it converged is shown');
  const web = (await api('/api/v1/instances/demo/web-1')).body.item;
  t.equal(web.summary, 'Ready');
  t.equal(web.state, 'ACTIVE');
  t.ok(web.ips.length > 0, 'IPs are shown');
  t.equal(web.desired.id, 'demo/web-1');
  t.same(Object.keys(web.observed), [web.host]);
  const hosts = (await api('/api/v1/hosts')).body.items;
  t.same(hosts.map((h: any) => [h.name, h.health]), [['hv1', 'up'], ['hv2', 'up']]);
  t.equal(hosts.reduce((s: number, h: any) => s + h.allocation.instances, 0), 3);
  const ov = (await api('/api/v1/overview')).body;
  t.same([ov.revision.revision, ov.revision.converged, ov.instancesByState], [commit, true, { ACTIVE: 3 }]);
  const project = (await api('/api/v1/projects/demo')).body.item;
  t.equal(project.usage.instances, 3);
});

t.test('a rejected push is listed with its errors', async (t) => {
  const bad = [
    'apiVersion: ringstack.dev/v1', 'kind: Instance', 'metadata:', '  name: api', '  project: demo', 'spec:', '  image: debian-12', '  flavor: huge', '',
  ].join('\n');
  writeFileSync(`${stack.root}/work/instances/bad.yaml`, bad);
  await stack.git('add', '-A');
  await stack.git('commit', '-qm', 'bad');
  const push = await stack.git('push', 'origin', 'main');
  t.not(push.status, 0);
  const badCommit = (await stack.git('rev-parse', 'HEAD')).stdout.trim();
  const rec = await until('the rejected record', async () => {
    const r = await api(`/api/v1/revisions/${badCommit}`);
    return r.status === 200 ? r.body.item : undefined;
  });
  t.equal(rec.status, 'rejected');
  t.match(rec.errors.join('\n'), /instances\/bad\.yaml:8:11 spec\.flavor: no Flavor named "huge"/);
  t.equal(rec.converged, false);
  const list = (await api('/api/v1/revisions?state=rejected')).body.items;
  t.same(list.map((r: any) => r.revision), [badCommit]);
});

t.test('events, scoped tokens and 405 on the real controller', async (t) => {
  await stack.event('hv1', 'demo/web-1', 'started by the agent');
  const ev = await until('the event', async () => {
    const r = await api('/api/v1/events?resource=demo/web-1');
    return r.body.items?.length ? r.body.items : undefined;
  });
  t.equal(ev[0].message, 'started by the agent');
  t.equal((await api('/api/v1/instances', 'demo-token')).body.items.length, 3);
  t.equal((await api('/api/v1/instances', 'nope')).status, 401);
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const res = await fetch(`${stack.ctl.url}/api/v1/instances/demo/web-1`, { method, headers: { authorization: 'Bearer admin-token' } });
    t.equal(res.status, 405, method);
    t.equal(res.headers.get('allow'), 'GET, HEAD');
  }
  const git = await fetch(`${stack.ctl.url}/healthz`);
  t.equal(git.status, 200, 'the controller\'s own routes are untouched');
  const metrics = await fetch(`${stack.ctl.url}/metrics`, { headers: { authorization: 'Bearer admin-token' } });
  const metricsText = await metrics.text();
  t.match(metricsText, /ringstack_agent_heartbeat_age_seconds\{host="hv1"\}/);
  t.match(metricsText, /ringstack_proxy_requests_total\{code="200",method="GET"\} \d+/, 'the object store proxy\'s request rates come along');
  t.match(metricsText, /ringstack_proxy_request_duration_seconds_bucket\{le="0\.1",method="PUT"\} \d+/);
});

t.test('usage records are written to the store while instances run', async (t) => {
  // Samples run every 300 ms; a record is written when something changes: stop web-2's host reporting.
  const start = new Date(Date.now() - 60_000).toISOString();
  await new Promise((r) => setTimeout(r, 700));
  await stack.client.putJson('state/hosts/hv2/observed.json', JSON.stringify({
    formatVersion: 1, kind: 'HostObservedState', host: 'hv2', heartbeat: new Date().toISOString(),
    totals: { vcpus: 8, memoryMiB: 16384, diskGiB: 200, usedVcpus: 0, usedMemoryMiB: 0, usedDiskGiB: 0 }, networks: {}, images: {}, volumes: {}, instances: {},
  }));
  const report = await until('a usage record', async () => {
    const r = await api(`/api/v1/usage?project=demo&from=${start}&to=${new Date(Date.now() + 60_000).toISOString()}`);
    return r.status === 200 && r.body.records > 0 ? r.body : undefined;
  });
  t.ok(report.instanceHours > 0, 'instance-hours were metered');
  t.ok(report.vcpuHours >= report.instanceHours, 'vCPU-hours too');
  const keys: string[] = [];
  for await (const o of stack.client.list('state/usage/demo/')) keys.push(o.key);
  t.ok(keys.length > 0, 'records are objects under state/usage/demo/');
});
