/**
 * The container replicator with real storage-node processes (TestCluster, from dist/: run
 * `npx tsc -p .` first): a container replica that was down while rows and metadata were written
 * gets them from its peers after it restarts, tombstones included; after a rebalance that moves
 * container partitions, the new primaries list every object and the former holders drop their
 * copy.
 */
import t from 'tap';
import { Readable } from 'node:stream';
import { TestCluster } from '../cluster/test-cluster.js';
import { until } from '../../test/support/wait.js';
import {
  decodeJsonHeader, encodeJsonHeader, H_METADATA, H_ROW, nodePath, TimestampClock,
} from '../node/protocol.js';
import type { ObjectRow } from '../node/container-db.js';
import type { ListPage, ObjectEntry } from '../proxy/backend.js';
import type { RingDevice } from '../ring/ring.js';

const ACCOUNT = 'acct';
/** Container replicator (and object replicator) pass interval in these clusters. */
const INTERVAL_MS = 1_000;
const WAIT_MS = 60_000;
const extra = () => ({ ringWatchMs: 300, replicator: { intervalMs: INTERVAL_MS, concurrency: 2 } });

/** Names (and content types) a container replica lists, read from that node directly. */
async function replicaListing(c: TestCluster, dev: RingDevice, part: number, container: string): Promise<Map<string, string>> {
  const r = await c.backend.client.fetchText({
    host: dev.ip, port: dev.port, method: 'GET', path: nodePath('cont', dev.device, part, ACCOUNT, container),
  });
  if (r.status !== 200) throw new Error(`listing on ${dev.device} got ${r.status}`);
  const page = JSON.parse(r.text) as ListPage<ObjectEntry>;
  return new Map(page.entries.map((e) => [(e as ObjectEntry).name, (e as ObjectEntry).contentType]));
}

async function headReplica(c: TestCluster, dev: RingDevice, part: number, container: string) {
  const r = await c.backend.client.request({
    host: dev.ip, port: dev.port, method: 'HEAD', path: nodePath('cont', dev.device, part, ACCOUNT, container),
  });
  r.body.resume();
  const info = decodeJsonHeader<{ objectCount: number; meta: Record<string, string> }>(r.headers[H_METADATA] as string | undefined, 'm');
  return { status: r.status, info };
}

t.test('a container replica that was down gets the rows, metadata and deletion it missed', async (t) => {
  const cluster = await TestCluster.start({ extra });
  t.teardown(() => cluster.stop());
  const C = 'missed';
  await cluster.backend.putContainer(ACCOUNT, C);
  const { part, nodes } = cluster.rings.container.getNodes(ACCOUNT, C);
  const clock = new TimestampClock();
  const sendRow = async (dev: RingDevice, name: string, row: ObjectRow) => {
    const r = await cluster.backend.client.fetchText({
      host: dev.ip, port: dev.port, method: row.deleted ? 'DELETE' : 'PUT', timestamp: row.ts,
      path: nodePath('cont', dev.device, part, ACCOUNT, C, name), headers: { [H_ROW]: encodeJsonHeader(row) },
    });
    // 202: the replica had the row already; the container replicator (a pass every second) may
    // have pushed it from a replica the test wrote first.
    t.ok(r.status === 201 || r.status === 202, `row ${name} stored on ${dev.device}${r.status < 300 ? '' : `: ${r.status} ${r.text.trim()}`}`);
  };
  // A row every replica has; it is deleted while one replica is down.
  const gone: ObjectRow = { ts: clock.next(), size: 5, etag: 'e0', contentType: 'text/plain' };
  for (const n of nodes) await sendRow(n, 'gone', gone);
  // Three nodes, three replicas: every node holds every container.
  const DOOMED = 'doomed';
  await cluster.backend.putContainer(ACCOUNT, DOOMED);
  const doomedPart = cluster.rings.container.getNodes(ACCOUNT, DOOMED).part;
  const down = nodes[2]!;
  await cluster.killNode(cluster.nodeOf(down.device));
  await cluster.backend.deleteContainer(ACCOUNT, DOOMED);
  const up = nodes.slice(0, 2);
  const names = Array.from({ length: 300 }, (_, i) => `obj/${String(i).padStart(4, '0')}`);
  const deleted: ObjectRow = { ts: clock.next(), size: 0, etag: '', contentType: '', deleted: true };
  for (const n of up) await sendRow(n, 'gone', deleted);
  for (const name of names) {
    const row: ObjectRow = { ts: clock.next(), size: 10, etag: `e-${name}`, contentType: 'text/x-replicated' };
    await Promise.all(up.map((n) => sendRow(n, name, row)));
  }
  await cluster.backend.postContainer(ACCOUNT, C, { color: 'blue' });

  await cluster.startNode(cluster.nodeOf(down.device));
  const restarted = Date.now();
  const listed = await until('the restarted replica lists every row', WAIT_MS, async () => {
    const l = await replicaListing(cluster, down, part, C);
    return l.size === names.length && !l.has('gone') ? l : false;
  }, 250);
  t.comment(`${names.length} rows on the restarted replica ${((Date.now() - restarted) / 1000).toFixed(1)} s after its start (pass interval ${INTERVAL_MS} ms)`);
  t.same([...listed.keys()], names, 'every object row, in order, and not the deleted one');
  t.ok([...listed.values()].every((ct) => ct === 'text/x-replicated'), 'content types carried');
  const head = await until('metadata replicated', WAIT_MS, async () => {
    const h = await headReplica(cluster, down, part, C);
    return h.info?.meta.color === 'blue' ? h : false;
  }, 250);
  t.equal(head.info?.objectCount, names.length, 'its object count matches its rows');
  await until('the deletion reached the restarted replica', WAIT_MS, async () =>
    (await headReplica(cluster, down, doomedPart, DOOMED)).status === 404, 250);
  t.pass('a container deleted while the replica was down is deleted there too');
  // The replicas that had everything still list the same.
  for (const n of up) t.equal((await replicaListing(cluster, n, part, C)).size, names.length, `${n.device} unchanged`);
});

