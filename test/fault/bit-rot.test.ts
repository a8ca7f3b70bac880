/**
 * Fault: bytes flipped in 1 % of the stored .data files (inside the body). Every damaged file
 * must be found (its hash folder moved to the device's quarantine): half of them are never
 * read by the client until then, so only the auditor can find those; the other half are read
 * at once (a GET must not serve them). The replicator must put a good copy back (dispersion
 * full, the files' bodies identical to what was written again), and a reader running GETs the
 * whole time must never receive a complete wrong body.
 */
import t from 'tap';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TestCluster } from '../../objectstore/cluster/test-cluster.js';
import { hashPath } from '../../objectstore/ring/hash.js';
import { QUARANTINE_SUBDIR } from '../../objectstore/auditor/quarantine.js';
import { until } from '../support/wait.js';
import { flipByteInFile } from '../../objectstore/replicator/test-helpers.js';
import {
  ACCOUNT, md5, namesOf, quickNodes, readBack, report, scaled, waitFullDispersion, writeMany, type ReadOutcome, type Written,
  REPLICATOR_INTERVAL_MS, REPLICATION_SLACK_MS,
} from './support.js';

const OBJECTS = scaled(400);
const SHARE = 0.01;
const CONTAINER = 'bit-rot';

interface Flipped {
  node: number;
  file: string;
  hash: string;
  written: Written;
}

/** The body bytes (first `size` bytes) of a .data file. */
async function bodyMd5(file: string, size: number): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(size);
    await fh.read(buf, 0, size, 0);
    return md5(buf);
  } finally {
    await fh.close();
  }
}

t.test('flipped bytes in 1 % of the .data files', async (t) => {
  const cluster = await TestCluster.start({ extra: () => quickNodes() });
  t.teardown(() => cluster.stop());
  const b = cluster.backend;
  await b.putContainer(ACCOUNT, CONTAINER);
  const { acked } = await writeMany(b, CONTAINER, OBJECTS, 8);
  t.equal(acked.length, OBJECTS);
  await waitFullDispersion(cluster, { containers: [CONTAINER] }, 60_000);

  // Every stored .data file, then 1 % of them (at least 3) get one body byte flipped.
  const byHash = new Map(acked.map((w) => [hashPath(ACCOUNT, CONTAINER, w.name, cluster.hash).toString('hex'), w]));
  const files: Flipped[] = [];
  for (const [node] of cluster.nodes.entries()) {
    const objects = join(cluster.devicePath(node), 'objects');
    for (const part of await readdir(objects)) {
      for (const suffix of await readdir(join(objects, part)).catch(() => [])) {
        if (suffix === 'hashes.json' || suffix.includes('.')) continue;
        for (const hash of await readdir(join(objects, part, suffix)).catch(() => [])) {
          const w = byHash.get(hash);
          if (!w) continue;
          for (const f of await readdir(join(objects, part, suffix, hash))) {
            if (f.endsWith('.data')) files.push({ node, file: join(objects, part, suffix, hash, f), hash, written: w });
          }
        }
      }
    }
  }
  t.equal(files.length, OBJECTS * 3, 'three .data files per object');
  const count = Math.max(3, Math.round(files.length * SHARE));
  const flipped: Flipped[] = [];
  const usedHashes = new Set<string>();
  while (flipped.length < count) {
    const f = files[Math.floor(Math.random() * files.length)]!;
    // One damaged replica per object, so two good ones remain to serve and repair from.
    if (usedHashes.has(f.hash)) continue;
    usedHashes.add(f.hash);
    flipped.push(f);
  }
  // Half the damaged objects are left to the auditor: the client does not read them until
  // they are quarantined.
  const auditorOnly = new Set(flipped.slice(0, Math.ceil(flipped.length / 2)).map((f) => f.written.name));
  const readByGet = flipped.filter((f) => !auditorOnly.has(f.written.name));
  // The reader: GETs of all (other) objects, round and round, until the repair is done.
  const outcomes: Record<ReadOutcome, number> = { ok: 0, missing: 0, corrupt: 0, error: 0 };
  let reading = true;
  const reader = (async () => {
    for (let i = 0; reading; i++) {
      const w = acked[i % acked.length]!;
      if (!auditorOnly.has(w.name)) outcomes[await readBack(b, CONTAINER, w)]++;
    }
  })();
  // The other damaged objects are read at once, so GETs meet damaged replicas right away.
  const flippedReads = (async () => {
    for (let k = 0; k < 3; k++) for (const f of readByGet) outcomes[await readBack(b, CONTAINER, f.written)]++;
  })();
  for (const f of flipped) {
    await flipByteInFile(f.file, Math.floor(Math.random() * f.written.size));
  }
  t.comment(`flipped one byte in ${flipped.length} of ${files.length} .data files`);
  const started = Date.now();

  // Found: each damaged hash folder is in its device's quarantine.
  const quarantined = async (f: Flipped) => (await readdir(join(cluster.devicePath(f.node), QUARANTINE_SUBDIR))
    .catch(() => [] as string[])).some((d) => d.startsWith(`${f.hash}-`));
  const found = await until('every damaged file quarantined', 120_000, async () => {
    for (const f of flipped) if (!(await quarantined(f))) return false;
    return true;
  }, 500).catch(() => false);
  const byAuditor = flipped.filter((f) => auditorOnly.has(f.written.name));
  const missed = [];
  for (const f of byAuditor) if (!(await quarantined(f))) missed.push(f.file);
  t.same(missed, [], `the auditor found the ${byAuditor.length} damaged files no client read`);
  t.ok(found, 'every damaged file quarantined (auditor or a verifying GET)');
  // Now the client reads the auditor's half too.
  auditorOnly.clear();

  // Repaired: full dispersion and the files' bodies are what was written.
  const limit = REPLICATOR_INTERVAL_MS + REPLICATION_SLACK_MS;
  const { seconds, last } = await waitFullDispersion(cluster, { names: namesOf(CONTAINER, acked) }, limit);
  t.ok(seconds !== null, `full dispersion again (${JSON.stringify(last.missingCopies)})`);
  const identical = await until('repaired files identical', 60_000, async () => {
    for (const f of flipped) {
      const dir = f.file.slice(0, f.file.lastIndexOf('/'));
      const data = (await readdir(dir)).find((x) => x.endsWith('.data'));
      if (!data || (await bodyMd5(join(dir, data), f.written.size)) !== f.written.md5) return false;
      await stat(join(dir, data));
    }
    return true;
  }, 500).catch(() => false);
  t.ok(identical, 'every repaired .data file holds the written bytes again');
  const secondsToRepair = (Date.now() - started) / 1000;
  reading = false;
  await Promise.all([reader, flippedReads]);
  t.comment(`reads while damaged and during repair: ${JSON.stringify(outcomes)}`);
  report(t, {
    scenario: 'bit-rot-1-percent', attempted: OBJECTS, acknowledged: acked.length, lost: outcomes.missing,
    corruptServed: outcomes.corrupt, secondsToFullReplication: secondsToRepair, damagedFiles: flipped.length,
    readsDuringRepair: outcomes,
  });
  t.equal(outcomes.corrupt, 0, 'no GET returned a complete wrong body');
  t.equal(outcomes.missing, 0, 'no GET found an object missing');
});
