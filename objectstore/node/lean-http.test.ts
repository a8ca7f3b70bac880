/**
 * The lean node client (lean-http.ts, lean-body.ts) against real HTTP servers on loopback:
 * keep-alive reuse, every body framing, timeouts, and the relay of large bodies into client
 * responses (bytes exact with buffers reused across concurrent relays, backpressure, failures on
 * either side).
 */
import t, { type Test } from 'tap';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { LeanHttp, NodeTimeout } from './lean-http.js';
import { CONNECTION_SCOPE, H_AUTH_SCOPE } from './hmac.js';
import { relayPoolSize } from './lean-body.js';
import { SPLICE_MIN_BYTES, completedSplices } from '../common/splice-relay.js';
import { md5, pattern } from '../../test/support/bodies.js';

async function listen(server: http.Server | net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}


/** A client closed with the test. */
function leanClient(t: Test, maxPerNode?: number): LeanHttp {
  const lean = new LeanHttp(5_000, maxPerNode);
  t.teardown(() => lean.close());
  return lean;
}

/** A GET through `lean` with no headers. */
function leanGet(lean: LeanHttp, port: number, timeoutMs = 2_000, path = '/') {
  return lean.request({ host: '127.0.0.1', port, method: 'GET', path, headers: {}, timeoutMs });
}

/** A port nothing listens on any more. */
async function deadPort(): Promise<number> {
  const closed = net.createServer();
  const port = await listen(closed);
  closed.close();
  await once(closed, 'close');
  return port;
}

function get(port: number, path = '/', agent: http.Agent | false = false): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent }, resolve).on('error', reject);
  });
}

t.test('connection auth: signed until the server trusts the connection, then not', async (t) => {
  // The server grants trust (H_AUTH_SCOPE) on the second signed request it sees, if `grants`.
  const seen: Array<{ auth: string | undefined; socket: number }> = [];
  const sockets = new Map<net.Socket, number>();
  let grants = true;
  const server = http.createServer((req, res) => {
    if (!sockets.has(req.socket)) sockets.set(req.socket, sockets.size);
    const auth = req.headers['x-test-auth'] as string | undefined;
    seen.push({ auth, socket: sockets.get(req.socket)! });
    if (grants && auth && seen.filter((s) => s.auth).length === 2) res.setHeader(H_AUTH_SCOPE, CONNECTION_SCOPE);
    res.end('ok');
  });
  const port = await listen(server);
  t.teardown(() => server.close());
  const lean = leanClient(t);
  let signatures = 0;
  const request = () => lean.request({
    host: '127.0.0.1', port, method: 'GET', path: '/', headers: {}, timeoutMs: 2_000,
    auth: { header: 'x-test-auth', sign: () => `sig-${++signatures}` },
  }).then((r) => readAll(r.body));
  for (let i = 0; i < 4; i++) await request();
  t.same(seen, [
    { auth: 'sig-1', socket: 0 }, { auth: 'sig-2', socket: 0 }, { auth: undefined, socket: 0 }, { auth: undefined, socket: 0 },
  ], 'signed until the answer that granted trust, unsigned after it, on the same connection');
  t.equal(signatures, 2, 'a signature is made only when it is sent');

  // A server that never grants (an older node) gets every request signed.
  grants = false;
  seen.length = 0;
  const other = leanClient(t);
  for (let i = 0; i < 3; i++) {
    await other.request({
      host: '127.0.0.1', port, method: 'GET', path: '/', headers: {}, timeoutMs: 2_000,
      auth: { header: 'x-test-auth', sign: () => 'sig' },
    }).then((r) => readAll(r.body));
  }
  t.same(seen.map((s) => s.auth), ['sig', 'sig', 'sig'], 'no grant, every request signed');
});

t.test('keep-alive: sequential requests share one connection; bodies and headers as sent', async (t) => {
  let connections = 0;
  const server = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => { n += c.length; });
    req.on('end', () => {
      res.setHeader('x-got', `${req.method} ${req.url} ${n} ${req.headers['x-a']}`);
      res.setHeader('x-dup', ['1', '2']);
      res.end(req.method === 'HEAD' ? undefined : `hello ${req.url}`);
    });
  });
  server.on('connection', () => connections++);
  const port = await listen(server);
  t.teardown(() => server.close());
  const lean = leanClient(t);
  for (const [method, body] of [['GET', undefined], ['PUT', Buffer.from('abc')], ['HEAD', undefined], ['DELETE', undefined], ['POST', undefined]] as const) {
    const r = await lean.request({ host: '127.0.0.1', port, method, path: `/p/${method}%2Fx`, headers: { 'x-a': 'v' }, body, timeoutMs: 2_000 });
    t.equal(r.status, 200);
    t.equal(r.headers['x-got'], `${method} /p/${method}%2Fx ${body?.length ?? 0} v`, `${method}: method, path, body and header arrived`);
    t.equal(r.headers['x-dup'], '1, 2', 'repeated headers joined');
    const text = (await readAll(r.body)).toString();
    t.equal(text, method === 'HEAD' ? '' : `hello /p/${method}%2Fx`);
  }
  t.equal(connections, 1, 'one connection for all five');
});