t.test('after a rebalance the new primaries list every object and the old holders drop theirs', async (t) => {
  const cluster = await TestCluster.start({ extra });
  t.teardown(() => cluster.stop());
  const containers = Array.from({ length: 12 }, (_, i) => `moving${i}`);
  const objects = ['a', 'b/c', 'd'];
  for (const C of containers) {
    await cluster.backend.putContainer(ACCOUNT, C);
    for (const o of objects) {
      const body = Buffer.from(`${C}/${o}`);
      await cluster.backend.putObject(ACCOUNT, C, o, { body: Readable.from([body]), contentLength: body.length, contentType: 'text/plain' });
    }
  }
  const before = new Map(containers.map((C) => [C, cluster.rings.container.getNodes(ACCOUNT, C).nodes]));
  await cluster.addNode(extra());
  await cluster.rebalance();
  const moved = containers.flatMap((C) => {
    const { part, nodes } = cluster.rings.container.getNodes(ACCOUNT, C);
    const now = new Set(nodes.map((n) => n.device));
    const added = nodes.filter((n) => !before.get(C)!.some((o) => o.device === n.device));
    const former = before.get(C)!.filter((o) => !now.has(o.device));
    return added.length > 0 ? [{ C, part, added, former }] : [];
  });
  t.ok(moved.length > 0, `some container partitions moved (${moved.length} of ${containers.length})`);
  for (const m of moved) {
    for (const dev of m.added) {
      const l = await until(`${m.C} listed on new primary ${dev.device}`, WAIT_MS, async () => {
        const l = await replicaListing(cluster, dev, m.part, m.C).catch(() => undefined);
        return l && l.size === objects.length ? l : false;
      }, 250);
      t.same([...l.keys()].sort(), [...objects].sort(), `${m.C}: new primary ${dev.device} lists every object`);
    }
    for (const dev of m.former) {
      const status = await until(`${m.C} dropped from ${dev.device}`, WAIT_MS, async () => {
        const h = await headReplica(cluster, dev, m.part, m.C);
        return h.status === 404 ? h.status : false;
      }, 250);
      t.equal(status, 404, `${m.C}: former primary ${dev.device} no longer has the container`);
    }
  }
  for (const C of containers) {
    const page = await cluster.backend.listObjects(ACCOUNT, C);
    t.same(page.entries.map((e) => (e as ObjectEntry).name).sort(), [...objects].sort(), `${C} listed in full through the backend`);
  }
});
