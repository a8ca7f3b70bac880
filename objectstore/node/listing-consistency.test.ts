/**
 * Container stats and listings on a real 3-node cluster stay equal to the objects under
 * concurrent deletes (also of the same names), and the container can be deleted right after.
 */
import t from 'tap';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand,
} from '@aws-sdk/client-s3';
import { TestCluster } from '../cluster/test-cluster.js';
import { decodeJsonHeader, H_METADATA, nodePath } from './protocol.js';
import { startS3Server, sdkClient, ROOT } from '../s3/testing.js';
import { StoreUserDirectory } from '../auth/store-user-directory.js';
import { until } from '../../test/support/wait.js';

const OBJECTS = 60;
const DELETES_PER_NAME = 3;

/** Object count and bytes of the container as each of its replicas holds them. */
async function replicaStats(c: TestCluster, a: string, ct: string): Promise<Array<{ objectCount: number; bytesUsed: number } | number>> {
  const { part, nodes } = c.rings.container.getNodes(a, ct);
  return Promise.all(nodes.map(async (n) => {
    const r = await c.backend.client.request({ host: n.ip, port: n.port, method: 'HEAD', path: nodePath('cont', n.device, part, a, ct) });
    r.body.resume();
    if (r.status !== 204) return r.status;
    const i = decodeJsonHeader<{ objectCount: number; bytesUsed: number }>(r.headers[H_METADATA] as string, 'm')!;
    return { objectCount: i.objectCount, bytesUsed: i.bytesUsed };
  }));
}

t.test('concurrent deletes leave every container replica at zero', async (t) => {
  const cluster = await TestCluster.start();
  t.teardown(() => cluster.stop());
  const b = cluster.backend;
  await b.putContainer('acct', 'bucket');
  await Promise.all(Array.from({ length: OBJECTS }, async (_, i) => {
    const body = Buffer.alloc(10 + i, 1);
    await b.putObject('acct', 'bucket', `o${i}`, { body: Readable.from([body]), contentLength: body.length });
  }));
  const total = Array.from({ length: OBJECTS }, (_, i) => 10 + i).reduce((s, x) => s + x, 0);
  t.same(await replicaStats(cluster, 'acct', 'bucket'), Array(3).fill({ objectCount: OBJECTS, bytesUsed: total }), 'after the writes');
  // Every name deleted several times at once, all names at once.
  await Promise.all(Array.from({ length: OBJECTS * DELETES_PER_NAME }, async (_, k) => {
    await b.deleteObject('acct', 'bucket', `o${k % OBJECTS}`).catch(() => undefined);
  }));
  const page = await b.listObjects('acct', 'bucket');
  t.same(page.entries, [], 'listing empty');
  t.same(await replicaStats(cluster, 'acct', 'bucket'), Array(3).fill({ objectCount: 0, bytesUsed: 0 }), 'every replica at zero right after the deletes');
  // The account hears of the new totals from the container nodes' roll-up (every second).
  const acct = await until('account totals at zero', 30_000, async () => {
    const a = await b.headAccount('acct');
    return a.objectCount === 0 && a.bytesUsed === 0 ? a : undefined;
  });
  t.equal(acct.containerCount, 1);
  await b.deleteContainer('acct', 'bucket');
  t.pass('container deleted right away');
});

t.test('S3 DeleteObjects with repeated keys, twice at once, then DeleteBucket at once', async (t) => {
  const cluster = await TestCluster.start();
  t.teardown(() => cluster.stop());
  const directory = new StoreUserDirectory(cluster.backend, { staticUsers: [ROOT] });
  const srv = await startS3Server({ backend: cluster.backend, directory });
  t.teardown(() => srv.close());
  const s3 = sdkClient(srv.url, ROOT);
  t.teardown(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: 'many' }));
  const keys = Array.from({ length: OBJECTS }, (_, i) => `k${i}`);
  await Promise.all(keys.map((Key) => s3.send(new PutObjectCommand({ Bucket: 'many', Key, Body: Key }))));
  const del = () => s3.send(new DeleteObjectsCommand({
    Bucket: 'many', Delete: { Objects: [...keys, ...keys].map((Key) => ({ Key })), Quiet: true },
  }));
  const answers = await Promise.all([del(), del()]);
  t.same(answers.map((a) => a.Errors ?? []), [[], []], 'every key deleted');
  t.notOk((await s3.send(new ListObjectsV2Command({ Bucket: 'many' }))).Contents?.length, 'listing empty');
  await s3.send(new DeleteBucketCommand({ Bucket: 'many' }));
  t.pass('bucket deleted right after the deletes');
});
