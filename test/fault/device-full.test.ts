/**
 * Fault: one device fills up (a small tmpfs, filled to the last block). Writes whose primary
 * it is go to handoff nodes and are acknowledged, no partial or temp file is left on the full
 * device, and once room returns the replicator moves the data back to it (dispersion complete,
 * handoff copies removed). With root the device is a tmpfs; without, a reserve larger than any
 * disk makes it refuse writes the same way (507) and room returns with a restart without it.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TestCluster } from '../../objectstore/cluster/test-cluster.js';
import { hashPath } from '../../objectstore/ring/hash.js';
import { until } from '../support/wait.js';
import {
  ACCOUNT, md5, namesOf, quickNodes, report, scaled, verifyAll, waitFullDispersion, type Written,
  REPLICATOR_INTERVAL_MS, REPLICATION_SLACK_MS,
} from './support.js';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';

const run = promisify(execFile);
const OBJECTS = scaled(200);
const CONTAINER = 'device-full';
const TMPFS_SIZE = '8m';

/** Every file under `dir`, relative paths. */
async function walk(dir: string, base = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, base), { withFileTypes: true }).catch(() => [])) {
    const rel = join(base, e.name);
    if (e.isDirectory()) out.push(...await walk(dir, rel));
    else out.push(rel);
  }
  return out;
}

t.test('a full device: handoffs, no partial files, data moves back', async (t) => {
  const FULL = 0;
  let mounted = false;
  const cluster = await TestCluster.start({
    nodes: 4,
    extra: () => quickNodes(),
    beforeStart: async (c) => {
      try {
        await run('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'tmpfs', c.devicePath(FULL)]);
        c.mounts.push(c.devicePath(FULL));
        mounted = true;
      } catch {
        await c.setNodeExtra(FULL, quickNodes({ reserveBytes: 2 ** 52 }));
      }
    },
  });
  t.teardown(() => cluster.stop());
  t.comment(`full device: ${mounted ? `tmpfs of ${TMPFS_SIZE}, filled` : 'reserve larger than the disk'}`);
  const b = cluster.backend;
  await b.putContainer(ACCOUNT, CONTAINER);
  // Fill the device to the last block.
  if (mounted) await run('dd', ['if=/dev/zero', `of=${join(cluster.devicePath(FULL), 'filler')}`, 'bs=64k']).catch(() => undefined);
  const fullDevice = cluster.nodes[FULL]!.device;

  const acked: Written[] = [];
  let failed = 0;
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < OBJECTS) {
      const i = next++;
      const body = randomBytes(1 + Math.floor(Math.random() * 64 * 1024));
      const name = `o${String(i).padStart(5, '0')}`;
      try {
        await b.putObject(ACCOUNT, CONTAINER, name, { body: Readable.from([body]), contentLength: body.length });
        acked.push({ name, size: body.length, md5: md5(body) });
      } catch {
        failed++;
      }
    }
  }));
  const onFull = acked.filter((w) => cluster.rings.object.getNodes(ACCOUNT, CONTAINER, w.name).nodes.some((n) => n.device === fullDevice));
  t.comment(`${acked.length} acknowledged, ${failed} failed; ${onFull.length} have the full device as a primary`);
  t.equal(acked.length, OBJECTS, 'every write acknowledged (handoffs took the full device\'s copies)');
  t.ok(onFull.length > 0, 'some objects belong on the full device');
  const leftovers = (await walk(cluster.devicePath(FULL))).filter((f) => f.startsWith('tmp/') || f.startsWith('objects/'))
    .filter((f) => f.startsWith('tmp/') || !/\.(data|ts|meta)$/.test(f) || f.endsWith('.tmp'));
  t.same(leftovers.filter((f) => !f.endsWith('hashes.json') && !f.endsWith('.lock')), [], 'no temp or partial file on the full device');
  const dataOnFull = (await walk(join(cluster.devicePath(FULL), 'objects'))).filter((f) => f.endsWith('.data'));
  t.same(dataOnFull, [], 'no object data on the full device');
  const reads = await verifyAll(b, CONTAINER, acked);
  t.equal(reads.ok, acked.length, `every object readable while the device is full (${JSON.stringify(reads)})`);

  // Room returns: the replicator moves the handoff copies to the device.
  if (mounted) await rm(join(cluster.devicePath(FULL), 'filler'));
  else {
    await cluster.killNode(FULL, 'SIGTERM');
    await cluster.setNodeExtra(FULL, quickNodes());
    await cluster.startNode(FULL);
  }
  const started = Date.now();
  const limit = REPLICATOR_INTERVAL_MS * 2 + REPLICATION_SLACK_MS;
  const { seconds, last } = await waitFullDispersion(cluster, { names: namesOf(CONTAINER, acked) }, limit);
  t.ok(seconds !== null, `every primary holds its copy again (${JSON.stringify(last.missingCopies)})`);
  const hashDir = (w: Written, node: number) => {
    const part = cluster.rings.object.getPart(ACCOUNT, CONTAINER, w.name);
    const hash = hashPath(ACCOUNT, CONTAINER, w.name, cluster.hash).toString('hex');
    return join(cluster.devicePath(node), 'objects', String(part), hash.slice(-3), hash);
  };
  const strays = await until('handoff copies removed', REPLICATION_SLACK_MS, async () => {
    let n = 0;
    for (const w of onFull) {
      const primaries = cluster.rings.object.getNodes(ACCOUNT, CONTAINER, w.name).nodes.map((d) => cluster.nodeOf(d.device));
      for (const node of cluster.nodes.map((x) => x.index).filter((i) => !primaries.includes(i))) {
        if (await stat(hashDir(w, node)).then((s) => s.isDirectory(), () => false)) {
          if ((await readdir(hashDir(w, node))).some((f) => f.endsWith('.data'))) n++;
        }
      }
    }
    return n === 0 ? 0 : false;
  }, 1000).catch(() => -1);
  t.equal(strays, 0, 'no copy left on a handoff node');
  const after = await verifyAll(b, CONTAINER, acked);
  report(t, {
    scenario: 'device-full', attempted: OBJECTS, acknowledged: acked.length, lost: acked.length - Math.min(reads.ok, after.ok),
    corruptServed: reads.corrupt + after.corrupt, secondsToFullReplication: seconds === null ? null : (Date.now() - started) / 1000,
    objectsForFullDevice: onFull.length,
  });
  t.equal(after.ok, acked.length, 'all readable after the move back');
});