t.test('chunked bodies with trailers, and bodies that end with the connection', async (t) => {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { trailer: 'x-t' });
    for (let i = 0; i < 50; i++) res.write(`part ${i};`);
    res.addTrailers({ 'x-t': 'done' });
    res.end();
  });
  const port = await listen(server);
  t.teardown(() => server.close());
  const raw = net.createServer((s) => {
    s.once('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end'));
  });
  const rawPort = await listen(raw);
  t.teardown(() => raw.close());
  const lean = leanClient(t);
  for (let round = 0; round < 2; round++) {
    const r = await leanGet(lean, port);
    t.equal(r.headers['transfer-encoding'], 'chunked');
    t.equal((await readAll(r.body)).toString(), Array.from({ length: 50 }, (_, i) => `part ${i};`).join(''), `chunked body ${round}`);
  }
  const c = await leanGet(lean, rawPort);
  t.equal((await readAll(c.body)).toString(), 'until the end', 'read up to the close');
});

t.test('no head in time is a NodeTimeout; a refused connection an error; bad headers are refused', async (t) => {
  const silent = net.createServer(() => undefined);
  const port = await listen(silent);
  t.teardown(() => silent.close());
  const lean = leanClient(t);
  const timedOut = await leanGet(lean, port, 100).catch((e: Error) => e);
  t.ok(timedOut instanceof NodeTimeout, `a NodeTimeout: ${String(timedOut)}`);
  await t.rejects(leanGet(lean, await deadPort(), 1_000), /ECONNREFUSED/);
  await t.rejects(lean.request({ host: '127.0.0.1', port, method: 'GET', path: '/', headers: { 'x-a': 'v\r\nx-evil: 1' }, timeoutMs: 100 }),
    /invalid header x-a/);
  await t.rejects(lean.request({ host: '127.0.0.1', port, method: 'GET', path: '/a b', headers: {}, timeoutMs: 100 }), /invalid request path/);
});

