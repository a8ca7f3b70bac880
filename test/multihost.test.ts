/**
 * ringstack on several hosts, each role from its own config file, with network namespaces
 * standing in for machines (test/support/netns.ts): three storage nodes, a proxy, a controller
 * and two agents, each its own `bin/ringstack <role> --config F` process in its own namespace
 * on a private bridge. Each agent host runs its own libvirtd (test/support/host-libvirtd.ts:
 * a private mount namespace with its own /run/libvirt, /var/lib/libvirt, /etc/libvirt ...),
 * as real hypervisor hosts do, so both can run the examples' NAT network 10.77.0.0/24 at
 * once, each with its bridge, dnsmasq and NAT rules in its own network namespace.
 *
 * The test (in the root namespace, like an operator's laptop) does what examples/README.md
 * tells a user: examples/make-image.sh makes the image and uploads it with `ringstack image
 * push` through the proxy's S3 API (the image's replicas land on all three storage hosts), and
 * the examples folder, as it is, is pushed with the real git CLI to the controller. Both
 * agents then run what was placed on them: the network, the three web instances of the Soft
 * anti-affinity group spread over both hosts, the database with its data volume as vdb, each
 * seen running in that host's libvirtd, and `ringstack status` (with a status token, from the
 * root namespace) shows them. Then the database's host loses power (every process in its
 * namespace SIGKILLed and the namespace removed with its bridges and NAT rules): after the
 * heartbeat timeout and the grace period its web instances run on the surviving host as the
 * same instances (same UUIDs), and db-1 waits for the host that holds its volume's data
 * (unschedulable, naming the volume). The host is powered on again with the disk it had (its
 * libvirtd's config still defines the old domains): db-1 runs there again, the same domain
 * with the same volume, the web instances stay where they are and the returning agent removes
 * the domains that moved away. Last, nothing is left behind: namespaces, bridge, daemons,
 * folders.
 *
 * Needs root (ip netns, unshare, nsenter), libvirt's daemons, qemu-img and a compiled dist/;
 * skipped otherwise (a failure instead when CI is set and namespaces cannot be made). The
 * machine's own libvirtd is neither needed nor touched.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify as toYaml } from 'yaml';
import { StateClient } from '../objectstore/client/state-client.js';
import { ensureLocalRings } from '../objectstore/cluster/rings.js';
import { NODE_READY_PREFIX } from '../objectstore/node/main.js';
import { CURRENT_DESIRED_KEY, desiredKey, hostObservedKey } from '../agents/contract/keys.js';
import type { CurrentDesired, DesiredState } from '../agents/contract/desired.js';
import type { HostObservedState } from '../agents/contract/observed.js';
import { netnsAvailable, TestNet, type HostProcess } from './support/netns.js';
import { HostLibvirtd, HOST_LIBVIRT_URI } from './support/host-libvirtd.js';
import { until as waitUntil } from './support/wait.js';
import { controllerRemote, gitEnv, initWorkingCopy } from './support/git.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin/ringstack');
const EXAMPLES = join(ROOT, 'examples');
const TAG = randomBytes(2).toString('hex');
const AGENTS = ['agent1', 'agent2'] as const;
const NODES = ['node1', 'node2', 'node3'] as const;
const NODE_PORT = 6200;
const PROXY_PORT = 8080;
const CONTROLLER_PORT = 8081;
/** Three of the agent's 5 s heartbeat refreshes during a long pass: a busy host is not taken for a lost one. */
const HEARTBEAT_TIMEOUT_S = 15;
const GRACE_S = 5;
/** The examples' names this test looks for. */
const DB = 'demo/db-1';
const DB_VOLUME = 'db-data';
const NETWORK = 'demo-net';
const NETWORK_GATEWAY = '10.77.0.1/24';
/** Bounds for each step (TCG and a shared 2-core machine). */
const START_MS = 60_000;
const CONVERGE_MS = 150_000;
const POLL_MS = 1000;
/** Polls at this file's pace: each check may start virsh or read several documents. */
const until = <T>(what: string, ms: number, check: Parameters<typeof waitUntil<T>>[2]) => waitUntil(what, ms, check, POLL_MS);
const SCENARIO_MS = 8 * 60_000;

