/**
 * A storage node never serves a damaged body as a complete response, and quarantines it: a
 * byte flipped on disk in a stored object, small (verified before the first byte is sent) or
 * larger than VERIFY_BEFORE_SEND_BYTES (verified while streaming, last chunk held back), both
 * in files that record the body's CRC-32C (checked instead of the MD5) and in files from
 * before that field (footer without it: the MD5 is checked). A footer CRC that disagrees with
 * an intact body is refused too, which shows GET checks the CRC and not the MD5 when there is
 * one. Good objects of both kinds, and ranges, are served whole.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { closeSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { putReplica, startInProcessNode, TEST_HASH, TEST_PART_POWER } from './testing.js';
import { hashPath, partitionOf } from '../ring/hash.js';
import { H_METADATA, H_PROXY_HASHES, encodeJsonHeader, nodePath } from './protocol.js';
import { encodeFooter, openStoredFile, type DiskMetadata } from './diskfile.js';
import { VERIFY_BEFORE_SEND_BYTES } from './server.js';
import { QUARANTINE_SUBDIR } from '../auditor/quarantine.js';
import { crc32c } from '../common/crc32c.js';
import { until } from '../../test/support/wait.js';
import { flipByteInFile } from '../replicator/test-helpers.js';

const SMALL_BYTES = 100_001;
const LARGE_BYTES = VERIFY_BEFORE_SEND_BYTES * 3 + 12_345;
const QUARANTINE_WAIT_MS = 30_000;

interface Read {
  status: number;
  body: Buffer;
  /** The whole declared Content-Length arrived and the response ended normally. */
  complete: boolean;
}

