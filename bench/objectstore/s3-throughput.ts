/**
 * S3 front-end throughput: PUT (SDK default: aws-chunked with a CRC32 trailer), GET, a
 * multipart upload with lib-storage and its GET as one object, through the SDK on loopback;
 * plus the CPU cost of the pieces on one core (checksums, aws-chunked decoding, signed chunks).
 * On the in-memory backend by default, or on 3 real storage nodes with --cluster (needs dist/).
 * Prints one JSON document.
 *
 *   npx tsc -p . && node dist/bench/objectstore/s3-throughput.js [--mib 256] [--part-mib 16] [--cluster]
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startS3Server, sdkClient, ROOT } from '../../objectstore/s3/testing.js';
import { TestCluster } from '../../objectstore/cluster/test-cluster.js';
import { createChecksum, type ChecksumAlgorithm } from '../../objectstore/s3/checksums.js';
import { AwsChunkedDecoder, encodeAwsChunked } from '../../objectstore/s3/chunked.js';
import { signingKey } from '../../objectstore/s3/sigv4.js';

const { values } = parseArgs({
  options: { mib: { type: 'string', default: '256' }, 'part-mib': { type: 'string', default: '16' }, cluster: { type: 'boolean', default: false } },
});
const MIB = 1024 * 1024;
const size = Number(values.mib) * MIB;
const partSize = Number(values['part-mib']) * MIB;

const mbps = (bytes: number, ms: number) => Math.round((bytes / MIB / (ms / 1000)) * 10) / 10;

/** A stream of `bytes` bytes from a repeated random block (generation costs nothing). */
function source(bytes: number): Readable {
  const block = randomBytes(MIB);
  return Readable.from((function* () {
    for (let done = 0; done < bytes; done += MIB) yield block.subarray(0, Math.min(MIB, bytes - done));
  })());
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of body) n += c.length;
  return n;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

async function cpuCosts(): Promise<Record<string, number>> {
  const data = randomBytes(64 * MIB);
  const out: Record<string, number> = {};
  for (const alg of ['crc32', 'crc32c', 'crc64nvme', 'sha256'] as ChecksumAlgorithm[]) {
    const c = createChecksum(alg);
    const { ms } = await timed(async () => {
      for (let i = 0; i < data.length; i += MIB) c.update(data.subarray(i, i + MIB));
      c.digest();
    });
    out[`${alg}_MBps`] = mbps(data.length, ms);
  }
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += 64 * 1024) chunks.push(data.subarray(i, i + 64 * 1024));
  const unsigned = encodeAwsChunked(chunks, { trailers: { 'x-amz-checksum-crc32': 'AAAAAA==' } });
  out.chunked_unsigned_decode_MBps = mbps(data.length, (await timed(() => drain(Readable.from([unsigned]).pipe(new AwsChunkedDecoder())))).ms);
  const signing = { amzDate: '20250101T000000Z', scope: '20250101/us-east-1/s3/aws4_request', key: signingKey('s', '20250101', 'us-east-1'), signature: 'seed' };
  const signed = encodeAwsChunked(chunks, { signing });
  out.chunked_signed_decode_MBps = mbps(data.length, (await timed(() => drain(Readable.from([signed]).pipe(new AwsChunkedDecoder({ signing }))))).ms);
  return out;
}

async function main(): Promise<void> {
  const cluster = values.cluster ? await TestCluster.start() : undefined;
  const srv = await startS3Server(cluster ? { backend: cluster.backend } : {});
  const s3 = sdkClient(srv.url, ROOT);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
    const put = await timed(() => s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'single', Body: source(size), ContentLength: size })));
    const get = await timed(async () => drain((await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: 'single' }))).Body as AsyncIterable<Uint8Array>));
    const mpu = await timed(() => new Upload({ client: s3, params: { Bucket: 'bench', Key: 'multi', Body: source(size) }, partSize, queueSize: 4 }).done());
    const mget = await timed(async () => drain((await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: 'multi' }))).Body as AsyncIterable<Uint8Array>));
    if (get.value !== size || mget.value !== size) throw new Error(`read ${get.value} and ${mget.value} bytes, wrote ${size}`);
    const result = {
      backend: cluster ? 'replicated (3 storage nodes)' : 'memory', object_MiB: size / MIB, part_MiB: partSize / MIB,
      put_aws_chunked_crc32_MBps: mbps(size, put.ms), get_MBps: mbps(size, get.ms),
      multipart_upload_MBps: mbps(size, mpu.ms), multipart_get_MBps: mbps(size, mget.ms),
      peak_rss_MiB: Math.round(process.resourceUsage().maxRSS / 1024),
      one_core: await cpuCosts(),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    s3.destroy();
    await srv.close();
    await cluster?.stop();
  }
}

await main();
