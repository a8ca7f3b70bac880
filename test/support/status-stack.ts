/**
 * A running stack for the status API's end-to-end tests: a local object store (3 storage
 * nodes), the controller (Git endpoint + status API), a git working copy of the valid fixture
 * repository, and fake hosts that register and report observed state the way an agent does
 * (everything placed on them ACTIVE, applied at the host's desired revision).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocalObjectStore } from '../../objectstore/cluster/local.js';
import { StateClient } from '../../objectstore/client/state-client.js';
import { controllerConfigFrom } from '../../controller/service/config.js';
import { startController, type RunningController } from '../../controller/service/server.js';
import {
  STATE_FORMAT_VERSION, canonicalJson, eventKey, hostDesiredKey, hostInfoKey, hostObservedKey,
  type HostDesiredState, type HostInfo, type HostObservedState,
} from '../../agents/contract/index.js';
import { controllerRemote, gitEnv, initWorkingCopy, type Git } from './git.js';

const TOKEN = 'push-token-1';

export interface StatusStack {
  root: string;
  ctl: RunningController;
  client: StateClient;
  git: Git;
  /** Copies the valid fixture repository, commits and pushes; returns the commit id. */
  pushFixtures(message: string): Promise<string>;
  registerHost(name: string): Promise<void>;
  /** Reports everything in the host's desired state as ACTIVE and applied. */
  observeHost(name: string): Promise<HostDesiredState | undefined>;
  event(host: string, resource: string, message: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startStatusStack(opts: { statusTokens?: string[] } = {}): Promise<StatusStack> {
  const root = mkdtempSync(join(tmpdir(), 'rs-status-'));
  const store = await runLocalObjectStore({ dataDir: join(root, 'store'), port: 0, log: () => {} });
  const creds = JSON.parse(readFileSync(store.credentialsFile!, 'utf8'));
  const client = new StateClient({ endpoint: store.url, accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey });
  const cfg = controllerConfigFrom({
    dataDir: join(root, 'ctl'), port: 0, gitTokens: [TOKEN], resyncIntervalMs: 200, heartbeatTimeoutSeconds: 30,
    statusTokens: opts.statusTokens ?? [],
    store: { endpoint: store.url, accessKey: creds.accessKey, secretKey: creds.secretKey },
  }, {});
  const ctl = await startController(cfg, { logger: false, status: { refreshMs: 100, pollMs: 200, usage: { sampleMs: 300 } } });
  const work = join(root, 'work');
  const git = await initWorkingCopy(work, gitEnv(join(root, 'home')), { name: 'origin', url: controllerRemote(ctl.url, TOKEN) });
  let seq = 0;
  const stack: StatusStack = {
    root, ctl, client, git,
    async pushFixtures(message) {
      cpSync(join(process.cwd(), 'controller/manifests/fixtures/valid'), work, { recursive: true });
      await git('add', '-A');
      await git('commit', '-qm', message, '--allow-empty');
      const push = await git('push', 'origin', 'main');
      if (push.status !== 0) throw new Error(`push failed: ${push.stderr}`);
      return (await git('rev-parse', 'HEAD')).stdout.trim();
    },
    async registerHost(name) {
      const now = new Date().toISOString();
      const info: HostInfo = { formatVersion: STATE_FORMAT_VERSION, kind: 'HostInfo', host: name, zone: 'default', vcpus: 8, memoryMiB: 16384, diskGiB: 200, startedAt: now, agentVersion: 'fake' };
      await client.putJson(hostInfoKey(name), canonicalJson(info));
      await stack.observeHost(name);
    },
    async observeHost(name) {
      const r = await client.getJson<HostDesiredState>(hostDesiredKey(name));
      const d = r.status === 'ok' ? r.value : undefined;
      const now = new Date().toISOString();
      const ob: HostObservedState = {
        formatVersion: STATE_FORMAT_VERSION, kind: 'HostObservedState', host: name, heartbeat: now,
        ...(d ? { appliedRevision: d.revision, seenRevision: d.revision } : {}),
        totals: { vcpus: 8, memoryMiB: 16384, diskGiB: 200, usedVcpus: 0, usedMemoryMiB: 0, usedDiskGiB: 0 },
        networks: {}, images: {}, volumes: {}, instances: {},
      };
      let ip = 10;
      for (const n of Object.values(d?.networks ?? {})) ob.networks[n.id] = { id: n.id, state: 'ACTIVE', active: true, appliedHash: n.hash, appliedRevision: n.revision, updatedAt: now };
      for (const i of Object.values(d?.images ?? {})) ob.images[i.id] = { id: i.id, state: 'ACTIVE', appliedHash: i.hash, appliedRevision: i.revision, updatedAt: now, sizeBytes: 4096, sha256: i.sha256 };
      for (const v of Object.values(d?.volumes ?? {})) ob.volumes[v.id] = { id: v.id, state: 'ACTIVE', appliedHash: v.hash, appliedRevision: v.revision, updatedAt: now, capacityBytes: v.sizeGiB * 2 ** 30 };
      for (const i of Object.values(d?.instances ?? {})) {
        ob.instances[i.id] = {
          id: i.id, state: i.powerState === 'Running' ? 'ACTIVE' : 'SHUTOFF', libvirtState: i.powerState === 'Running' ? 'running' : 'shutoff',
          appliedHash: i.hash, appliedRevision: i.revision, updatedAt: now, vcpus: i.vcpus, memoryMiB: i.memoryMiB,
          ips: i.nics.map((n) => ({ network: n.network, mac: n.mac, ip: n.ip ?? `10.9.0.${ip++}` })),
        };
      }
      await client.putJson(hostObservedKey(name), canonicalJson(ob));
      return d;
    },
    async event(host, resource, message) {
      const time = new Date();
      await client.putJson(eventKey(time, host, seq++), canonicalJson({
        formatVersion: 1, kind: 'Event', time: time.toISOString(), source: 'agent', host, resourceKind: 'instances', resource, action: 'started', reason: 'PowerState', message, result: 'ok',
      }));
    },
    async stop() {
      await ctl.close();
      client.close();
      await store.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return stack;
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
