/**
 * Container replicator catch-up on a real three-node TestCluster: kills one node, writes N
 * listing rows into one container on the two others (over `POST /rows`, as object nodes do),
 * restarts it and measures how long until its replica lists every row (the peers push the
 * container whole, see objectstore/container-replicator). Prints JSON.
 *
 *   npx tsc -p . && node dist/bench/objectstore/container-replication.js [--rows 20000] [--interval-ms 2000]
 */
import { parseArgs } from 'node:util';
import { TestCluster } from '../../objectstore/cluster/test-cluster.js';
import { NodeClient } from '../../objectstore/node/node-client.js';
import { decodeJsonHeader, formatTimestamp, H_METADATA, nodePath, TimestampClock } from '../../objectstore/node/protocol.js';
import { MAX_ROWS_PER_BATCH, ROWS_PATH, type WireRow } from '../../objectstore/node/row-batch.js';

const ACCOUNT = 'bench';
const CONTAINER = 'rows';
const POLL_MS = 200;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '20000' }, 'interval-ms': { type: 'string', default: '2000' } } });
  const n = Number(values.rows);
  const intervalMs = Number(values['interval-ms']);
  const c = await TestCluster.start({
    extra: () => ({ replicator: { intervalMs, concurrency: 2 }, auditor: { intervalMs: 3_600_000 } }),
  });
  const client = new NodeClient(c.secret);
  try {
    await c.backend.putContainer(ACCOUNT, CONTAINER);
    const { part, nodes } = c.rings.container.getNodes(ACCOUNT, CONTAINER);
    const down = nodes[2]!;
    await c.killNode(c.nodeOf(down.device));
    const clock = new TimestampClock();
    const written = Date.now();
    for (let i = 0; i < n; i += MAX_ROWS_PER_BATCH) {
      const count = Math.min(MAX_ROWS_PER_BATCH, n - i);
      const rows = Array.from({ length: count }, (_, j) => ({
        object: `obj${String(i + j).padStart(8, '0')}`, row: { ts: clock.next(), size: 1000, etag: 'e', contentType: 'text/plain' },
      }));
      await Promise.all(nodes.slice(0, 2).map(async (d) => {
        const wire: WireRow[] = rows.map((r) => ({ device: d.device, part, account: ACCOUNT, container: CONTAINER, ...r }));
        const res = await client.fetchText({
          host: d.ip, port: d.port, method: 'POST', path: ROWS_PATH, timestamp: formatTimestamp(Date.now()),
          headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows: wire }),
        });
        if (res.status !== 200) throw new Error(`rows got ${res.status}`);
      }));
    }
    const writeSeconds = (Date.now() - written) / 1000;
    await c.startNode(c.nodeOf(down.device));
    const started = Date.now();
    for (;;) {
      const r = await client.request({
        host: down.ip, port: down.port, method: 'HEAD', path: nodePath('cont', down.device, part, ACCOUNT, CONTAINER),
      }).catch(() => undefined);
      r?.body.resume();
      const count = decodeJsonHeader<{ objectCount: number }>(r?.headers[H_METADATA] as string | undefined, 'm')?.objectCount;
      if (count === n) break;
      await new Promise((res) => setTimeout(res, POLL_MS));
    }
    const catchUpSeconds = (Date.now() - started) / 1000;
    console.log(JSON.stringify({ rows: n, intervalMs, writeSeconds, catchUpSeconds, rowsPerSecond: Math.round(n / catchUpSeconds) }));
  } finally {
    client.close();
    await c.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
