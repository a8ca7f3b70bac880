/**
 * Replicator cost and catch-up time on a real three-node TestCluster: writes N small objects,
 * waits for two complete replication passes and reports the last one (a pass with nothing to
 * push: the steady-state cost of comparing every partition with its peers), then kills one node,
 * writes N/4 more, restarts it and measures how long until it holds every object again.
 * Prints JSON.
 *
 *   npx tsc -p . && node dist/bench/objectstore/replication.js [--objects 2000] [--interval-ms 2000]
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { TestCluster } from '../../objectstore/cluster/test-cluster.js';
import { NodeClient } from '../../objectstore/node/node-client.js';
import { RECON_PATHS, type ReplicationRecon } from '../../objectstore/node/recon.js';

const OBJECT_BYTES = 1000;
const WRITERS = 8;

async function objectCount(device: string): Promise<number> {
  let n = 0;
  for (const p of await readdir(join(device, 'objects')).catch(() => [] as string[])) {
    for (const s of await readdir(join(device, 'objects', p)).catch(() => [] as string[])) {
      n += (await readdir(join(device, 'objects', p, s)).catch(() => [] as string[])).length;
    }
  }
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { objects: { type: 'string', default: '2000' }, 'interval-ms': { type: 'string', default: '2000' } } });
  const n = Number(values.objects);
  const intervalMs = Number(values['interval-ms']);
  const c = await TestCluster.start({
    extra: () => ({ replicator: { intervalMs, concurrency: 2 }, auditor: { intervalMs: 3_600_000 } }),
  });
  const client = new NodeClient(c.secret);
  const recon = async (i: number) => JSON.parse((await client.fetchText({
    host: '127.0.0.1', port: c.nodes[i]!.port, method: 'GET', path: RECON_PATHS.replication,
  })).text) as ReplicationRecon;
  const put = async (k: number) => {
    const b = randomBytes(OBJECT_BYTES);
    await c.backend.putObject('acct', 'bench', `o${k}`, { body: Readable.from([b]), contentLength: b.length });
  };
  const writeRange = async (from: number, to: number) => {
    let next = from;
    await Promise.all(Array.from({ length: WRITERS }, async () => {
      while (next < to) await put(next++);
    }));
  };
  try {
    await c.backend.putContainer('acct', 'bench');
    await writeRange(0, n);
    const p0 = (await recon(0)).passes;
    while ((await recon(0)).passes < p0 + 2) await new Promise((r) => setTimeout(r, 250));
    const steady = await recon(0);
    await c.killNode(2);
    const missed = Math.round(n / 4);
    await writeRange(n, n + missed);
    await c.startNode(2);
    const t0 = Date.now();
    while ((await objectCount(c.devicePath(2))) < n + missed) await new Promise((r) => setTimeout(r, 250));
    const catchUp = (Date.now() - t0) / 1000;
    process.stdout.write(`${JSON.stringify({
      objects: n, intervalMs, steadyPassSeconds: steady.lastPassSeconds, partitionsPerPass: steady.partitionsChecked,
      missedObjects: missed, catchUpSecondsAfterRestart: catchUp,
    }, null, 2)}\n`);
  } finally {
    client.close();
    await c.stop();
  }
}

await main();
