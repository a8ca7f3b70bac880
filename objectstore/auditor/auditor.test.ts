/**
 * The auditor and GET verification with real node processes and real files: flipped bytes and
 * a broken footer are found and quarantined, the replicator puts good copies back, and no GET
 * through ReplicatedBackend ever returns a complete wrong body (small objects: good bytes from
 * another replica; large: an error).
 */
import t from 'tap';
import { open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { TestCluster } from '../cluster/test-cluster.js';
import { sdkClient } from '../s3/testing.js';
import { until } from '../../test/support/wait.js';
import { NodeClient } from '../node/node-client.js';
import { RECON_PATHS, type AuditRecon } from '../node/recon.js';
import { QUARANTINE_SUBDIR } from './quarantine.js';
import { ACCOUNT, CONTAINER, dataFileOn, filesOn, flipByte, get, md5, placement, put } from '../replicator/test-helpers.js';

const MiB = 1024 * 1024;

async function quarantinedOn(c: TestCluster, i: number): Promise<string[]> {
  return readdir(join(c.devicePath(i), QUARANTINE_SUBDIR)).catch(() => [] as string[]);
}

/** node i's stored body of `object` (the file without its footer). */
async function storedBody(c: TestCluster, i: number, object: string, size: number): Promise<Buffer | undefined> {
  const f = await dataFileOn(c, i, object);
  return f === undefined ? undefined : (await readFile(f)).subarray(0, size);
}

t.test('GET never serves corrupt bytes', async (t) => {
  // Background workers stay idle here (their first pass comes after an hour).
  const c = await TestCluster.start({ extra: () => ({ replicator: { intervalMs: 3_600_000 }, auditor: { intervalMs: 3_600_000 } }) });
  t.teardown(() => c.stop());
  await c.backend.putContainer(ACCOUNT, CONTAINER);
  const small = randomBytes(100 * 1024);
  const large = randomBytes(3 * MiB);
  await put(c, 'small', small);
  await put(c, 'large', large);
  for (const o of ['small', 'large']) {
    await until(`3 replicas of ${o}`, 15_000, async () =>
      (await Promise.all(placement(c, o).primaries.map((i) => filesOn(c, i, o)))).every((f) => f.length === 1));
  }
  // Two of three replicas corrupt: whichever two the proxy asks first, one is bad.
  const sp = placement(c, 'small').primaries;
  await flipByte(c, sp[0]!, 'small', 10);
  await flipByte(c, sp[1]!, 'small', 50_000);
  const r1 = await get(c, 'small');
  t.error(r1.error);
  t.equal(r1.body && md5(r1.body), md5(small), 'small object: the good replica\'s bytes');
  t.ok((await quarantinedOn(c, sp[0]!)).length + (await quarantinedOn(c, sp[1]!)).length >= 1,
    'the corrupt replica that was read is quarantined');
  const r2 = await get(c, 'small');
  t.equal(r2.body && md5(r2.body), md5(small), `and again (${r2.error?.message ?? 'no error'})`);

  const allQuarantined = async () => (await Promise.all(c.nodes.map((_, i) => quarantinedOn(c, i)))).flat().length;
  const before = await allQuarantined();
  const lp = placement(c, 'large').primaries;
  await flipByte(c, lp[0]!, 'large', 2 * MiB);
  await flipByte(c, lp[1]!, 'large', 100);
  const r3 = await get(c, 'large');
  t.ok(r3.error, `large object from a corrupt replica: an error (${r3.error?.message})`);
  t.notOk(r3.body, 'never a complete body');
  await until('the large replica that was read is quarantined', 15_000, async () => (await allQuarantined()) > before);
  // Once both bad copies are gone (each GET quarantines the one it streamed), the good one serves.
  let good: Buffer | undefined;
  for (let k = 0; k < 4 && !good; k++) {
    const r = await get(c, 'large');
    if (r.body) good = r.body;
    else t.ok(r.error, 'a failed read is an error, not a wrong body');
  }
  t.equal(good && md5(good), md5(large), 'then the good replica serves the large object');
});

t.test('the auditor quarantines damaged files and the replicator restores them', async (t) => {
  const c = await TestCluster.start({
    extra: () => ({
      replicator: { intervalMs: 300 },
      auditor: { intervalMs: 200, filesPerSecond: 1000, bytesPerSecond: 100 * MiB },
    }),
  });
  t.teardown(() => c.stop());
  await c.backend.putContainer(ACCOUNT, CONTAINER);
  const bodies = new Map<string, Buffer>();
  for (let k = 0; k < 8; k++) {
    const b = randomBytes(1000 + k * 5000);
    bodies.set(`o${k}`, b);
    await put(c, `o${k}`, b);
  }
  for (const o of bodies.keys()) {
    await until(`3 replicas of ${o}`, 15_000, async () =>
      (await Promise.all(placement(c, o).primaries.map((i) => filesOn(c, i, o)))).every((f) => f.length === 1));
  }
  // A flipped body byte on three replicas (different objects), and a broken footer on a fourth.
  const damaged: Array<{ object: string; node: number }> = [];
  for (let k = 0; k < 3; k++) {
    const object = `o${k}`;
    const node = placement(c, object).primaries[k % 3]!;
    await flipByte(c, node, object, 500);
    damaged.push({ object, node });
  }
  const o3 = 'o3';
  const n3 = placement(c, o3).primaries[0]!;
  const path3 = (await dataFileOn(c, n3, o3))!;
  const fh = await open(path3, 'r+');
  await fh.truncate((await fh.stat()).size - 3); // the footer's magic is cut
  await fh.close();
  damaged.push({ object: o3, node: n3 });

  await until('every damaged file is quarantined and a good copy is back', 60_000, async () => {
    for (const d of damaged) {
      // Its own hash folder in quarantine: the cut footer leaves the body's bytes as they were,
      // so the check below alone passes before that file was ever found.
      const hash = placement(c, d.object).hash;
      if (!(await quarantinedOn(c, d.node)).some((q) => q.startsWith(hash))) return false;
      const body = bodies.get(d.object)!;
      const stored = await storedBody(c, d.node, d.object, body.length);
      if (!stored || !stored.equals(body)) return false;
    }
    return true;
  }, 200);
  t.pass('quarantined and restored');
  for (const d of damaged) {
    t.ok((await quarantinedOn(c, d.node)).some((q) => q.startsWith(placement(c, d.object).hash)),
      `${d.object} on node ${d.node} is in quarantine`);
  }
  for (const [o, b] of bodies) t.equal(md5((await get(c, o)).body ?? Buffer.alloc(0)), md5(b), `${o} reads back intact`);

  const client = new NodeClient(c.secret);
  t.teardown(() => client.close());
  const audits = await Promise.all(c.nodes.map(async (n) => JSON.parse((await client.fetchText({
    host: '127.0.0.1', port: n.port, method: 'GET', path: RECON_PATHS.audit,
  })).text) as AuditRecon));
  const total = audits.reduce((a, r) => a + r.quarantinedTotal, 0);
  t.ok(total >= damaged.length, `recon counts the quarantines (${total})`);
  t.ok(audits.every((r) => r.passes >= 1 && r.filesChecked > 0 && r.bytesChecked > 0), 'audit passes recorded');
});

t.test('through the real proxy: the S3 SDK and curl see an error, never a complete wrong body', async (t) => {
  const c = await TestCluster.start({ extra: () => ({ replicator: { intervalMs: 3_600_000 }, auditor: { intervalMs: 3_600_000 } }) });
  t.teardown(() => c.stop());
  const proxy = await c.startProxy();
  const s3 = sdkClient(proxy.url, { accessKey: proxy.accessKey, secretKey: proxy.secretKey, account: proxy.account });
  t.teardown(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: CONTAINER }));
  const large = randomBytes(3 * MiB);
  await s3.send(new PutObjectCommand({ Bucket: CONTAINER, Key: 'big', Body: large }));
  const { primaries } = placement(c, 'big');
  await until('3 replicas of big', 15_000, async () =>
    (await Promise.all(primaries.map((i) => filesOn(c, i, 'big')))).every((f) => f.length === 1));
  // Two of three replicas corrupt: each GET streams a corrupt copy (and quarantines it).
  await flipByte(c, primaries[0]!, 'big', MiB);
  await flipByte(c, primaries[1]!, 'big', 2 * MiB);

  const sdkRead = await s3.send(new GetObjectCommand({ Bucket: CONTAINER, Key: 'big' }))
    .then(async (r) => Buffer.from(await r.Body!.transformToByteArray())).catch((e: Error) => e);
  t.ok(sdkRead instanceof Error, `the S3 SDK fails (${(sdkRead as Error).message})`);

  // For curl, every copy still in place is corrupt (the SDK's read quarantined one).
  const out = join(c.dir, 'curl.out');
  await until('the copy the SDK read is quarantined', 15_000, async () =>
    (await Promise.all(c.nodes.map((_, i) => quarantinedOn(c, i)))).flat().length > 0);
  for (const i of primaries) if ((await filesOn(c, i, 'big')).length === 1) await flipByte(c, i, 'big', 3 * MiB - 10);
  const curlGet = (key: string) => new Promise<{ code: number | null; status: string }>((resolve) => {
    const child = execFile('curl', ['-sS', '--fail', '-o', out, '-w', '%{http_code}', '--aws-sigv4', 'aws:amz:us-east-1:s3',
      '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD',
      '--user', `${proxy.accessKey}:${proxy.secretKey}`, `${proxy.url}/${CONTAINER}/${key}`],
    (_e, stdout) => resolve({ code: child.exitCode, status: String(stdout) }));
  });
  const fine = randomBytes(2 * MiB);
  await s3.send(new PutObjectCommand({ Bucket: CONTAINER, Key: 'fine', Body: fine }));
  const ok = await curlGet('fine');
  t.equal(ok.code, 0, `curl reads a good object (HTTP ${ok.status})`);
  t.equal(md5(await readFile(out)), md5(fine), 'with its bytes');
  await rm(out, { force: true });
  const curl = await curlGet('big');
  const got = await readFile(out).catch(() => Buffer.alloc(0));
  // Either the response is cut short (exit 18) or no good copy could start (an HTTP error, exit 22).
  t.ok(curl.code === 18 || curl.code === 22, `curl fails (exit ${curl.code}, HTTP ${curl.status})`);
  t.ok(got.length < large.length, `curl did not get a complete body (${got.length} of ${large.length} bytes)`);
  t.not(got.length === large.length && md5(got) !== md5(large), true, 'never a complete wrong body');
});
