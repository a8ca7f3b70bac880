import t from 'tap';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPath, partitionOf, partitionForPath } from './hash.js';
import { parseSwiftHash, readSwiftConf } from './swift-conf.js';
import { HashConfigError } from './errors.js';

const H = { prefix: '', suffix: 'changeme' };

t.test('Swift test vectors (prefix "", suffix "changeme")', async (t) => {
  const cases: Array<[string[], string, number, number]> = [
    [['AUTH_test'], '9d00c9d091fea9ea855f29c22714dc83', 628, 160771],
    [['AUTH_test', 'images'], 'd37c00086c71d61d003a5b7dd4d778f7', 845, 216560],
    [['AUTH_test', 'images', 'debian-12.qcow2'], '02d9d8e0662281b793a4b38f98667b96', 11, 2919],
  ];
  for (const [path, md5, p10, p18] of cases) {
    const d = hashPath(path[0]!, path[1], path[2], H);
    t.equal(d.toString('hex'), md5, path.join('/'));
    t.equal(partitionOf(d, 10), p10);
    t.equal(partitionOf(d, 18), p18);
    t.equal(partitionForPath(18, H, path[0]!, path[1], path[2]), p18);
  }
});

t.test('empty container/object count as absent; object needs container', async (t) => {
  t.same(hashPath('a', '', undefined, H), hashPath('a', undefined, undefined, H));
  t.same(hashPath('a', 'c', '', H), hashPath('a', 'c', undefined, H));
  t.throws(() => hashPath('a', undefined, 'o', H), TypeError);
  t.equal(partitionOf(hashPath('a', 'c', 'o', H), 0), 0, 'part power 0 has one partition');
  t.equal(partitionOf(Buffer.from('ffffffff', 'hex'), 32), 0xffffffff);
});

t.test('UTF-8 and prefix/suffix change the hash', async (t) => {
  const a = hashPath('AUTH_é', 'ç', '日本/😀', { prefix: 'p', suffix: 's' });
  const b = hashPath('AUTH_é', 'ç', '日本/😀', { prefix: '', suffix: 's' });
  t.not(a.toString('hex'), b.toString('hex'));
  t.equal(a.length, 16);
});

t.test('swift.conf [swift-hash] parsing', async (t) => {
  t.same(parseSwiftHash('[swift-hash]\nswift_hash_path_suffix = changeme\nswift_hash_path_prefix=pre\n'),
    { prefix: 'pre', suffix: 'changeme' });
  t.same(parseSwiftHash('[DEFAULT]\nx = 1\n# c\n[swift-hash]\n; c\nswift_hash_path_suffix: s p\n[other]\nswift_hash_path_prefix = no\n'),
    { prefix: '', suffix: 's p' });
  t.throws(() => parseSwiftHash('[swift-hash]\n', 'my.conf'), HashConfigError);
  t.throws(() => parseSwiftHash('[other]\nswift_hash_path_suffix = x\n'), /neither/);
  const dir = await mkdtemp(join(tmpdir(), 'ring-conf-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'swift.conf'), '[swift-hash]\nswift_hash_path_prefix = a\nswift_hash_path_suffix = b\n');
  t.same(await readSwiftConf(join(dir, 'swift.conf')), { prefix: 'a', suffix: 'b' });
  await t.rejects(readSwiftConf(join(dir, 'missing.conf')), HashConfigError);
});
