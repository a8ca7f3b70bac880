import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListBucketsCommand } from '@aws-sdk/client-s3';
import { main } from '../cli.js';
import { startS3Server, sdkClient, ROOT } from '../../objectstore/s3/testing.js';

async function run(args: string[], env: Record<string, string | undefined> = {}) {
  let out = '';
  let err = '';
  const saved = { ...process.env };
  for (const k of ['RINGSTACK_ENDPOINT', 'RINGSTACK_ACCESS_KEY', 'RINGSTACK_SECRET_KEY', 'RINGSTACK_DATA_DIR']) delete process.env[k];
  Object.assign(process.env, env);
  try {
    const code = await main(['user', ...args], { out: (s) => { out += s; }, err: (s) => { err += s; } });
    return { code, out, err };
  } finally {
    process.env = saved;
  }
}

t.test('ringstack user add, list, rotate-key, remove against a running S3 front end', async (t) => {
  const srv = await startS3Server({ users: [ROOT] });
  t.teardown(() => srv.close());
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-user-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'credentials.json'), JSON.stringify(ROOT));
  const flags = ['--endpoint', srv.url, '--data-dir', dir];

  const added = await run(['add', 'alice', ...flags, '--json']);
  t.equal(added.code, 0, added.err);
  const alice = JSON.parse(added.out) as { accessKey: string; secretKey: string; account: string };
  t.equal(alice.account, 'alice');
  const s3 = sdkClient(srv.url, { ...alice });
  t.teardown(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: 'alice-bucket' }));
  t.same((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), ['alice-bucket'], 'the new user works at once');
  const root = sdkClient(srv.url, ROOT);
  t.teardown(() => root.destroy());
  t.notOk((await root.send(new ListBucketsCommand({}))).Buckets?.length, 'root does not see alice\'s buckets');

  const text = await run(['add', 'bob', '--access-key', 'BOBKEY', ...flags]);
  t.equal(text.code, 0);
  t.match(text.out, /^access key: BOBKEY\nsecret key: \S+\naccount:    bob\n$/);
  const dup = await run(['add', 'bob', '--access-key', 'BOBKEY', ...flags]);
  t.equal(dup.code, 1);
  t.match(dup.err, /^ringstack user: InvalidArgument: access key BOBKEY exists\n$/);

  const list = await run(['list', ...flags], { RINGSTACK_ENDPOINT: undefined });
  t.equal(list.code, 0);
  t.match(list.out, /ROOTACCESSKEY\troot\t\(root\)/);
  t.match(list.out, new RegExp(`${alice.accessKey}\talice`));
  t.match(list.out, /BOBKEY\tbob/);

  // Credentials from the environment instead of the data dir.
  const viaEnv = await run(['rotate-key', alice.accessKey, '--json'], { RINGSTACK_ENDPOINT: srv.url, RINGSTACK_ACCESS_KEY: ROOT.accessKey, RINGSTACK_SECRET_KEY: ROOT.secretKey });
  t.equal(viaEnv.code, 0, viaEnv.err);
  const rotated = JSON.parse(viaEnv.out) as { secretKey: string };
  t.not(rotated.secretKey, alice.secretKey);
  await t.rejects(s3.send(new ListBucketsCommand({})), { name: 'SignatureDoesNotMatch' }, 'the old secret stops working');
  const s3b = sdkClient(srv.url, { ...alice, secretKey: rotated.secretKey });
  t.teardown(() => s3b.destroy());
  t.same((await s3b.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), ['alice-bucket']);

  // Only root may manage users.
  const denied = await run(['list', '--endpoint', srv.url], { RINGSTACK_ACCESS_KEY: alice.accessKey, RINGSTACK_SECRET_KEY: rotated.secretKey });
  t.equal(denied.code, 1);
  t.match(denied.err, /AccessDenied: Only the root user may manage users/);

  const removed = await run(['remove', alice.accessKey, ...flags]);
  t.equal(removed.code, 0);
  await t.rejects(s3b.send(new ListBucketsCommand({})), { name: 'InvalidAccessKeyId' });
  const again = await run(['remove', alice.accessKey, ...flags]);
  t.equal(again.code, 1);
  t.equal((await run(['remove', ROOT.accessKey, ...flags])).code, 1, 'the root user cannot be removed');
});

t.test('usage and connection errors', async (t) => {
  t.equal((await run(['--help'])).code, 0);
  for (const args of [[], ['frobnicate'], ['add'], ['remove'], ['list', 'extra'], ['remove', 'k', '--access-key', 'x'], ['list', '--bogus']]) {
    const r = await run(args);
    t.equal(r.code, 2, `${args.join(' ')} is a usage error`);
    t.match(r.err, /^ringstack user: .+\n/);
  }
  const noCreds = await run(['list', '--endpoint', 'http://127.0.0.1:1']);
  t.equal(noCreds.code, 1);
  t.match(noCreds.err, /no root credentials/);
  const down = await run(['list', '--endpoint', 'http://127.0.0.1:1'], { RINGSTACK_ACCESS_KEY: 'a', RINGSTACK_SECRET_KEY: 'b' });
  t.equal(down.code, 1);
  t.match(down.err, /cannot reach the object store at http:\/\/127.0.0.1:1/);
  const missingFile = await run(['list', '--data-dir', '/nonexistent-dir']);
  t.match(missingFile.err, /cannot read root credentials from \/nonexistent-dir\/credentials.json/);
});
