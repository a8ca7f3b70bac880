import t from 'tap';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BodyVerifier, checksumOf, createChecksum } from './checksums.js';
import { S3Error } from './errors.js';

const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');

t.test('check values of "123456789"', async (t) => {
  const d = Buffer.from('123456789');
  t.equal(hex(checksumOf('crc32', d)), 'cbf43926');
  t.equal(hex(checksumOf('crc32c', d)), 'e3069283');
  t.equal(hex(checksumOf('crc64nvme', d)), 'ae8b14860a799888');
  t.equal(hex(checksumOf('sha1', d)), 'f7c3bc1d808e04732adf679965ccc34ca7ae3441');
  t.equal(checksumOf('sha256', Buffer.alloc(0)), '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  const inc = createChecksum('crc64nvme');
  inc.update(d.subarray(0, 4));
  inc.update(d.subarray(4));
  t.equal(hex(inc.digest()), 'ae8b14860a799888', 'incremental equals one-shot');
});

t.test('verifier passes good bodies and fails bad ones', async (t) => {
  const d = Buffer.from('hello world');
  const ok = new BodyVerifier({ algorithms: ['crc32'], expected: () => ({ crc32: checksumOf('crc32', d) }) });
  const out: Buffer[] = [];
  await pipeline(Readable.from([d]), ok, async (src) => { for await (const c of src) out.push(c); });
  t.equal(Buffer.concat(out).toString(), 'hello world');
  t.equal(ok.values.crc32, checksumOf('crc32', d));
  const bad = new BodyVerifier({ algorithms: ['crc32c'], expected: () => ({ crc32c: 'AAAAAA==' }) });
  await t.rejects(pipeline(Readable.from([d]), bad, async (src) => { for await (const _ of src); }), S3Error);
  t.equal(bad.failure?.code, 'BadDigest');
  const sha = new BodyVerifier({ algorithms: [], expected: () => ({}), payloadSha256: 'ab'.repeat(32) });
  await t.rejects(pipeline(Readable.from([d]), sha, async (src) => { for await (const _ of src); }));
  t.equal(sha.failure?.code, 'XAmzContentSHA256Mismatch');
});
