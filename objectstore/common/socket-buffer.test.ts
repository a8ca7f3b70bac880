/**
 * The proxy's listening-socket receive buffer: set through the addon, seen by `ss` (an observer
 * outside Node), and inherited by every connection the server accepts.
 */
import t from 'tap';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setReceiveBuffer, socketBufferControl } from './socket-buffer.js';

const MiB = 1024 * 1024;

/** The `rb` (receive buffer) of each TCP socket on local port `port` in `state`, as ss reports it. */
function ssReceiveBuffers(state: 'listening' | 'established', port: number): number[] {
  const out = execFileSync('ss', ['-Htmn', 'state', state, `sport = :${port}`], { encoding: 'utf8' });
  return [...out.matchAll(/\brb(\d+)/g)].map((m) => Number(m[1]));
}

async function listen(): Promise<{ server: net.Server; port: number; accepted: Promise<net.Socket> }> {
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((res) => server.once('connection', res));
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return { server, port: (server.address() as net.AddressInfo).port, accepted };
}

async function connect(port: number): Promise<net.Socket> {
  const c = net.connect(port, '127.0.0.1');
  await new Promise((res) => c.once('connect', res));
  return c;
}

t.test('npm ci built the addon with SO_RCVBUF', async (t) => {
  t.equal(socketBufferControl, true);
});

t.test('set on the listener, inherited by accepted connections', async (t) => {
  const tuned = await listen();
  const plain = await listen();
  t.teardown(() => {
    tuned.server.close();
    plain.server.close();
  });
  const r = setReceiveBuffer(tuned.server, MiB);
  if (!('set' in r)) return t.fail(`not set: ${r.kept}`);
  t.ok(r.set >= MiB, `the kernel grants at least the request (reports ${r.set})`);
  t.same(ssReceiveBuffers('listening', tuned.port), [r.set], 'ss sees it on the listening socket');

  const c1 = await connect(tuned.port);
  const s1 = await tuned.accepted;
  const c2 = await connect(plain.port);
  const s2 = await plain.accepted;
  t.teardown(() => [c1, s1, c2, s2].forEach((s) => s.destroy()));
  t.same(ssReceiveBuffers('established', tuned.port), [r.set], 'the accepted connection inherits it');
  const untouched = ssReceiveBuffers('established', plain.port);
  t.equal(untouched.length, 1);
  t.not(untouched[0], r.set, 'a server left alone keeps the kernel\'s own size');
});

t.test('beyond net.core.rmem_max when the process may (root)', { skip: process.getuid?.() !== 0 && 'needs CAP_NET_ADMIN' }, async (t) => {
  const max = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
  const { server, port } = await listen();
  t.teardown(() => server.close());
  const want = max + MiB;
  const r = setReceiveBuffer(server, want);
  if (!('set' in r)) return t.fail(`not set: ${r.kept}`);
  t.ok(r.set >= want, `forced past rmem_max ${max}: ${r.set}`);
  t.same(ssReceiveBuffers('listening', port), [r.set]);
});

t.test('bad input', async (t) => {
  const { server } = await listen();
  t.throws(() => setReceiveBuffer(server, 0), RangeError);
  t.throws(() => setReceiveBuffer(server, 1.5), RangeError);
  t.throws(() => setReceiveBuffer(server, 2 ** 31), RangeError);
  await new Promise((res) => server.close(res));
  t.same(setReceiveBuffer(server, MiB), { kept: 'the server has no listening socket' }, 'a closed server is left alone');
});