t.test('GET verification of stored bodies', async (t) => {
  const { dir, node, client, clock } = await startInProcessNode(t, 'ringstack-get-verify-');
  const part = (o: string) => partitionOf(hashPath('a', 'c', o, TEST_HASH), TEST_PART_POWER);
  const path = (o: string) => nodePath('obj', 'sda', part(o), 'a', 'c', o);
  const hashOf = (o: string) => hashPath('a', 'c', o, TEST_HASH).toString('hex');
  const hashDir = (o: string) => join(dir, 'sda', 'objects', String(part(o)), hashOf(o).slice(-3), hashOf(o));

  /** PUT as the proxy sends it: chunked, the proxy's MD5 in the trailer, the node hashes nothing itself. */
  async function put(o: string, body: Buffer, headers: Record<string, string> = {}): Promise<void> {
    t.equal(await putReplica(client, node.port, path(o), clock.next(), body, { [H_PROXY_HASHES]: '1', ...headers }), 201, `PUT ${o}`);
  }

  async function get(o: string, headers: Record<string, string> = {}): Promise<Read> {
    const res = await client.request({ host: '127.0.0.1', port: node.port, method: 'GET', path: path(o), headers });
    const chunks: Buffer[] = [];
    let ended = true;
    try {
      for await (const c of res.body) chunks.push(c as Buffer);
    } catch {
      ended = false;
    }
    const body = Buffer.concat(chunks);
    return { status: res.status, body, complete: ended && body.length === Number(res.headers['content-length']) };
  }

  async function dataFile(o: string): Promise<string> {
    const f = (await readdir(hashDir(o))).find((x) => x.endsWith('.data'));
    if (!f) throw new Error(`no .data for ${o}`);
    return join(hashDir(o), f);
  }

  async function footer(file: string): Promise<{ meta: DiskMetadata; bodySize: number }> {
    const { fd, meta, bodySize } = openStoredFile(file);
    closeSync(fd);
    return { meta, bodySize };
  }

  /** Rewrites the footer of `o`'s .data file through `edit`, keeping the body. */
  async function editFooter(o: string, edit: (m: DiskMetadata) => DiskMetadata): Promise<void> {
    const file = await dataFile(o);
    const { meta, bodySize } = await footer(file);
    const raw = await readFile(file);
    await writeFile(file, Buffer.concat([raw.subarray(0, bodySize), encodeFooter(edit(meta))]));
  }

  /** Writes `o` and makes it a file from before the CRC field (its footer has none). */
  async function putLegacy(o: string, body: Buffer): Promise<void> {
    await put(o, body);
    await editFooter(o, ({ crc32c: _none, ...old }) => old);
    t.equal((await footer(await dataFile(o))).meta.crc32c, undefined, `${o} has no CRC in its footer`);
  }

  async function flipByte(o: string, at: number): Promise<void> {
    await flipByteInFile(await dataFile(o), at, 0x10);
  }

  const quarantined = async (o: string) => (await readdir(join(dir, 'sda', QUARANTINE_SUBDIR)).catch(() => [] as string[]))
    .some((d) => d.startsWith(`${hashOf(o)}-`));

  /** GET of a damaged `o`: never a complete body; the object is quarantined, so it is gone from here. */
  async function expectRefused(t: Test, o: string, size: number, why: string): Promise<void> {
    const r = await get(o);
    t.notOk(r.status === 200 && r.complete, `${why}: no complete body (status ${r.status}, ${r.body.length} of ${size} bytes)`);
    if (size <= VERIFY_BEFORE_SEND_BYTES) t.equal(r.status, 500, `${why}: a small object gets a 5xx before any byte`);
    else t.ok(r.body.length < size, `${why}: a large one stops short of its length`);
    t.ok(await until(`${o} quarantined`, QUARANTINE_WAIT_MS, () => quarantined(o)), `${why}: quarantined`);
    t.equal((await get(o)).status, 404, `${why}: no longer served from this node`);
  }

  await t.test('new objects record the CRC-32C of their body and are served whole', async (t) => {
    for (const [o, size] of [['good-small', SMALL_BYTES], ['good-large', LARGE_BYTES]] as const) {
      const body = randomBytes(size);
      await put(o, body);
      t.equal((await footer(await dataFile(o))).meta.crc32c, crc32c(body), `${o}: footer CRC is the body's`);
      const r = await get(o);
      t.equal(r.status, 200);
      t.ok(r.complete && r.body.equals(body), `${o}: the whole body`);
      const ranged = await get(o, { range: 'bytes=10-99' });
      t.equal(ranged.status, 206);
      t.ok(ranged.body.equals(body.subarray(10, 100)), `${o}: a range`);
    }
  });

  await t.test('a crc32c in the metadata a PUT sends is not what is recorded', async (t) => {
    const body = randomBytes(SMALL_BYTES);
    await put('meta-crc', body, {
      [H_METADATA]: encodeJsonHeader({ contentType: 'application/octet-stream', meta: {}, headers: {}, crc32c: 12345 }),
    });
    t.equal((await footer(await dataFile('meta-crc'))).meta.crc32c, crc32c(body), 'the footer holds the body\'s CRC');
    const r = await get('meta-crc');
    t.ok(r.status === 200 && r.complete && r.body.equals(body), 'and the object is served whole');
  });

  await t.test('objects from before the CRC field are checked by MD5 and served whole', async (t) => {
    for (const [o, size] of [['legacy-small', SMALL_BYTES], ['legacy-large', LARGE_BYTES]] as const) {
      const body = randomBytes(size);
      await putLegacy(o, body);
      const r = await get(o);
      t.equal(r.status, 200);
      t.ok(r.complete && r.body.equals(body), `${o}: the whole body`);
    }
  });

  await t.test('a flipped byte in an object with a CRC', async (t) => {
    await put('crc-small', randomBytes(SMALL_BYTES));
    await flipByte('crc-small', 777);
    await expectRefused(t, 'crc-small', SMALL_BYTES, 'small');
    // Near the start: every chunk but the last could go out before the mismatch is known.
    await put('crc-large', randomBytes(LARGE_BYTES));
    await flipByte('crc-large', 4321);
    await expectRefused(t, 'crc-large', LARGE_BYTES, 'large');
  });

  await t.test('a flipped byte in an object without a CRC (MD5 checked)', async (t) => {
    await putLegacy('md5-small', randomBytes(SMALL_BYTES));
    await flipByte('md5-small', 5);
    await expectRefused(t, 'md5-small', SMALL_BYTES, 'small');
    await putLegacy('md5-large', randomBytes(LARGE_BYTES));
    await flipByte('md5-large', LARGE_BYTES - 3);
    await expectRefused(t, 'md5-large', LARGE_BYTES, 'large');
  });

  await t.test('the CRC is what GET checks when there is one: a wrong footer CRC over an intact body is refused', async (t) => {
    for (const [o, size] of [['wrong-crc-small', SMALL_BYTES], ['wrong-crc-large', LARGE_BYTES]] as const) {
      await put(o, randomBytes(size));
      await editFooter(o, (m) => ({ ...m, crc32c: (m.crc32c! + 1) >>> 0 }));
      await expectRefused(t, o, size, o);
    }
  });
});