t.test('a node that sends more than it announced loses its connection; the next request gets a new one', async (t) => {
  let connections = 0;
  const raw = net.createServer((s) => {
    connections++;
    s.on('data', () => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA'));
  });
  const port = await listen(raw);
  t.teardown(() => raw.close());
  const lean = leanClient(t);
  for (let i = 0; i < 2; i++) {
    const r = await leanGet(lean, port, 1_000);
    t.equal((await readAll(r.body)).toString(), 'ok', 'the announced bytes');
  }
  t.equal(connections, 2, 'the connection with stray bytes was not reused');
});

/** A node serving pattern bodies and a front server relaying them, as the proxy does. */
async function relayPair(t: Test, size: number) {
  const upstreamSockets: net.Socket[] = [];
  const node = http.createServer((req, res) => {
    const seed = Number(new URL(req.url!, 'http://x').searchParams.get('seed'));
    if (req.url!.startsWith('/die')) {
      res.writeHead(200, { 'content-length': String(size) });
      res.write(pattern(seed, size).subarray(0, size >> 1), () => res.destroy());
      return;
    }
    res.writeHead(200, { 'content-length': String(size) });
    res.end(pattern(seed, size));
  });
  node.on('connection', (s) => upstreamSockets.push(s));
  const nodePort = await listen(node);
  const lean = new LeanHttp(5_000);
  const front = http.createServer(async (req, res) => {
    try {
      const r = await leanGet(lean, nodePort, 5_000, req.url!);
      res.writeHead(r.status, { 'content-length': r.headers['content-length'] });
      r.body.on('error', () => res.destroy());
      r.body.pipe(res);
    } catch {
      res.destroy();
    }
  });
  const frontPort = await listen(front);
  t.teardown(() => {
    lean.close();
    front.close();
    node.close();
    for (const s of upstreamSockets) s.destroy();
  });
  return { frontPort, upstreamSockets };
}

t.test('relay: concurrent large bodies arrive byte for byte, through reused buffers or the kernel', async (t) => {
  // Below SPLICE_MIN_BYTES through the relay's pool buffers; above, spliced.
  for (const size of [SPLICE_MIN_BYTES - 17, 3 * SPLICE_MIN_BYTES + 17]) {
    const { frontPort } = await relayPair(t, size);
    const spliced = completedSplices();
    for (let round = 0; round < 2; round++) {
      const seeds = Array.from({ length: 8 }, (_, i) => round * 100 + i);
      const got = await Promise.all(seeds.map(async (seed) => readAll(await get(frontPort, `/o?seed=${seed}`))));
      got.forEach((b, i) => t.equal(md5(b), md5(pattern(seeds[i]!, size)), `${size} bytes: round ${round} body ${i} exact`));
    }
    if (size < SPLICE_MIN_BYTES) {
      t.equal(completedSplices(), spliced, 'small bodies were not spliced');
      t.ok(relayPoolSize() > 0, `relay buffers came back to the pool (${relayPoolSize()})`);
    } else {
      t.equal(completedSplices() - spliced, 16, 'every large body was spliced');
    }
  }
});

t.test('splice: large bodies go through the kernel, and both connections are reused after', async (t) => {
  const size = SPLICE_MIN_BYTES * 5 + 7;
  const { frontPort, upstreamSockets } = await relayPair(t, size);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const before = completedSplices();
  const clientPorts = new Set<number>();
  for (const seed of [21, 22, 23]) {
    const res = await get(frontPort, `/o?seed=${seed}`, agent);
    clientPorts.add(res.socket.localPort!);
    t.equal(md5(await readAll(res)), md5(pattern(seed, size)), `body ${seed} exact`);
  }
  t.equal(completedSplices() - before, 3, 'all three bodies were spliced');
  t.equal(clientPorts.size, 1, 'the client kept one connection: each response ended');
  t.equal(upstreamSockets.length, 1, 'one node connection served all three');
});

t.test('relay: a node that dies mid-body cuts the client response short', async (t) => {
  const size = 4 * 1024 * 1024;
  const { frontPort } = await relayPair(t, size);
  const res = await get(frontPort, '/die?seed=3');
  t.equal(res.headers['content-length'], String(size));
  let got = 0;
  const outcome = await new Promise<string>((resolve) => {
    res.on('data', (c: Buffer) => { got += c.length; });
    res.on('end', () => resolve('end'));
    res.on('aborted', () => resolve('aborted'));
    res.on('error', () => resolve('error'));
    res.on('close', () => resolve('close'));
  });
  t.ok(got < size, `the client got ${got} of ${size} bytes (${outcome}), never a complete body`);
});

t.test('relay: a client that stops reading pauses the node; one that leaves closes the node connection', async (t) => {
  const size = 64 * 1024 * 1024;
  const { frontPort, upstreamSockets } = await relayPair(t, size);
  const res = await get(frontPort, '/o?seed=9');
  res.pause();
  await new Promise((r) => setTimeout(r, 600));
  const up = upstreamSockets[0]!;
  // The node wrote what the kernel buffers took and keeps the rest: the relay stopped reading.
  t.ok(up.writableLength > size / 2, `the node still holds ${(up.writableLength / 2 ** 20).toFixed(1)} MiB of 64`);
  res.destroy();
  await new Promise((r) => up.once('close', r)); // closed with bytes unread: a reset, not an error here
  t.pass('the node connection was closed, not reused mid-body');
  const again = await readAll(await get(frontPort, '/o?seed=10'));
  t.equal(md5(again), md5(pattern(10, size)), 'the next relay works');
});

t.test('plain mode: a slow reader gets every byte in order', async (t) => {
  const size = 2 * 1024 * 1024 + 5;
  const node = http.createServer((req, res) => res.end(pattern(5, size)));
  const port = await listen(node);
  t.teardown(() => node.close());
  const lean = leanClient(t);
  const r = await leanGet(lean, port);
  const chunks: Buffer[] = [];
  for await (const c of r.body) {
    chunks.push(c as Buffer);
    if (chunks.length % 4 === 0) await new Promise((res) => setTimeout(res, 5));
  }
  t.equal(md5(Buffer.concat(chunks)), md5(pattern(5, size)));
});

t.test('a body nobody listens to fails quietly when its node dies mid-body (no crash)', async (t) => {
  const size = 8 * 1024 * 1024;
  const node = http.createServer((req, res) => {
    res.writeHead(200, { 'content-length': String(size) });
    res.write(pattern(1, size).subarray(0, 1024 * 1024), () => setTimeout(() => res.destroy(), 50));
  });
  const port = await listen(node);
  t.teardown(() => node.close());
  const lean = leanClient(t);
  const r = await leanGet(lean, port);
  r.body.resume(); // discarded, as the proxy discards the answers it does not use
  await new Promise((resolve) => r.body.on('close', resolve)); // events.once would listen for 'error'
  t.ok(r.body.destroyed && !r.body.readableEnded, 'the body ended destroyed, and the process is still here');
});

t.test('at most maxPerNode connections per node: more requests wait for one and all complete', async (t) => {
  let open = 0;
  let most = 0;
  const node = http.createServer((req, res) => {
    setTimeout(() => res.end(`done ${req.url}`), 30);
  });
  node.on('connection', (s) => {
    open++;
    most = Math.max(most, open);
    s.on('close', () => open--);
  });
  const port = await listen(node);
  t.teardown(() => node.close());
  const lean = leanClient(t, 2);
  const texts = await Promise.all(Array.from({ length: 7 }, async (_, i) => {
    const r = await leanGet(lean, port, 5_000, `/${i}`);
    return (await readAll(r.body)).toString();
  }));
  t.same(texts, Array.from({ length: 7 }, (_, i) => `done /${i}`), 'every request answered');
  t.equal(most, 2, 'never more than 2 connections at once');
  // A refused connection frees its slot too.
  const dead = await deadPort();
  const fails = await Promise.all(Array.from({ length: 5 }, () =>
    leanGet(lean, dead, 1_000).then(() => 'ok', () => 'refused')));
  t.same(fails, ['refused', 'refused', 'refused', 'refused', 'refused'], 'queued requests to a dead node fail, none hang');
});

t.test('drain: bodies in every framing are counted without copies; request bodies arrive whole', async (t) => {
  const big = pattern(9, 3 * 1024 * 1024 + 7);
  const connections = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    connections.add(req.socket);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/length') return res.end(big);
      if (req.url === '/chunked') {
        res.write(big.subarray(0, 1000));
        res.write(big.subarray(1000, 300_000));
        return res.end(big.subarray(300_000));
      }
      if (req.url === '/empty') return res.writeHead(204).end();
      if (req.url === '/missing') return res.writeHead(404, { 'content-type': 'text/plain' }).end('no such object');
      res.writeHead(201, { etag: md5(Buffer.concat(chunks)) }).end(String(Buffer.concat(chunks).length));
    });
  });
  const port = await listen(server);
  t.teardown(() => server.close());
  const lean = leanClient(t);
  const send = async (method: string, path: string, body?: Buffer) => {
    const r = await lean.request({ host: '127.0.0.1', port, method, path, headers: {}, body, timeoutMs: 5_000 });
    return { status: r.status, etag: r.headers.etag, bytes: await r.body.drain() };
  };
  const free = relayPoolSize();
  t.same(await send('GET', '/length'), { status: 200, etag: undefined, bytes: big.length });
  t.same(await send('GET', '/chunked'), { status: 200, etag: undefined, bytes: big.length });
  t.same(await send('DELETE', '/empty'), { status: 204, etag: undefined, bytes: 0 });
  t.same(await send('GET', '/missing'), { status: 404, etag: undefined, bytes: 'no such object'.length });
  t.same(await send('HEAD', '/length'), { status: 200, etag: undefined, bytes: 0 }, 'HEAD: the length is not read as a body');
  t.same(await send('PUT', '/put', big), { status: 201, etag: md5(big), bytes: String(big.length).length });
  t.equal(connections.size, 1, 'one keep-alive connection served them all, one after another');
  t.equal(relayPoolSize(), free, 'no relay buffer taken: the reads landed in the shared scratch buffer');

  const many = await Promise.all(Array.from({ length: 8 }, () => send('GET', '/length')));
  t.same(many.map((r) => r.bytes), Array(8).fill(big.length), 'eight at once');
  t.ok(connections.size >= 8, 'requests in flight each have their own connection');

  const early = await lean.request({ host: '127.0.0.1', port, method: 'GET', path: '/empty', headers: {}, timeoutMs: 5_000 });
  t.equal(await early.body.drain(), 0, 'a body that was complete before drain() resolves too');
});

t.test('drain: a server that hangs up mid-body rejects; an idle connection it closed is replaced', async (t) => {
  const server = net.createServer((s) => {
    s.once('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part'));
  });
  const port = await listen(server);
  t.teardown(() => server.close());
  const lean = leanClient(t);
  const r = await leanGet(lean, port);
  await t.rejects(r.body.drain(), /closed/);

  const keepAlive = http.createServer((_req, res) => res.end('ok'));
  keepAlive.keepAliveTimeout = 50;
  const kaPort = await listen(keepAlive);
  t.teardown(() => keepAlive.close());
  t.equal(await (await leanGet(lean, kaPort)).body.drain(), 2);
  await new Promise((res) => setTimeout(res, 300));
  t.equal(await (await leanGet(lean, kaPort)).body.drain(), 2);
});
