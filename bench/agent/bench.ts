/**
 * Agent benchmark, printed as JSON:
 * 1. `converge50`: one host converging N instances (default 50: NAT network, one image, boot
 *    disks, seeds, domains) from nothing, on the in-memory FakeHypervisor: test:///default
 *    cannot upload volumes (no image downloads, no seeds), so it cannot run the agent's apply.
 *    Median of several runs; each run is a fresh host and agent, timing the first sync.
 * 2. `qemuOneInstance` (when libvirtd is reachable): on qemu:///system with the image already
 *    cached, the median time from writing a desired state with one new instance to the domain
 *    running (the agent loop polling every second, as in production; the git push and the
 *    controller's compile are not included). Issue target: under 5 s including the push.
 *
 * Usage: npx tsc -p . && node dist/bench/agent/bench.js [--runs N] [--instances N] [--no-qemu]
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FakeHypervisor } from '../../agents/hypervisor/fake-hypervisor.js';
import { LibvirtHypervisor } from '../../agents/hypervisor/libvirt-hypervisor.js';
import { DEFAULT_SOCKET_PATH } from '../../agents/hypervisor/libvirt/connection.js';
import { Agent } from '../../agents/agent/agent.js';
import { MemoryAgentStore } from '../../agents/agent/memory-store.js';
import { fakeQcow2, hostDesired, image, instance, network } from '../../agents/agent/test-fixtures.js';
import { randomLan, removeAll, tinyImageStore } from '../../agents/agent/test-libvirt.js';
import { median } from '../stats.js';

const MIB = 1024 * 1024;
const HOST = 'bench1';
const POLL_MS = 1000;

async function converge(count: number): Promise<{ ms: number; domains: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-bench-agent-'));
  try {
    const fake = new FakeHypervisor({ host: { cpus: 256, memoryBytes: 1024 * 1024 * MIB } });
    const store = new MemoryAgentStore();
    const bytes = fakeQcow2(512 * MIB, 1024 * 1024);
    store.putImageBytes('images', 'tiny.qcow2', bytes);
    const net = network();
    const img = image(bytes);
    const instances = Array.from({ length: count }, (_, i) => instance({ name: `vm${i}`, ip: `10.77.1.${10 + (i % 80)}` }, net, img));
    store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [img], instances }));
    const agent = await Agent.create({ host: HOST, zone: 'z', store, connect: async () => fake, dataDir: dir });
    const t0 = performance.now();
    const r = await agent.sync();
    const ms = performance.now() - t0;
    if (r.pass?.failed !== 0) throw new Error(`converge failed: ${JSON.stringify(r.observed.lastError)}`);
    const domains = (await fake.listDomains()).filter((d) => d.state === 'running').length;
    return { ms, domains };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function qemuOne(runs: number): Promise<{ medianMs: number; runsMs: number[] }> {
  const prefix = `rb${randomBytes(3).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-bench-agent-lv-'));
  const admin = await LibvirtHypervisor.open({ uri: 'qemu:///system' });
  try {
    const { bytes, store } = await tinyImageStore(dir);
    const { net } = randomLan('lan');
    const img = image(bytes);
    const agent = await Agent.create({
      host: HOST, zone: 'z', store, dataDir: join(dir, 'data'), namePrefix: prefix, pollIntervalMs: POLL_MS, shutdownTimeoutMs: 1000,
      connect: () => LibvirtHypervisor.open({ uri: 'qemu:///system' }),
    });
    // Warm up: network and image in place (the image is "already cached").
    store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [img] }, 'warm'));
    await agent.sync();
    agent.start();
    const runsMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const vm = instance({ name: `vm${i}` }, net, img, `r${i}`);
      const name = agent.naming.domain(vm.instance.id, vm.instance.name);
      const t0 = performance.now();
      store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [img], instances: [vm] }, `r${i}`));
      for (;;) {
        const d = await admin.getDomain(name).catch(() => undefined);
        if (d?.state === 'running') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      runsMs.push(Math.round(performance.now() - t0));
      store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [img] }, `d${i}`));
      while (await admin.getDomain(name).catch(() => undefined)) await new Promise((r) => setTimeout(r, 100));
    }
    await agent.stop();
    return { medianMs: median(runsMs), runsMs };
  } finally {
    await removeAll(admin, prefix);
    await admin.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, instances: { type: 'string', default: '50' }, 'no-qemu': { type: 'boolean', default: false } } });
  const runs = Number(values.runs);
  const count = Number(values.instances);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await converge(count);
    if (r.domains !== count) throw new Error(`expected ${count} running domains, got ${r.domains}`);
    times.push(Math.round(r.ms));
  }
  const out: Record<string, unknown> = {
    bench: 'agent',
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    converge50: {
      hypervisor: 'fake (test:///default cannot upload volumes: no images, no seeds)',
      instances: count,
      runs: times,
      medianMs: median(times),
    },
  };
  if (!values['no-qemu'] && existsSync(DEFAULT_SOCKET_PATH)) {
    out.qemuOneInstance = { uri: 'qemu:///system', pollIntervalMs: POLL_MS, imageCached: true, includes: 'desired.json written -> domain running', ...(await qemuOne(runs)) };
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();
