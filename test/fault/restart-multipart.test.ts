/**
 * Fault: every process (the proxy and all storage nodes) killed with -9 in the middle of S3
 * multipart uploads and of a stream of small writes, through the real proxy process and the
 * AWS SDK. After the restart, each upload can be completed (its parts re-sent as needed) or
 * aborted cleanly, every acknowledged write is readable, and once the updater has run the
 * listings name exactly the objects that exist, with matching container stats on every replica.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand,
  GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand,
  PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { TestCluster } from '../../objectstore/cluster/test-cluster.js';
import { sdkClient } from '../../objectstore/s3/testing.js';
import { decodeJsonHeader, H_METADATA, nodePath } from '../../objectstore/node/protocol.js';
import { until } from '../support/wait.js';
import { ACCOUNT, md5, quickNodes, replicaListings, report, scaled } from './support.js';

const BUCKET = 'multipart-restart';
const UPLOADS = 4;
const PART = 5 * 1024 * 1024;
const PARTS = 3;
const SMALL_WRITES = scaled(300);
const SMALL_WRITERS = 8;

interface Upload {
  key: string;
  id: string;
  parts: Buffer[];
}

async function allListed(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    keys.push(...(r.Contents ?? []).map((c) => c.Key!));
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

async function exists(s3: S3Client, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch (e) {
    if ((e as { name?: string }).name === 'NotFound') return false;
    throw e;
  }
}

t.test('kill -9 of every process during multipart uploads and writes', async (t) => {
  const cluster = await TestCluster.start({ extra: () => quickNodes() });
  t.teardown(() => cluster.stop());
  let proxy = await cluster.startProxy();
  const user = { accessKey: proxy.accessKey, secretKey: proxy.secretKey, account: proxy.account };
  let s3 = sdkClient(proxy.url, user);
  t.teardown(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));

  const uploads: Upload[] = [];
  for (let u = 0; u < UPLOADS; u++) {
    const key = `big/${u}`;
    const id = (await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }))).UploadId!;
    const parts = Array.from({ length: PARTS }, (_, p) => randomBytes(p === PARTS - 1 ? 1000 + u : PART));
    uploads.push({ key, id, parts });
    await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 1, Body: parts[0] }));
  }
  // Part 2 of every upload and a stream of small writes are in flight when everything dies.
  const acked = new Map<string, string>();
  const attempted: string[] = [];
  let stop = false;
  let nextSmall = 0;
  const smallWriter = Promise.all(Array.from({ length: SMALL_WRITERS }, async () => {
    while (nextSmall < SMALL_WRITES && !stop) {
      const key = `small/${String(nextSmall++).padStart(5, '0')}`;
      const body = randomBytes(1 + Math.floor(Math.random() * 32 * 1024));
      attempted.push(key);
      try {
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
        acked.set(key, md5(body));
      } catch {
        stop = true;
      }
    }
  }));
  // And listings, one after another.
  const lister = (async () => {
    while (!stop) await allListed(s3, BUCKET).catch(() => undefined);
  })();
  const partTwo = Promise.allSettled(uploads.map((u) => s3.send(new UploadPartCommand({
    Bucket: BUCKET, Key: u.key, UploadId: u.id, PartNumber: 2, Body: u.parts[1],
  }))));
  await until('some small writes done', 60_000, () => acked.size >= Math.min(60, SMALL_WRITES / 2) || stop);
  await Promise.all([cluster.killProxy(), ...cluster.nodes.map((n) => cluster.killNode(n.index))]);
  stop = true;
  await Promise.all([smallWriter, partTwo, lister]);
  t.comment(`killed everything after ${acked.size} acknowledged small writes (${attempted.length} attempted)`);

  await Promise.all(cluster.nodes.map((n) => cluster.startNode(n.index)));
  proxy = await cluster.startProxy();
  s3.destroy();
  s3 = sdkClient(proxy.url, user);

  // Uploads 0 .. UPLOADS-2 are completed, re-sending what is missing; the last one is aborted.
  const completed: Upload[] = [];
  for (const u of uploads.slice(0, -1)) {
    const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: u.key, UploadId: u.id }));
    const have = new Map((listed.Parts ?? []).map((p) => [p.PartNumber!, p.ETag!]));
    t.equal(have.get(1), `"${md5(u.parts[0]!)}"`, `${u.key}: part 1 survived the restart`);
    const etags: string[] = [];
    for (let p = 1; p <= PARTS; p++) {
      const want = `"${md5(u.parts[p - 1]!)}"`;
      if (have.get(p) !== want) {
        await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: u.key, UploadId: u.id, PartNumber: p, Body: u.parts[p - 1] }));
      }
      etags.push(want);
    }
    await s3.send(new CompleteMultipartUploadCommand({
      Bucket: BUCKET, Key: u.key, UploadId: u.id,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }));
    completed.push(u);
  }
  const aborted = uploads[uploads.length - 1]!;
  await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: aborted.key, UploadId: aborted.id }));
  t.same((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? [], [], 'no upload left open');

  let corrupt = 0;
  let lost = 0;
  for (const u of completed) {
    const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: u.key }))).Body!.transformToByteArray());
    if (md5(got) !== md5(Buffer.concat(u.parts))) corrupt++;
  }
  t.equal(corrupt, 0, 'completed uploads read back byte for byte');
  t.notOk(await exists(s3, aborted.key), 'the aborted upload left no object');
  for (const [key, sum] of acked) {
    try {
      const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
      if (md5(got) !== sum) corrupt++;
    } catch {
      lost++;
    }
  }
  t.equal(lost, 0, 'every acknowledged small write readable');
  t.equal(corrupt, 0, 'no corrupt body');

  // Listings: every container replica must name every acknowledged object and nothing that
  // does not exist, with an object count equal to its rows. Unacknowledged writes that landed
  // on some node exist too; a replica that no object node holding them named them to learns of
  // them from another container replica (the container replicator).
  const candidates = [...attempted, ...uploads.map((u) => u.key)];
  const existing: string[] = [];
  for (const k of candidates) if (await exists(s3, k)) existing.push(k);
  const ackedKeys = new Set([...acked.keys(), ...completed.map((u) => u.key)]);
  const started = Date.now();
  const diff = (l: Set<string>) => ({
    missingAcked: existing.filter((k) => ackedKeys.has(k) && !l.has(k)),
    missingUnacked: existing.filter((k) => !ackedKeys.has(k) && !l.has(k)),
    extra: [...l].filter((k) => !existing.includes(k)),
  });
  const settled = async () => (await replicaListings(cluster, BUCKET)).map(diff);
  let diffs = await settled();
  for (let i = 0; i < 60 && diffs.some((d) => d.missingAcked.length + d.missingUnacked.length + d.extra.length > 0); i++) {
    await new Promise((r) => setTimeout(r, 1000));
    diffs = await settled();
  }
  t.comment(`container replicas vs objects: ${JSON.stringify(diffs)}`);
  t.same(diffs.map((d) => d.missingAcked), [[], [], []], 'every container replica lists every acknowledged object');
  t.same(diffs.map((d) => d.extra), [[], [], []], 'no container replica lists an object that does not exist');
  const unlistedUnacked = diffs.reduce((n, d) => n + d.missingUnacked.length, 0);
  t.equal(unlistedUnacked, 0, 'unacknowledged objects that exist are listed by every replica');
  const proxyListing = await allListed(s3, BUCKET);
  t.same(proxyListing.filter((k) => !existing.includes(k)), [], 'the S3 listing names no object that does not exist');
  t.same([...ackedKeys].filter((k) => !proxyListing.includes(k)), [], 'the S3 listing names every acknowledged object');
  const { part, nodes } = cluster.rings.container.getNodes(ACCOUNT, BUCKET);
  const lists = await replicaListings(cluster, BUCKET);
  const counts = await Promise.all(nodes.map(async (n) => {
    const r = await cluster.backend.client.request({ host: n.ip, port: n.port, method: 'HEAD', path: nodePath('cont', n.device, part, ACCOUNT, BUCKET) });
    r.body.resume();
    return decodeJsonHeader<{ objectCount: number }>(r.headers[H_METADATA] as string, 'm')?.objectCount;
  }));
  t.same(counts, lists.map((l) => l.size), 'each container replica\'s object count equals its rows');
  report(t, {
    scenario: 'restart-all-during-multipart', attempted: attempted.length + UPLOADS, acknowledged: acked.size + completed.length,
    lost, corruptServed: corrupt, secondsToFullReplication: (Date.now() - started) / 1000, unlistedUnackedCopies: unlistedUnacked,
    uploadsCompleted: completed.length, uploadsAborted: 1, listedObjects: existing.length,
  });
});