async function installed(command: string, ...args: string[]): Promise<boolean> {
  try {
    await run(command, args);
    return true;
  } catch {
    return false;
  }
}

/** The instance ids the examples declare (`project/name`), read from examples/instances/. */
function exampleInstances(): string[] {
  const dir = join(EXAMPLES, 'instances');
  const ids: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const m = doc.toJS() as { kind?: string; metadata?: { name: string; project: string } };
      if (m?.kind === 'Instance' && m.metadata) ids.push(`${m.metadata.project}/${m.metadata.name}`);
    }
  }
  return ids.sort();
}

/** What the scenario made, for the last check that nothing is left behind. */
const made: { dir?: string; namespaces: string[]; bridge?: string } = { namespaces: [] };

const ns = await netnsAvailable();
if (!ns.ok) {
  if (process.env.CI) t.fail(`multi-host test needs network namespaces (run as root with iproute2): ${ns.reason}`);
  else t.plan(0, `network namespaces not available: ${ns.reason}`);
} else if (!existsSync(join(ROOT, 'dist/bin/main.js'))) {
  t.plan(0, 'dist/ is not built (npx tsc -p .)');
} else if (!(await installed('libvirtd', '--version')) || !(await installed('virtlogd', '--version'))) {
  t.plan(0, 'libvirtd or virtlogd not installed');
} else if (!(await installed('qemu-img', '--version'))) {
  t.plan(0, 'qemu-img not installed');
} else {
  await t.test('the examples on three storage hosts, a proxy, a controller and two agents with their own libvirtd', { timeout: SCENARIO_MS }, scenario);
  await t.test('nothing is left behind', leftBehind);
}

/** Waits for a role's ready line on stdout; fails with its stderr if it exits first. */
async function ready(name: string, p: HostProcess, line: string): Promise<void> {
  const deadline = Date.now() + START_MS;
  while (!p.out().includes(line)) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${name} exited (${p.child.exitCode ?? p.child.signalCode}): ${p.out().slice(-1000)} ${p.err().slice(-2000)}`);
    }
    if (Date.now() > deadline) throw new Error(`${name} did not start within ${START_MS / 1000} s: ${p.err().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, POLL_MS / 4));
  }
}

