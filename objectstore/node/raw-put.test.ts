/**
 * Raw-body PUTs (raw-put.ts, the proxy's raw-put-client.ts) against a real storage node: the
 * body lands whole, with its CRC-32C and the proxy's MD5, and reads back byte for byte; a
 * body cut short, a wrong MD5 trailer or a missing one store nothing; the node refuses a raw
 * body where it does not belong; with write-back started on the way or left to the fsync, the
 * body lands the same; and a request whose node answers a plain `100 Continue`
 * (an older node) reports 'unsupported' instead of sending anything.
 */
import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startInProcessNode, TEST_HASH, TEST_PART_POWER, TEST_SECRET } from './testing.js';
import { hashPath, partitionOf } from '../ring/hash.js';
import {
  H_CONTENT_LENGTH, H_EXPECTED_ETAG, H_PROXY_HASHES, H_RAW_BODY, H_TIMESTAMP, RAW_BODY_PROTOCOL, T_ETAG, nodePath,
} from './protocol.js';
import { readFooter } from './diskfile.js';
import { crc32c } from '../common/crc32c.js';
import { receiveToFileAvailable } from '../common/receive-to-file.js';
import { nativeAddon } from '../common/native-addon.js';
import { RawPutRequest } from '../proxy/raw-put-client.js';
import { signRequest, AUTH_HEADER } from './hmac.js';

const BIG = 5 * 1024 * 1024 + 12_345;

t.test('the addon that receives bodies was built', async (t) => {
  t.ok(receiveToFileAvailable, 'receiveToFile is there (npm ci builds native/page-cache)');
  const addon = nativeAddon<{ receiveToFile(...args: unknown[]): unknown }>('receiveToFile')!;
  t.throws(() => addon.receiveToFile(0, 1, 10, 0, () => undefined, -1), /writebackBytes\?: non-negative integer/,
    'a negative write-back interval is refused before anything starts');
  t.throws(() => addon.receiveToFile(0, 1, 10, 0, () => undefined, 'often'), TypeError);
  t.throws(() => addon.receiveToFile(0, 1, 10, 0, () => undefined, 0, -1), /lowatBytes\?: integer 0\.\.2\^30/,
    'a negative wake-up batch is refused');
  t.throws(() => addon.receiveToFile(0, 1, 10, 0, () => undefined, 0, 2 ** 31), TypeError, 'and one past 1 GiB');
});

