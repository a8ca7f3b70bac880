/**
 * A storage node over real HTTP on a temp folder: bad input is refused with a clear 4xx and
 * nothing is written; newest timestamp wins; tombstones; MD5 checks.
 */
import { putReplica, startInProcessNode, TEST_SECRET, TEST_HASH, TEST_PART_POWER } from './testing.js';
import t from 'tap';
import net from 'node:net';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { NodeClient } from './node-client.js';
import { AUTH_HEADER, signRequest } from './hmac.js';
import { hashPath, partitionOf } from '../ring/hash.js';
import { H_CONTENT_LENGTH, nodePath, encodeJsonHeader, H_METADATA, H_PROXY_HASHES, H_REPLICATION, H_EXPECTED_ETAG } from './protocol.js';

const SECRET = TEST_SECRET;
const HASH = TEST_HASH;
const PART_POWER = TEST_PART_POWER;

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  await walk(dir, '');
  return out.filter((f) => !f.startsWith('db/'));
}

t.test('storage node', async (t) => {
  const { dir, node, client, clock } = await startInProcessNode(t, 'ringstack-node-');
  const part = (o: string) => partitionOf(hashPath('a', 'c', o, HASH), PART_POWER);
  const path = (o: string) => nodePath('obj', 'sda', part(o), 'a', 'c', o);

  /** PUT with chunked body; declared length and trailer MD5 as given. */
  async function putObj(o: string, body: Buffer, opts: {
    declared?: string; ts?: string; trailer?: string | null; p?: string; headers?: Record<string, string>;
  } = {}) {
    const ts = opts.ts ?? clock.next();
    const headers = opts.declared === undefined ? opts.headers : { [H_CONTENT_LENGTH]: opts.declared, ...opts.headers };
    return { status: await putReplica(client, node.port, opts.p ?? path(o), ts, body, headers, opts.trailer), ts };
  }

  async function get(o: string, method = 'GET') {
    return client.fetchText({ host: '127.0.0.1', port: node.port, method, path: path(o) });
  }

  await t.test('round trip, newest wins, tombstone', async (t) => {
    const a = await putObj('obj1', Buffer.from('hello'));
    t.equal(a.status, 201);
    const g = await get('obj1');
    t.equal(g.status, 200);
    t.equal(g.text, 'hello');
    t.equal(g.headers.etag, createHash('md5').update('hello').digest('hex'));
    const older = await putObj('obj1', Buffer.from('old'), { ts: '0000000001.00000' });
    t.equal(older.status, 409, 'an older write gets 409');
    const b = await putObj('obj1', Buffer.from('newer'));
    t.equal(b.status, 201);
    t.equal((await get('obj1')).text, 'newer');
    const hash = hashPath('a', 'c', 'obj1', HASH).toString('hex');
    const hdir = join(dir, 'sda', 'objects', String(part('obj1')), hash.slice(-3), hash);
    t.same(await readdir(hdir), [`${b.ts}.data`], 'older file cleaned');
    const del = await client.fetchText({ host: '127.0.0.1', port: node.port, method: 'DELETE', path: path('obj1'), timestamp: clock.next() });
    t.equal(del.status, 204);
    const gone = await get('obj1');
    t.equal(gone.status, 404);
    t.ok(gone.headers['x-backend-timestamp'], 'a 404 of a tombstone carries its timestamp');
    const files = await readdir(hdir);
    t.equal(files.length, 1);
    t.match(files[0], /\.ts$/);
  });

  await t.test('POST replaces metadata and keeps bytes', async (t) => {
    await putObj('m', Buffer.from('bytes'));
    const r = await client.fetchText({
      host: '127.0.0.1', port: node.port, method: 'POST', path: path('m'), timestamp: clock.next(),
      headers: { [H_METADATA]: encodeJsonHeader({ contentType: 'text/x', meta: { a: '1' }, headers: {} }) },
    });
    t.equal(r.status, 202);
    const g = await get('m');
    t.equal(g.text, 'bytes');
    t.match(decodeURIComponent(String(g.headers[H_METADATA])), /"a":"1"/);
  });

  await t.test('a signed request authenticates its connection, and only its own', async (t) => {
    /** Sends heads one after another on one keep-alive connection; resolves to each answer's head. */
    const onOneConnection = (heads: string[]) => new Promise<string[]>((resolve, reject) => {
      const answers: string[] = [];
      let pending = '';
      const s = net.connect(node.port, '127.0.0.1', () => s.write(heads[0]!));
      s.on('error', reject);
      s.on('data', (d) => {
        pending += d.toString('latin1');
        for (;;) {
          const end = pending.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = pending.slice(0, end);
          const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
          if (pending.length < end + 4 + length) return;
          pending = pending.slice(end + 4 + length);
          answers.push(head);
          if (answers.length === heads.length) {
            s.destroy();
            return resolve(answers);
          }
          s.write(heads[answers.length]!);
        }
      });
    });
    const get = (auth?: string) => `GET ${path('nothing-here')} HTTP/1.1\r\nHost: x\r\n${auth ? `${AUTH_HEADER}: ${auth}\r\n` : ''}\r\n`;
    const status = (head: string) => Number(head.split(' ')[1]);
    const scope = (head: string) => /x-ringstack-auth-scope: (\S+)/i.exec(head)?.[1];

    const signed = signRequest(SECRET, 'GET', path('nothing-here'));
    const [first, second, third] = await onOneConnection([get(signed), get(), get()]);
    t.equal(status(first!), 404, 'signed request served');
    t.equal(scope(first!), 'connection', 'its answer says the connection is trusted now');
    t.equal(status(second!), 404, 'a later unsigned request on that connection is served');
    t.equal(scope(second!), undefined, 'and trust is announced once');
    t.equal(status(third!), 404, 'and the next one');

    const [fresh] = await onOneConnection([get()]);
    t.equal(status(fresh!), 401, 'an unsigned request on another connection is refused');
    const forged = signRequest('another-secret-entirely-wrong', 'GET', path('nothing-here'));
    const [bad, after] = await onOneConnection([get(forged), get()]);
    t.equal(status(bad!), 401, 'a wrong signature is refused');
    t.equal(scope(bad!), undefined, 'and trusts nothing');
    t.equal(status(after!), 401, 'so the connection stays untrusted');
  });

  await t.test('bad input: clear 4xx, nothing written', async (t) => {
    const before = await listTree(join(dir, 'sda'));
    const base = { host: '127.0.0.1', port: node.port };
    // No signature.
    const unsigned = await new Promise<number>((resolve) => {
      const s = net.connect(node.port, '127.0.0.1', () => s.write(`GET ${path('x')} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
      s.on('data', (d) => resolve(Number(d.toString().split(' ')[1])));
    });
    t.equal(unsigned, 401, 'missing HMAC');
    const wrong = new NodeClient('another-secret-entirely-wrong');
    t.equal((await wrong.fetchText({ ...base, method: 'GET', path: path('x') })).status, 401, 'wrong HMAC');
    wrong.close();
    const stale = signRequest(SECRET, 'GET', path('x'), '', Date.now() - 3600_000);
    const r = await new Promise<number>((resolve) => {
      const s = net.connect(node.port, '127.0.0.1', () =>
        s.write(`GET ${path('x')} HTTP/1.1\r\nHost: x\r\n${AUTH_HEADER}: ${stale}\r\nConnection: close\r\n\r\n`));
      s.on('data', (d) => resolve(Number(d.toString().split(' ')[1])));
    });
    t.equal(r, 401, 'expired HMAC');
    t.equal((await putObj('x', Buffer.from('a'), { p: '/obj/sda/0/../../etc/passwd' })).status, 400, '.. in the path');
    t.equal((await putObj('x', Buffer.from('a'), { p: `/obj/..%2F..%2Ftmp/${part('x')}/a/c/x` })).status, 400, 'encoded .. device');
    const long = 'n'.repeat(1025);
    t.equal((await putObj(long, Buffer.from('a'))).status, 413, 'name over 1024 bytes');
    t.equal((await putObj('x', Buffer.from('abc'), { declared: '-3' })).status, 400, 'negative length');
    t.equal((await putObj('x', Buffer.from('abc'), { declared: 'abc' })).status, 400, 'bogus length');
    t.equal((await putObj('x', Buffer.from('abc'), { declared: '10' })).status, 400, 'body shorter than declared');
    t.equal((await putObj('x', Buffer.from('abc'), { declared: '2' })).status, 400, 'body longer than declared');
    t.equal((await putObj('x', Buffer.from('abc'), { trailer: 'f'.repeat(32) })).status, 422, 'MD5 mismatch');
    t.equal((await putObj('x', Buffer.from('a'), { p: nodePath('obj', 'nodev', part('x'), 'a', 'c', 'x') })).status, 421, 'unknown device');
    t.equal((await putObj('x', Buffer.from('a'), { p: nodePath('obj', 'sda', (part('x') + 1) % 256, 'a', 'c', 'x') })).status, 400, 'wrong partition');
    t.equal((await putObj('x', Buffer.from('a'), { p: nodePath('obj', 'sda', 99999, 'a', 'c', 'x') })).status, 400, 'partition out of range');
    t.equal((await putObj('x', Buffer.from('a'), { ts: 'yesterday' })).status, 400, 'bad timestamp');
    // Content-Length says 100, the sender sends 10 and hangs up.
    await new Promise<void>((resolve) => {
      const p = path('short');
      const ts = clock.next();
      const s = net.connect(node.port, '127.0.0.1', () => {
        s.write(`PUT ${p} HTTP/1.1\r\nHost: x\r\n${AUTH_HEADER}: ${signRequest(SECRET, 'PUT', p, ts)}\r\nx-timestamp: ${ts}\r\n` +
          `Content-Length: 100\r\n\r\n0123456789`);
        setTimeout(() => s.destroy(), 200);
      });
      s.on('close', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 200));
    t.same(await listTree(join(dir, 'sda')), before, 'nothing written by any refused request');
    t.equal((await get('short')).status, 404);
  });

  await t.test('a body the proxy hashed is stored with the proxy\'s MD5; replication pushes are hashed anyway', async (t) => {
    const body = Buffer.from('hashed by the proxy');
    const md5 = createHash('md5').update(body).digest('hex');
    const proxied = { [H_PROXY_HASHES]: '1' };
    t.equal((await putObj('ph', body, { headers: proxied })).status, 201);
    const g = await get('ph');
    t.equal(g.text, 'hashed by the proxy');
    t.equal(g.headers.etag, md5, 'the trailer\'s MD5 is the ETag');
    const before = await listTree(join(dir, 'sda'));
    t.equal((await putObj('ph-none', body, { headers: proxied, trailer: null })).status, 400, 'no MD5 trailer');
    t.equal((await putObj('ph-bad', body, { headers: proxied, trailer: 'not-an-md5' })).status, 400, 'malformed MD5 trailer');
    t.equal((await putObj('ph-client', body, { headers: { ...proxied, [H_EXPECTED_ETAG]: 'f'.repeat(32) } })).status, 422,
      'the client\'s MD5 is still checked against it');
    t.same(await listTree(join(dir, 'sda')), before, 'nothing stored by a refused PUT');
    t.equal((await putObj('ph-repl', body, { headers: { ...proxied, [H_REPLICATION]: '1' }, trailer: 'f'.repeat(32) })).status, 422,
      'a replication push is hashed by the node even when marked');
  });

  await t.test('container listing rows', async (t) => {
    const cpart = partitionOf(hashPath('a', 'c', undefined, HASH), PART_POWER);
    const cpath = nodePath('cont', 'sda', cpart, 'a', 'c');
    t.equal((await client.fetchText({ host: '127.0.0.1', port: node.port, method: 'PUT', path: cpath, timestamp: clock.next() })).status, 201);
    const row = (o: string, ts: string, size: number, method = 'PUT') => client.fetchText({
      host: '127.0.0.1', port: node.port, method, path: nodePath('cont', 'sda', cpart, 'a', 'c', o), timestamp: ts,
      headers: { 'x-ringstack-row': encodeJsonHeader({ ts, size, etag: 'e', contentType: 't' }) },
    });
    const t1 = clock.next();
    const t2 = clock.next();
    t.equal((await row('o1', t2, 5)).status, 201);
    t.equal((await row('o1', t1, 7)).status, 202, 'older row ignored');
    t.equal((await row('o2', clock.next(), 3)).status, 201);
    const head = await client.fetchText({ host: '127.0.0.1', port: node.port, method: 'HEAD', path: cpath });
    const info = JSON.parse(decodeURIComponent(String(head.headers[H_METADATA])));
    t.equal(info.objectCount, 2);
    t.equal(info.bytesUsed, 8);
    t.equal((await row('o1', clock.next(), 0, 'DELETE')).status, 201);
    const list = await client.fetchText({ host: '127.0.0.1', port: node.port, method: 'GET', path: cpath });
    t.same(JSON.parse(list.text).entries.map((e: { name: string }) => e.name), ['o2']);
    const del = await client.fetchText({ host: '127.0.0.1', port: node.port, method: 'DELETE', path: cpath, timestamp: clock.next() });
    t.equal(del.status, 409, 'not empty');
  });
});
