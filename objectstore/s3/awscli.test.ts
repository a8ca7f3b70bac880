/**
 * The S3 front end driven by Debian's awscli (`aws s3 …`, `aws s3api …`), spawned against a
 * server on a free port.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startS3Server, ROOT } from './testing.js';
import { runClient as exec, clientEnv as childEnv } from './cli-testing.js';

const AWS = '/usr/bin/aws';
const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

t.test('awscli', { skip: existsSync(AWS) ? false : 'awscli is not installed (apt-get install awscli)' }, async (t) => {
  const srv = await startS3Server();
  t.teardown(() => srv.close());
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-awscli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const env = childEnv({
    AWS_ACCESS_KEY_ID: ROOT.accessKey, AWS_SECRET_ACCESS_KEY: ROOT.secretKey, AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '',
  });
  const aws = async (...args: string[]) => {
    const r = await exec(AWS, ['--endpoint-url', srv.url, ...args], env);
    return r;
  };
  const ok = async (...args: string[]) => {
    const r = await aws(...args);
    t.equal(r.code, 0, `aws ${args.join(' ')}${r.code ? `: ${r.err}` : ''}`);
    return r.out;
  };

  await ok('s3', 'mb', 's3://cli-bucket');
  const small = Buffer.from('hello from awscli\n');
  await writeFile(join(dir, 'small.txt'), small);
  const big = randomBytes(20 * MiB + 7);
  await writeFile(join(dir, 'big.bin'), big);
  await ok('s3', 'cp', join(dir, 'small.txt'), 's3://cli-bucket/docs/small.txt');
  await ok('s3', 'cp', join(dir, 'big.bin'), 's3://cli-bucket/big.bin');
  const head = JSON.parse(await ok('s3api', 'head-object', '--bucket', 'cli-bucket', '--key', 'big.bin'));
  t.equal(head.ContentLength, big.length);
  t.match(head.ETag, /-\d+"$/, 'a 20 MiB cp is a multipart upload');
  const ls = await ok('s3', 'ls', 's3://cli-bucket/', '--recursive');
  t.match(ls, /\s18 docs\/small.txt/);
  t.match(ls, new RegExp(`\\s${big.length} big.bin`));
  t.match(await ok('s3', 'ls'), /cli-bucket/);
  await ok('s3', 'cp', 's3://cli-bucket/big.bin', join(dir, 'big.copy'));
  t.equal(md5(await readFile(join(dir, 'big.copy'))), md5(big), 'download equals upload');
  await ok('s3api', 'get-object', '--bucket', 'cli-bucket', '--key', 'docs/small.txt', '--range', 'bytes=0-4', join(dir, 'range.out'));
  t.equal(await readFile(join(dir, 'range.out'), 'utf8'), 'hello');

  // sync up, sync again (nothing to do), sync down.
  const tree = join(dir, 'tree');
  await mkdir(join(tree, 'sub'), { recursive: true });
  for (const [name, body] of [['a.txt', 'A'], ['sub/b.txt', 'BB'], ['sub/c d.txt', 'CCC']]) await writeFile(join(tree, name!), body!);
  const up = await ok('s3', 'sync', tree, 's3://cli-bucket/tree/');
  t.equal(up.split(/[\r\n]/).filter((l) => l.includes('upload:')).length, 3, 'three files uploaded');
  const again = await ok('s3', 'sync', tree, 's3://cli-bucket/tree/');
  t.equal(again.trim(), '', 'a second sync uploads nothing');
  const down = join(dir, 'down');
  await ok('s3', 'sync', 's3://cli-bucket/tree/', down);
  t.equal(await readFile(join(down, 'sub', 'c d.txt'), 'utf8'), 'CCC');

  const listed = JSON.parse(await ok('s3api', 'list-objects-v2', '--bucket', 'cli-bucket', '--prefix', 'tree/', '--delimiter', '/'));
  t.same(listed.CommonPrefixes, [{ Prefix: 'tree/sub/' }]);
  t.same(listed.Contents.map((c: { Key: string }) => c.Key), ['tree/a.txt']);
  const presigned = (await ok('s3', 'presign', 's3://cli-bucket/docs/small.txt', '--expires-in', '60')).trim();
  t.equal(await (await fetch(presigned)).text(), small.toString(), 'aws s3 presign URL works');

  const rb = await aws('s3', 'rb', 's3://cli-bucket');
  t.not(rb.code, 0);
  t.match(rb.err, /BucketNotEmpty/);
  const missing = await aws('s3api', 'head-object', '--bucket', 'cli-bucket', '--key', 'nope');
  t.match(missing.err, /404/);
  await ok('s3', 'rm', 's3://cli-bucket', '--recursive');
  t.equal((await ok('s3', 'ls', 's3://cli-bucket/', '--recursive')).trim(), '');
  await ok('s3', 'rb', 's3://cli-bucket');
  const bad = await exec(AWS, ['--endpoint-url', srv.url, 's3', 'ls'], { ...env, AWS_SECRET_ACCESS_KEY: 'wrong' });
  t.match(bad.err, /SignatureDoesNotMatch/);
});