/** Whether some `.data` file under `objectsDir` starts with `bytes` (the body precedes the metadata footer). */
function holdsReplica(objectsDir: string, bytes: Buffer): boolean {
  if (!existsSync(objectsDir)) return false;
  const files = readdirSync(objectsDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.data'));
  return files.some((f) => {
    const data = readFileSync(join(objectsDir, f));
    return data.length >= bytes.length && data.subarray(0, bytes.length).equals(bytes);
  });
}

function shortName(id: string): string {
  return id.split('/')[1]!;
}

async function scenario(t: Test): Promise<void> {
  const instances = exampleInstances();
  const webs = instances.filter((i) => i !== DB);
  t.ok(instances.includes(DB) && webs.length >= 2, `the examples declare ${instances.join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'rs-multihost-'));
  made.dir = dir;
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', GIT_TERMINAL_PROMPT: '0' };
  for (const k of Object.keys(env)) if (k.startsWith('RINGSTACK_')) delete env[k];
  let net: TestNet | undefined;
  const agents = new Map<string, HostProcess>();
  const libvirtds = new Map<string, HostLibvirtd>();
  t.teardown(async () => {
    for (const p of agents.values()) {
      p.child.kill('SIGKILL');
      await p.exit;
    }
    for (const h of libvirtds.values()) await h.stop().catch((e) => t.comment(`stopping libvirtd: ${e}`));
    await net?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  net = await TestNet.create();
  for (const h of [...NODES, 'proxy', 'controller', ...AGENTS]) {
    made.namespaces.push((await net.addHost(h)).ns);
  }
  const addr = (h: string) => net!.host(h).address;
  const write = (file: string, data: unknown) => {
    const path = join(dir, file);
    mkdirSync(resolve(path, '..'), { recursive: true });
    writeFileSync(path, typeof data === 'string' ? data : toYaml(data), { mode: 0o600 });
    return path;
  };

  // Each agent host's own libvirtd (started while the object store comes up).
  const libvirtdsUp = Promise.all(AGENTS.map(async (a) => {
    libvirtds.set(a, await HostLibvirtd.start(net!, a, join(dir, a, 'libvirt')));
  }));

  // Cluster-wide files, as an operator copies them to every storage host.
  const cluster = { secret: randomBytes(24).toString('hex'), hashSuffix: randomBytes(8).toString('hex') };
  const ringDir = join(dir, 'rings');
  await ensureLocalRings(ringDir, NODES.map((n, i) => ({ ip: addr(n), port: NODE_PORT, device: 'd1', zone: i + 1 })));
  const creds = { accessKey: `RS${randomBytes(8).toString('hex').toUpperCase()}`, secretKey: randomBytes(24).toString('base64url'), account: 'admin' };
  const credentialsFile = write('proxy/credentials.json', JSON.stringify(creds));

  const nodes = NODES.map((n) => {
    mkdirSync(join(dir, n, 'devices', 'd1'), { recursive: true });
    const cfg = write(`${n}/node.yaml`, { ...cluster, ringDir, node: { host: addr(n), port: NODE_PORT, devicesDir: join(dir, n, 'devices') } });
    return { n, p: net!.spawnIn(n, CLI, ['storage-node', '--config', cfg], { env, cwd: ROOT }) };
  });
  for (const { n, p } of nodes) await ready(n, p, NODE_READY_PREFIX);
  const proxyCfg = write('proxy/proxy.yaml', { ...cluster, ringDir, proxy: { host: addr('proxy'), port: PROXY_PORT, credentialsFile } });
  const proxy = net.spawnIn('proxy', CLI, ['proxy', '--config', proxyCfg], { env, cwd: ROOT });
  await ready('proxy', proxy, 'ringstack proxy listening');
  const endpoint = `http://${addr('proxy')}:${PROXY_PORT}`;
  t.pass(`object store: 3 storage nodes and a proxy at ${endpoint}`);

  const token = randomBytes(16).toString('hex');
  const statusToken = randomBytes(16).toString('hex');
  const controllerCfg = write('controller/controller.yaml', {
    dataDir: join(dir, 'controller', 'data'), host: addr('controller'), port: CONTROLLER_PORT, gitTokens: [token], statusTokens: [statusToken],
    store: { endpoint, accessKey: creds.accessKey, secretKey: creds.secretKey },
    heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_S, gracePeriodSeconds: GRACE_S, resyncIntervalMs: 500,
  });
  const controller = net.spawnIn('controller', CLI, ['controller', '--config', controllerCfg], { env, cwd: ROOT });
  await ready('controller', controller, 'ringstack controller ready');

  await libvirtdsUp;
  for (const [a, h] of libvirtds) {
    t.match(await h.virsh('uri'), HOST_LIBVIRT_URI, `${a} runs its own libvirtd (pid file in ${h.dir})`);
    const known = `${await h.virsh('list', '--all', '--name')}${await h.virsh('net-list', '--all', '--name')}${await h.virsh('pool-list', '--all', '--name')}`;
    t.equal(known.trim(), '', `${a}'s libvirtd starts with no domain, network or pool (none of this machine's)`);
  }
  const hostOf = new Map<string, string>();
  const agentConfigs = new Map<string, string>();
  for (const a of AGENTS) {
    const host = `mh${TAG}-${a}`;
    const cfg = write(`${a}/agent.yaml`, {
      host, libvirtUri: HOST_LIBVIRT_URI, dataDir: join(dir, a, 'data'),
      state: { endpoint, accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey },
      pollIntervalMs: 1000, shutdownTimeoutMs: 3000,
    });
    const p = libvirtds.get(a)!.spawn(CLI, ['agent', '--config', cfg], { env, cwd: ROOT });
    await ready(a, p, 'ringstack agent');
    agents.set(host, p);
    hostOf.set(host, a);
    agentConfigs.set(a, cfg);
  }
  const hostNames = [...agents.keys()];
  const libvirtdOf = (host: string) => libvirtds.get(hostOf.get(host)!)!;

  const state = new StateClient({ endpoint, accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey });
  t.teardown(() => state.close());
  await until('both agents to report', START_MS, async () => {
    for (const h of hostNames) if ((await state.getJson<HostObservedState>(hostObservedKey(h))).status !== 'ok') return undefined;
    return true;
  });

  // The examples' image, made and uploaded by their script (with `ringstack image push`), from
  // a copy of the folder: the script rewrites images/blank.yaml when its sha256 differs.
  const work = join(dir, 'infra');
  cpSync(EXAMPLES, work, { recursive: true });
  const imageDir = join(dir, 'image');
  const made_ = await run('sh', [join(work, 'make-image.sh'), '--endpoint', endpoint, '--credentials', credentialsFile], {
    env: { ...env, RINGSTACK: CLI, RINGSTACK_IMAGE_DIR: imageDir }, cwd: work,
  });
  t.match(made_.stdout, /image blank uploaded to images\/blank-1g\.qcow2; sha256 [0-9a-f]{64} matches images\/blank\.yaml/,
    'make-image.sh uploads the image with the sha256 committed in examples/images/blank.yaml');
  const bytes = readFileSync(join(imageDir, 'blank-1g.qcow2'));
  for (const n of NODES) {
    // The upload returns at a write quorum; the last replica may land a moment later.
    await until(`a replica of the image on ${n}`, START_MS, () => holdsReplica(join(dir, n, 'devices', 'd1', 'objects'), bytes));
    t.pass(`storage host ${n} holds a replica of the image`);
  }

  // The examples, as they are, pushed with git from the root namespace to the controller's host.
  const git = await initWorkingCopy(work, gitEnv(join(dir, 'home'), env),
    { name: 'ringstack', url: controllerRemote(`http://${addr('controller')}:${CONTROLLER_PORT}`, token) });
  await git('add', '.');
  await git('commit', '-q', '-m', 'demo project');
  const push = await git('push', 'ringstack', 'main');
  const pushed = `${push.stdout}${push.stderr}`;
  t.equal(push.status, 0, 'git push exits 0');
  t.match(pushed, /accepted/, 'the examples push is accepted by the controller on its own host');
  t.notMatch(pushed, /unschedulable/, `the plan places every instance: ${pushed.split('\n').filter((l) => l.includes('instance')).join(' | ')}`);

  const desiredNow = async (): Promise<DesiredState> => {
    const cur = await state.getJson<CurrentDesired>(CURRENT_DESIRED_KEY);
    if (cur.status !== 'ok') throw new Error('no current desired state');
    const d = await state.getJson<DesiredState>(desiredKey(cur.value.revision));
    if (d.status !== 'ok') throw new Error(`no desired state for ${cur.value.revision}`);
    return d.value;
  };
  const placed = await until('every instance placed', START_MS, async () => {
    const d = await desiredNow();
    return instances.every((i) => d.placements.instances[i]) ? d.placements.instances : undefined;
  });
  for (const h of hostNames) {
    t.ok(webs.some((w) => placed[w] === h), `Soft anti-affinity spreads the web instances: ${h} has one (${JSON.stringify(placed)})`);
  }

  /** Whether `host` reports every one of `ids` ACTIVE and its own libvirtd runs a domain for each. */
  const runsAll = async (host: string, ids: string[]): Promise<boolean> => {
    const o = await state.getJson<HostObservedState>(hostObservedKey(host));
    if (o.status !== 'ok') return false;
    const notActive = ids.filter((i) => o.value.instances[i]?.state !== 'ACTIVE');
    if (notActive.length) throw new Error(`${host} reports ${notActive.map((i) => `${i} ${JSON.stringify(o.value.instances[i] ?? 'absent')}`).join(', ')}`);
    const running = (await libvirtdOf(host).virsh('list', '--name', '--state-running')).split('\n').map((s) => s.trim());
    return ids.every((i) => running.some((d) => d.endsWith(`-${shortName(i)}`)));
  };
  const domainOf = async (host: string, id: string): Promise<string | undefined> =>
    (await libvirtdOf(host).virsh('list', '--all', '--name')).split('\n').map((s) => s.trim()).find((d) => d.endsWith(`-${shortName(id)}`));
  for (const h of hostNames) {
    const mine = instances.filter((i) => placed[i] === h);
    await until(`${h} to run ${mine.join(', ')}`, CONVERGE_MS, () => runsAll(h, mine));
    t.pass(`${h} runs ${mine.join(', ')} (observed ACTIVE, domains running in its libvirtd)`);
    const hv = libvirtdOf(h);
    t.ok((await hv.virsh('net-list', '--name')).split('\n').some((n) => n.trim().endsWith(`-${NETWORK}`)), `${NETWORK} is active in ${h}'s libvirtd`);
    t.match(await hv.ip('-br', 'addr'), NETWORK_GATEWAY, `${h}'s namespace has ${NETWORK}'s bridge with ${NETWORK_GATEWAY} (the same CIDR on both hosts)`);
  }
  // What the operator sees from their machine: `ringstack status` against the controller's host.
  const controllerUrl = `http://${addr('controller')}:${CONTROLLER_PORT}`;
  const status = async (...args: string[]) =>
    (await run(CLI, ['status', ...args, '--controller', controllerUrl, '--token', statusToken], { env })).stdout;
  /** `ringstack status instances` as id -> [STATE, HOST]. */
  const statusRows = async () => new Map((await status('instances')).split('\n').slice(1).filter(Boolean)
    .map((l) => l.split(/\s+/)).map(([id, state, , host]) => [id!, [state!, host!]]));
  await until('ringstack status to show every instance ACTIVE on its host', START_MS, async () => {
    const rows = await statusRows();
    return instances.every((i) => rows.get(i)?.[0] === 'ACTIVE' && rows.get(i)?.[1] === placed[i]);
  });
  t.pass('ringstack status instances (from the operator\'s machine, with a status token) shows every instance ACTIVE on its host');

  const dbHost = placed[DB]!;
  const dbDomain = await domainOf(dbHost, DB);
  t.match(await libvirtdOf(dbHost).virsh('domblklist', dbDomain!), /vdb\s+\S*db-data/, `${DB} has the volume ${DB_VOLUME} as vdb`);
  t.same(await libvirtdOf(hostNames.find((h) => h !== dbHost)!).virsh('list', '--all', '--name').then((s) => s.split('\n').filter((d) => d.endsWith(`-${shortName(DB)}`))),
    [], `the other host's libvirtd does not know ${DB}`);

  // The database's host loses power: agent, libvirtd, guests, dnsmasq, all at once.
  const lost = dbHost;
  const survivor = hostNames.find((h) => h !== lost)!;
  const moved = webs.filter((i) => placed[i] === lost);
  const lostObserved = await state.getJson<HostObservedState>(hostObservedKey(lost));
  if (lostObserved.status !== 'ok') throw new Error(`no observed state of ${lost}`);
  const uuids = Object.fromEntries([...moved, DB].map((i) => [i, lostObserved.value.instances[i]?.uuid]));
  await net.powerOff(hostOf.get(lost)!);
  await agents.get(lost)!.exit;
  agents.delete(lost);
  t.notOk(libvirtdOf(lost).alive, `${lost} is off: no process left, its namespace gone`);

  const after = await until(`${moved.join(', ')} to be rescheduled onto ${survivor}`, CONVERGE_MS, async () => {
    const d = await desiredNow();
    return webs.every((i) => d.placements.instances[i] === survivor) && d.unschedulable[DB] ? d : undefined;
  });
  t.notOk(Object.values(after.placements.instances).includes(lost), `no instance left on the lost host ${lost}`);
  t.match(after.unschedulable[DB]?.message, new RegExp(`volume ${DB_VOLUME} lives on host ${lost}`),
    `${DB} waits for the host that holds ${DB_VOLUME}: "${after.unschedulable[DB]?.message}"`);
  await until(`${survivor} to run ${webs.join(', ')}`, CONVERGE_MS, () => runsAll(survivor, webs));
  t.pass(`${survivor} runs ${webs.join(', ')} after ${lost} went away`);
  await until('ringstack status to show the web instances ACTIVE on the survivor', START_MS, async () => {
    const rows = await statusRows();
    return webs.every((i) => rows.get(i)?.[0] === 'ACTIVE' && rows.get(i)?.[1] === survivor);
  });
  t.match(await status('instances', DB), new RegExp(`Unschedulable\\s+True\\s+.*volume ${DB_VOLUME} lives on host ${lost}`),
    `ringstack status instances ${DB} shows why it waits`);

  // The lost host is powered on again, with the disk it had: its libvirtd still defines the
  // domains it ran, and its agent comes back.
  const lostAgent = hostOf.get(lost)!;
  await net.powerOn(lostAgent);
  const rebooted = await HostLibvirtd.start(net, lostAgent, libvirtdOf(lost).dir);
  libvirtds.set(lostAgent, rebooted);
  const again = rebooted.spawn(CLI, ['agent', '--config', agentConfigs.get(lostAgent)!], { env, cwd: ROOT });
  agents.set(lost, again);
  await ready(lostAgent, again, 'ringstack agent');
  const back = await until(`${DB} to be placed on ${lost} again`, CONVERGE_MS, async () => {
    const d = await desiredNow();
    return d.placements.instances[DB] === lost ? d : undefined;
  });
  t.ok(webs.every((i) => back.placements.instances[i] === survivor), `the web instances stay on ${survivor} (a Soft group never moves them back)`);
  await until(`${lost} to run ${DB} again`, CONVERGE_MS, () => runsAll(lost, [DB]));
  await until(`${lost}'s agent to remove the domains that moved away`, CONVERGE_MS, async () => {
    const left = (await rebooted.virsh('list', '--all', '--name')).split('\n').map((d) => d.trim()).filter(Boolean);
    return left.length === 1 && left[0]!.endsWith(`-${shortName(DB)}`);
  });
  t.pass(`${lost} is back: it runs ${DB} and no longer defines ${moved.join(', ')}`);
  const dbAgain = (await domainOf(lost, DB))!;
  t.equal((await rebooted.virsh('domuuid', dbAgain)).trim(), uuids[DB], `${DB} is the same domain (UUID ${uuids[DB]})`);
  t.match(await rebooted.virsh('domblklist', dbAgain), /vdb\s+\S*db-data/, `with its volume ${DB_VOLUME} as vdb`);
  const survived = await state.getJson<HostObservedState>(hostObservedKey(survivor));
  for (const i of moved) {
    const uuid = survived.status === 'ok' ? survived.value.instances[i]?.uuid : undefined;
    t.ok(uuid && uuid === uuids[i], `${i} moved as the same instance (UUID ${uuids[i]})`);
    const domain = await domainOf(survivor, i);
    t.equal(domain && (await libvirtdOf(survivor).virsh('domuuid', domain)).trim(), uuids[i], `${survivor}'s libvirtd has ${i}'s domain with that UUID`);
  }
}

async function leftBehind(t: Test): Promise<void> {
  const namespaces = (await run('ip', ['netns', 'list'])).stdout;
  for (const n of made.namespaces) t.notOk(namespaces.includes(n), `namespace ${n} removed`);
  const links = (await run('ip', ['-br', 'link'])).stdout;
  const netTag = made.namespaces[0]?.slice(2).split('-')[0] ?? 'none';
  t.notMatch(links, new RegExp(`rs(br|v|p)${netTag}`), 'no bridge or veth of the test left');
  t.notOk(made.dir && existsSync(made.dir), 'the test folder (host libvirt folders, agents\' pools) removed');
  const procs = await run('pgrep', ['-af', made.dir ?? 'rs-multihost-never']).then((r) => r.stdout, () => '');
  t.equal(procs.trim(), '', 'no libvirtd, virtlogd or other process of the test still runs');
}
