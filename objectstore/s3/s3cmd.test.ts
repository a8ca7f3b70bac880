/** The S3 front end driven by s3cmd, spawned against a server on a free port. */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startS3Server, ROOT } from './testing.js';
import { runClient as exec, clientEnv as childEnv } from './cli-testing.js';

const S3CMD = '/usr/bin/s3cmd';
const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

t.test('s3cmd', { skip: existsSync(S3CMD) ? false : 's3cmd is not installed (apt-get install s3cmd)' }, async (t) => {
  const srv = await startS3Server();
  t.teardown(() => srv.close());
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-s3cmd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cfg = join(dir, 's3cfg');
  await writeFile(cfg, [
    '[default]', `access_key = ${ROOT.accessKey}`, `secret_key = ${ROOT.secretKey}`,
    `host_base = 127.0.0.1:${srv.port}`, `host_bucket = 127.0.0.1:${srv.port}`, 'use_https = False',
    'signature_v2 = False', 'bucket_location = us-east-1', 'check_ssl_certificate = False', '',
  ].join('\n'));
  const env = childEnv({ HOME: dir });
  const s3cmd = (...args: string[]) => exec(S3CMD, ['-c', cfg, ...args], env);
  const ok = async (...args: string[]) => {
    const r = await s3cmd(...args);
    t.equal(r.code, 0, `s3cmd ${args.join(' ')}${r.code ? `: ${r.err}` : ''}`);
    return r.out;
  };
  await ok('mb', 's3://s3cmd-bucket');
  const body = randomBytes(12 * MiB + 3);
  await writeFile(join(dir, 'big.bin'), body);
  await writeFile(join(dir, 'note.txt'), 'note');
  await ok('put', '--multipart-chunk-size-mb=5', join(dir, 'big.bin'), 's3://s3cmd-bucket/big.bin');
  await ok('put', '--mime-type=text/plain', '--add-header=x-amz-meta-kind:note', join(dir, 'note.txt'), 's3://s3cmd-bucket/dir/note.txt');
  const ls = await ok('ls', '-r', 's3://s3cmd-bucket');
  t.match(ls, /s3:\/\/s3cmd-bucket\/big.bin/);
  t.match(ls, /s3:\/\/s3cmd-bucket\/dir\/note.txt/);
  const info = await ok('info', 's3://s3cmd-bucket/dir/note.txt');
  t.match(info, /MIME type:\s+text\/plain/);
  t.match(info, /x-amz-meta-kind:\s*note/);
  await ok('get', 's3://s3cmd-bucket/big.bin', join(dir, 'big.out'));
  t.equal(md5(await readFile(join(dir, 'big.out'))), md5(body));
  await ok('cp', 's3://s3cmd-bucket/dir/note.txt', 's3://s3cmd-bucket/copy.txt');
  await ok('get', 's3://s3cmd-bucket/copy.txt', join(dir, 'copy.out'));
  t.equal(await readFile(join(dir, 'copy.out'), 'utf8'), 'note');
  const tree = join(dir, 'tree');
  await mkdir(tree);
  await writeFile(join(tree, 'x.txt'), 'x');
  await ok('sync', `${tree}/`, 's3://s3cmd-bucket/tree/');
  t.match(await ok('ls', 's3://s3cmd-bucket/tree/'), /tree\/x.txt/);
  const rb = await s3cmd('rb', 's3://s3cmd-bucket');
  t.not(rb.code, 0, 'a non-empty bucket is not removed');
  await ok('del', '--recursive', '--force', 's3://s3cmd-bucket');
  await ok('rb', 's3://s3cmd-bucket');
  t.notMatch(await ok('ls'), /s3cmd-bucket/);
});