t.test('raw-body PUTs against a real node', async (t) => {
  const { dir, node, client, clock } = await startInProcessNode(t, 'rs-rawput-');
  const partOf = (o: string) => partitionOf(hashPath('a', 'c', o, TEST_HASH), TEST_PART_POWER);
  const path = (o: string) => nodePath('obj', 'sda', partOf(o), 'a', 'c', o);
  const hashDir = (o: string) => {
    const h = hashPath('a', 'c', o, TEST_HASH).toString('hex');
    return join(dir, 'sda', 'objects', String(partOf(o)), h.slice(-3), h);
  };
  const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

  interface Outcome { status: number; headers: http.IncomingHttpHeaders; continued: boolean }

  /** A raw PUT of `body` through the proxy's client; `cut` sends only that many bytes then closes. */
  function rawPut(o: string, body: Buffer,
    opts: { etag?: string | null; cut?: number; length?: number; headers?: Record<string, string> } = {}): Promise<Outcome> {
    const ts = clock.next();
    const req = new RawPutRequest({
      host: '127.0.0.1', port: node.port, path: path(o),
      headers: {
        ...client.signedHeaders('PUT', path(o), ts), [H_CONTENT_LENGTH]: String(opts.length ?? body.length),
        [H_PROXY_HASHES]: '1', ...opts.headers,
      },
    });
    return new Promise((resolve) => {
      let continued = false;
      req.on('continue', () => {
        continued = true;
        if (opts.cut !== undefined) {
          req.write(body.subarray(0, opts.cut));
          setTimeout(() => req.destroy(), 50);
          return;
        }
        req.write(body);
        if (opts.etag !== null) req.addTrailers({ [T_ETAG]: opts.etag ?? md5(body) });
        req.end();
      });
      req.on('response', (r: http.IncomingMessage) => {
        r.resume();
        resolve({ status: r.statusCode ?? 0, headers: r.headers, continued });
      });
      req.on('error', () => resolve({ status: 0, headers: {}, continued }));
    });
  }

  async function get(o: string): Promise<{ status: number; body: Buffer }> {
    const res = await client.request({ host: '127.0.0.1', port: node.port, method: 'GET', path: path(o) });
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    return { status: res.status, body: Buffer.concat(chunks) };
  }

  const files = async (o: string) => (await readdir(hashDir(o)).catch(() => [] as string[])).filter((f) => f.endsWith('.data'));

  await t.test('a large body lands whole, with its CRC-32C and MD5, and reads back', async (t) => {
    const body = randomBytes(BIG);
    const r = await rawPut('big', body);
    t.equal(r.status, 201, 'stored');
    t.ok(r.continued, 'the node said 100 Continue first');
    t.equal(r.headers.etag, md5(body), 'the node answers with the MD5 it stored');
    t.equal(r.headers.connection, 'close', 'and closes the connection');
    const [f] = await files('big');
    const fh = await open(join(hashDir('big'), f!), 'r');
    const size = (await fh.stat()).size;
    const { meta, footerBytes } = await readFooter(fh, size);
    await fh.close();
    t.equal(size - footerBytes, BIG, 'the file holds exactly the body');
    t.equal(meta.crc32c, crc32c(body), 'its footer holds the body\'s CRC-32C');
    t.equal(meta.etag, md5(body));
    const back = await get('big');
    t.equal(back.status, 200);
    t.ok(back.body.equals(body), 'GET returns the same bytes');
  });

  await t.test('a sender that does not wait for 100 Continue: its body still lands whole', async (t) => {
    // Head, body and trailers in one go: part of the body reaches the node with the head and
    // more of it while the node writes that part, before the addon takes over the socket.
    const body = randomBytes(BIG);
    const ts = clock.next();
    const head = [`PUT ${path('eager')} HTTP/1.1`, `host: 127.0.0.1:${node.port}`,
      ...Object.entries({ ...client.signedHeaders('PUT', path('eager'), ts), [H_CONTENT_LENGTH]: String(body.length), [H_PROXY_HASHES]: '1' })
        .map(([k, v]) => `${k}: ${v}`),
      'connection: Upgrade', `upgrade: ${RAW_BODY_PROTOCOL}`, 'expect: 100-continue', '', ''].join('\r\n');
    const answer = await new Promise<string>((resolve) => {
      const s = net.connect(node.port, '127.0.0.1');
      let got = '';
      s.on('data', (d) => (got += d.toString('latin1')));
      s.on('close', () => resolve(got));
      s.on('error', () => undefined);
      s.write(Buffer.concat([Buffer.from(head), body, Buffer.from(`${T_ETAG}: ${md5(body)}\r\n\r\n`)]));
    });
    t.match(answer, /HTTP\/1\.1 201 /, 'stored');
    const back = await get('eager');
    t.ok(back.body.equals(body), 'GET returns the same bytes');
  });

  // A setting turned off for one subtest: the same body must land the same way.
  const landsWith = (setting: string, name: string) => async (t: Test) => {
    const was = process.env[setting];
    process.env[setting] = '0';
    t.teardown(() => {
      if (was === undefined) delete process.env[setting];
      else process.env[setting] = was;
    });
    const body = randomBytes(BIG);
    const r = await rawPut(name, body);
    t.equal(r.status, 201);
    t.equal(r.headers.etag, md5(body));
    const back = await get(name);
    t.ok(back.body.equals(body), 'GET returns the same bytes');
  };
  await t.test('through JavaScript (RINGSTACK_NODE_RECEIVE=0) the same body lands the same way', landsWith('RINGSTACK_NODE_RECEIVE', 'js'));
  await t.test('with write-back left to the fsync (RINGSTACK_NODE_WRITEBACK=0) the same body lands the same way',
    landsWith('RINGSTACK_NODE_WRITEBACK', 'no-writeback'));

  await t.test('a body cut short stores nothing, and the node stays up', async (t) => {
    const body = randomBytes(BIG);
    const r = await rawPut('cut', body, { cut: 3 * 1024 * 1024 });
    t.ok(r.continued);
    t.equal(r.status, 0, 'no answer to a body that never ended');
    t.same(await files('cut'), [], 'no .data file');
    t.equal((await get('cut')).status, 404);
    const tmp = await readdir(join(dir, 'sda', 'tmp')).catch(() => [] as string[]);
    t.same(tmp, [], 'no temp file left behind');
    t.equal((await rawPut('after-cut', randomBytes(2 * 1024 * 1024))).status, 201, 'the next raw PUT works');
  });

  await t.test('an MD5 the client declared that is not the proxy\'s, or no MD5 trailer, stores nothing', async (t) => {
    const body = randomBytes(2 * 1024 * 1024);
    const wrong = await rawPut('wrong', body, { headers: { [H_EXPECTED_ETAG]: md5(Buffer.from('other')) } });
    t.equal(wrong.status, 422, 'the client\'s Content-MD5 differs: 422');
    const none = await rawPut('none', body, { etag: null });
    t.equal(none.status, 400, 'no MD5 at all: 400');
    t.same(await files('wrong'), []);
    t.same(await files('none'), []);
  });

  await t.test('a declared length the body does not match stores nothing', async (t) => {
    const body = randomBytes(2 * 1024 * 1024);
    // 10 bytes more declared than sent: the node waits for them, so the client gives up.
    const longer = await rawPut('longer', body, { length: body.length + 10, cut: body.length });
    t.equal(longer.status, 0);
    // Fewer declared than sent: the rest reads as a bad trailer block.
    const shorter = await rawPut('shorter', body, { length: body.length - 10 });
    t.equal(shorter.status, 400);
    t.same(await files('longer'), []);
    t.same(await files('shorter'), []);
  });

  await t.test('the node refuses raw bodies where they do not belong', async (t) => {
    const send = (head: string) => new Promise<string>((resolve) => {
      const s = net.connect(node.port, '127.0.0.1');
      let got = '';
      s.on('data', (d) => (got += d.toString('latin1')));
      s.on('close', () => resolve(got));
      s.on('error', () => undefined);
      s.write(head);
    });
    const ts = clock.next();
    const signed = (method: string, p: string) =>
      `${AUTH_HEADER}: ${signRequest(TEST_SECRET, method, p, ts)}\r\n${H_TIMESTAMP}: ${ts}\r\n`;
    const upgrade = `connection: Upgrade\r\nupgrade: ${RAW_BODY_PROTOCOL}\r\nexpect: 100-continue\r\n`;
    const cont = nodePath('cont', 'sda', partitionOf(hashPath('a', 'c', undefined, TEST_HASH), TEST_PART_POWER), 'a', 'c');
    const onContainer = await send(`PUT ${cont} HTTP/1.1\r\n${signed('PUT', cont)}${upgrade}\r\n`);
    t.match(onContainer, /^HTTP\/1\.1 400 .*a raw body is for object PUTs only/s, 'not on a container');
    const noHashes = await send(`PUT ${path('x')} HTTP/1.1\r\n${signed('PUT', path('x'))}${upgrade}${H_CONTENT_LENGTH}: 5\r\n\r\n`);
    t.match(noHashes, /^HTTP\/1\.1 400 .*raw body needs/s, `not without ${H_PROXY_HASHES}`);
    const unsigned = await send(`PUT ${path('x')} HTTP/1.1\r\n${upgrade}${H_CONTENT_LENGTH}: 5\r\n${H_PROXY_HASHES}: 1\r\n\r\n`);
    t.match(unsigned, /^HTTP\/1\.1 401 /, 'not without the cluster signature');
    const other = await send(`PUT ${path('x')} HTTP/1.1\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n`);
    t.match(other, /^HTTP\/1\.1 400 .*unknown upgrade protocol/s, 'no other protocol');
    t.notMatch(noHashes + unsigned + onContainer, new RegExp(H_RAW_BODY), 'none of them got a 100 Continue');
  });
});

t.test('a node that answers a plain 100 Continue (an older version) gets no raw body', async (t) => {
  let bodyBytes = 0;
  const old = http.createServer();
  old.on('checkContinue', (req, res) => {
    res.writeContinue();
    req.on('data', (d: Buffer) => (bodyBytes += d.length));
    req.on('end', () => res.end());
  });
  await new Promise<void>((r) => old.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    old.closeAllConnections();
    old.close();
  });
  const port = (old.address() as net.AddressInfo).port;
  const req = new RawPutRequest({ host: '127.0.0.1', port, path: '/obj/sda/1/a/c/o', headers: { [H_CONTENT_LENGTH]: '5' } });
  const what = await new Promise<string>((resolve) => {
    req.on('unsupported', () => resolve('unsupported'));
    req.on('continue', () => resolve('continue'));
    req.on('error', () => resolve('error'));
  });
  t.equal(what, 'unsupported');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(bodyBytes, 0, 'nothing was sent after the head');
});
