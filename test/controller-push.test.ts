/**
 * The controller end to end on real parts: a local object store (3 storage nodes), the
 * controller with its Git endpoint, and the real `git` CLI. An invalid commit is rejected with
 * file:line errors and the branch stays; a valid one is accepted, its plan printed, and its
 * desired state appears in the state bucket; a host registering places the instances; a
 * restarted controller keeps every placement.
 */
import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocalObjectStore } from '../objectstore/cluster/local.js';
import { StateClient } from '../objectstore/client/state-client.js';
import { controllerConfigFrom } from '../controller/service/config.js';
import { startController, type RunningController } from '../controller/service/server.js';
import { ControllerStore } from '../controller/service/state-store.js';
import {
  CURRENT_DESIRED_KEY, STATE_FORMAT_VERSION, canonicalJson, desiredKey, hostDesiredKey, hostInfoKey, hostObservedKey,
  type CurrentDesired, type DesiredState, type HostDesiredState, type HostInfo,
} from '../agents/contract/index.js';
import { until } from './support/wait.js';
import { controllerRemote, gitEnv, initWorkingCopy } from './support/git.js';

const root = mkdtempSync(join(tmpdir(), 'rs-ctl-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

const store = await runLocalObjectStore({ dataDir: join(root, 'store'), port: 0, log: () => {} });
t.teardown(() => store.stop());
const creds = JSON.parse(readFileSync(store.credentialsFile!, 'utf8'));
const client = new StateClient({ endpoint: store.url, accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey });
t.teardown(() => client.close());

const TOKEN = 'push-token-1';
function config(dataDir: string) {
  return controllerConfigFrom({
    dataDir, port: 0, gitTokens: [TOKEN], resyncIntervalMs: 200, heartbeatTimeoutSeconds: 30,
    store: { endpoint: store.url, accessKey: creds.accessKey, secretKey: creds.secretKey },
  }, {});
}

let ctl: RunningController = await startController(config(join(root, 'ctl')), { logger: false });
t.teardown(() => ctl.close());

// A working copy with the git CLI, isolated from the user's git config.
const work = join(root, 'work');
const remote = (c: RunningController) => controllerRemote(c.url, TOKEN);
const git = await initWorkingCopy(work, gitEnv(join(root, 'home')), { name: 'origin', url: remote(ctl) });

async function readJson<T>(key: string): Promise<T | undefined> {
  const r = await client.getJson<T>(key);
  return r.status === 'ok' ? r.value : undefined;
}

async function registerHost(name: string, zone = 'default') {
  const now = new Date().toISOString();
  const info: HostInfo = { formatVersion: STATE_FORMAT_VERSION, kind: 'HostInfo', host: name, zone, vcpus: 8, memoryMiB: 16384, diskGiB: 200, startedAt: now };
  await client.putJson(hostInfoKey(name), canonicalJson(info));
  await client.putJson(hostObservedKey(name), canonicalJson({
    formatVersion: STATE_FORMAT_VERSION, kind: 'HostObservedState', host: name, heartbeat: now,
    totals: { vcpus: 8, memoryMiB: 16384, diskGiB: 200, usedVcpus: 0, usedMemoryMiB: 0, usedDiskGiB: 0 },
    networks: {}, images: {}, volumes: {}, instances: {},
  }));
}


t.test('an invalid commit is rejected with every error and the branch stays', async (t) => {
  cpSync(join(process.cwd(), 'controller/manifests/fixtures/valid'), work, { recursive: true });
  writeFileSync(join(work, 'instances', 'bad.yaml'), [
    'apiVersion: ringstack.dev/v1', 'kind: Instance', 'metadata:', '  name: api', '  project: demo', 'spec:',
    '  image: debian-12', '  flavor: huge', '',
  ].join('\n'));
  await git('add', '-A');
  await git('commit', '-qm', 'bad flavor');
  const push = await git('push', 'origin', 'main');
  t.not(push.status, 0, 'push fails');
  t.match(push.stderr, /remote: instances\/bad\.yaml:8:11 spec\.flavor: no Flavor named "huge"/);
  t.match(push.stderr, /\[remote rejected\] main -> main/);
  const refs = await git('ls-remote', 'origin');
  t.equal(refs.stdout.trim(), '', 'no branch was created');
  t.equal(await readJson(CURRENT_DESIRED_KEY), undefined, 'nothing was published');
});

let firstCommit = '';
t.test('a valid commit is accepted, its plan printed and its state published', async (t) => {
  rmSync(join(work, 'instances', 'bad.yaml'));
  await git('add', '-A');
  await git('commit', '-qm', 'fix flavor');
  const push = await git('push', 'origin', 'main');
  t.equal(push.status, 0, push.stderr);
  t.match(push.stderr, /remote: .*\+ instance demo\/web-1/);
  t.match(push.stderr, /remote: Plan: \d+ to create, 0 to update, 0 to replace, 0 to delete\./);
  t.match(push.stderr, /unschedulable/, 'no host yet: the push warns that instances cannot be placed');
  firstCommit = (await git('rev-parse', 'HEAD')).stdout.trim();
  const current = await readJson<CurrentDesired>(CURRENT_DESIRED_KEY);
  t.equal(current?.revision, firstCommit);
  const desired = await readJson<DesiredState>(desiredKey(firstCommit));
  t.ok(desired, 'the revision document exists');
  t.same(Object.keys(desired!.instances).sort(), ['demo/db', 'demo/web-1', 'demo/web-2']);
  t.same(Object.keys(desired!.unschedulable).sort(), ['demo/db', 'demo/web-1', 'demo/web-2']);
});

t.test('hosts that register get the instances, spread by anti-affinity', async (t) => {
  await registerHost('hv1');
  await registerHost('hv2');
  const placed = await until('placements', 20000, async () => {
    const d = await readJson<DesiredState>(desiredKey(firstCommit));
    return d && Object.keys(d.placements.instances).length === 3 ? d : undefined;
  });
  t.same(placed.unschedulable, {});
  const p = placed.placements.instances;
  t.not(p['demo/web-1'], p['demo/web-2'], 'web-1 and web-2 are on different hosts');
  const hv1 = await readJson<HostDesiredState>(hostDesiredKey('hv1'));
  const hv2 = await readJson<HostDesiredState>(hostDesiredKey('hv2'));
  const onHosts = [...Object.keys(hv1!.instances), ...Object.keys(hv2!.instances)].sort();
  t.same(onHosts, ['demo/db', 'demo/web-1', 'demo/web-2'], 'every instance is in exactly one host file');
  t.ok(hv1!.networks['demo/demo-net'] || hv2!.networks['demo/demo-net'], 'the network goes with its instances');

  // Host documents are read again only when the listing shows a new ETag (on the real store).
  const store = new ControllerStore(client);
  const seen = await store.hosts();
  t.equal(store.reads, 4, 'first pass: every document is read');
  t.same((await store.hosts()).map((h) => h.name), seen.map((h) => h.name));
  t.equal(store.reads, 4, 'unchanged hosts: listed, not read');
  await registerHost('hv2');
  const again = await store.hosts();
  t.equal(store.reads, 6, "hv2's two rewritten documents are read");
  t.not(again.find((h) => h.name === 'hv2')!.lastHeartbeat, seen.find((h) => h.name === 'hv2')!.lastHeartbeat, 'with its new heartbeat');
});

t.test('a restarted controller keeps every placement and byte', async (t) => {
  const before = await client.getJson<DesiredState>(desiredKey(firstCommit));
  const hostBytes = await client.getJson<HostDesiredState>(hostDesiredKey('hv1'));
  await ctl.close();
  rmSync(join(root, 'ctl'), { recursive: true, force: true }); // a new machine: the repo comes back from the backup
  ctl = await startController(config(join(root, 'ctl')), { logger: false });
  await git('remote', 'set-url', 'origin', remote(ctl));
  await new Promise((r) => setTimeout(r, 1000)); // several resync passes
  const after = await client.getJson<DesiredState>(desiredKey(firstCommit));
  t.equal(after.status, 'ok');
  if (before.status === 'ok' && after.status === 'ok') {
    t.equal(after.etag, before.etag, 'same bytes');
    t.same(after.value.placements, before.value.placements);
  }
  const hostAfter = await client.getJson<HostDesiredState>(hostDesiredKey('hv1'), hostBytes.status === 'ok' ? hostBytes.etag : undefined);
  t.equal(hostAfter.status, 'not-modified', 'hv1 sees no change');

  // The restored repository accepts the next push on top of the old history.
  writeFileSync(join(work, 'instances', 'web.yaml'), readFileSync(join(work, 'instances', 'web.yaml'), 'utf8').replace('flavor: small\n  networks:\n    - network: demo-net\n      ip', 'flavor: medium\n  networks:\n    - network: demo-net\n      ip'));
  await git('commit', '-qam', 'bigger web-1');
  const push = await git('push', 'origin', 'main');
  t.equal(push.status, 0, push.stderr);
  t.match(push.stderr, /instance demo\/web-1 \(update with reboot/);
  const second = (await git('rev-parse', 'HEAD')).stdout.trim();
  const d2 = await readJson<DesiredState>(desiredKey(second));
  t.equal(d2!.instances['demo/web-1']!.vcpus, 2);
  t.equal(d2!.placements.instances['demo/web-1'], (before as { value: DesiredState }).value.placements.instances['demo/web-1'], 'placement is sticky');
  });
