/**
 * The load generator's HTTP client against node:http and raw servers: bodies counted in every
 * framing, request bodies delivered whole, keep-alive sockets reused, a connection the server
 * closed while idle replaced, and a server that hangs up mid-answer reported as an error.
 */
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { closeIdle, send } from './http-client.js';

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

t.teardown(closeIdle);

t.test('bodies in every framing are counted, request bodies arrive whole, sockets are reused', async (t) => {
  const big = randomBytes(3 * 1024 * 1024 + 7);
  const connections = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    connections.add(req.socket);
    const md5 = createHash('md5');
    let n = 0;
    req.on('data', (c: Buffer) => {
      md5.update(c);
      n += c.length;
    });
    req.on('end', () => {
      if (req.url === '/length') return res.end(big);
      if (req.url === '/chunked') {
        res.write(big.subarray(0, 1000));
        res.write(big.subarray(1000, 300_000));
        return res.end(big.subarray(300_000));
      }
      if (req.url === '/empty') return res.writeHead(204).end();
      if (req.url === '/missing') return res.writeHead(404, { 'content-type': 'text/plain' }).end('no such object');
      res.writeHead(201, { etag: md5.digest('hex'), 'x-bytes': String(n) }).end(`${n}`);
    });
  });
  const port = await listen(server);
  t.teardown(() => server.close());

  t.same(await send('127.0.0.1', port, '/length', 'GET', {}), { status: 200, bytes: big.length });
  t.same(await send('127.0.0.1', port, '/chunked', 'GET', {}), { status: 200, bytes: big.length });
  t.same(await send('127.0.0.1', port, '/empty', 'DELETE', {}), { status: 204, bytes: 0 });
  t.same(await send('127.0.0.1', port, '/missing', 'GET', {}), { status: 404, bytes: 'no such object'.length });
  t.same(await send('127.0.0.1', port, '/length', 'HEAD', {}), { status: 200, bytes: 0 }, 'HEAD: the length is not read as a body');
  const put = await send('127.0.0.1', port, '/put', 'PUT', { 'content-length': String(big.length) }, big);
  t.same(put, { status: 201, bytes: String(big.length).length });
  t.equal(connections.size, 1, 'one keep-alive connection served them all, one after another');

  const many = await Promise.all(Array.from({ length: 8 }, () => send('127.0.0.1', port, '/length', 'GET', {})));
  t.same(many.map((r) => r.bytes), Array(8).fill(big.length), 'eight at once');
  t.ok(connections.size >= 8, 'requests in flight each have their own connection');
});

t.test('a body delimited by the connection\'s close, and a server that hangs up early', async (t) => {
  const server = net.createServer((s) => {
    s.once('data', (d) => {
      if (d.toString().startsWith('GET /close ')) s.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end');
      else s.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part');
    });
  });
  const port = await listen(server);
  t.teardown(() => server.close());
  t.same(await send('127.0.0.1', port, '/close', 'GET', {}), { status: 200, bytes: 'until the end'.length });
  await t.rejects(send('127.0.0.1', port, '/short', 'GET', {}), /closed before the response was complete/);
});

t.test('an idle connection the server closed is replaced, not reported', async (t) => {
  const server = http.createServer((_req, res) => res.end('ok'));
  server.keepAliveTimeout = 50;
  const port = await listen(server);
  t.teardown(() => server.close());
  t.same(await send('127.0.0.1', port, '/', 'GET', {}), { status: 200, bytes: 2 });
  await new Promise((r) => setTimeout(r, 300));
  t.same(await send('127.0.0.1', port, '/', 'PUT', { 'content-length': '3' }, Buffer.from('abc')), { status: 200, bytes: 2 });
});

t.test('no server: the error reaches the caller', async (t) => {
  const server = net.createServer();
  const port = await listen(server);
  server.close();
  await once(server, 'close');
  await t.rejects(send('127.0.0.1', port, '/', 'GET', {}), { code: 'ECONNREFUSED' });
});
