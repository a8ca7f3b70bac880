/** StateClientAgentStore against a real S3 front end (in-memory backend): keys, 304s, canonical JSON, image streams. */
import t from 'tap';
import { startS3Server, ROOT } from '../../objectstore/s3/testing.js';
import { StateClient } from '../../objectstore/client/state-client.js';
import { canonicalJson } from '../contract/canonical-json.js';
import { StateClientAgentStore } from './store.js';
import { hostDesired } from './test-fixtures.js';

t.test('desired with If-None-Match, observed/info/events written, images streamed from another bucket', async (t) => {
  const server = await startS3Server();
  t.teardown(() => server.close());
  const opts = { endpoint: server.url, accessKeyId: ROOT.accessKey, secretAccessKey: ROOT.secretKey };
  const state = new StateClient({ ...opts, bucket: 'ringstack-state' });
  const images = new StateClient({ ...opts, bucket: 'images' });
  t.teardown(() => { state.close(); images.close(); });
  await state.ensureBucket();
  await images.ensureBucket();
  const store = new StateClientAgentStore({ ...opts, bucket: 'ringstack-state' });
  t.teardown(() => store.close());

  t.same(await store.getDesired('hv1'), { status: 'missing' });
  const doc = hostDesired('hv1', {});
  await state.putJson('state/hosts/hv1/desired.json', canonicalJson(doc));
  const first = await store.getDesired('hv1');
  t.equal(first.status, 'ok');
  if (first.status !== 'ok') return;
  t.same(first.value, doc);
  t.equal((await store.getDesired('hv1', first.etag)).status, 'not-modified');

  await store.putInfo('hv1', { formatVersion: 1, kind: 'HostInfo', host: 'hv1', zone: 'z', vcpus: 2, memoryMiB: 1024, diskGiB: 10 });
  const info = await state.getJson<{ vcpus: number }>('state/hosts/hv1/info.json');
  t.equal(info.status === 'ok' && info.value.vcpus, 2);

  const bytes = Buffer.alloc(300_000, 7);
  await images.putStream('tiny.qcow2', bytes);
  const img = await store.getImage('images', 'tiny.qcow2');
  t.equal(img?.size, bytes.length);
  const chunks: Buffer[] = [];
  for await (const c of img!.body) chunks.push(Buffer.from(c));
  t.ok(Buffer.concat(chunks).equals(bytes), 'same bytes');
  t.equal(await store.getImage('images', 'nope'), undefined);
});
