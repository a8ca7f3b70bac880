/**
 * The kernel relay (splice_relay.c through splice-relay.ts) between real loopback sockets:
 * bytes exact and the callback told, a sender that stops early, a receiver that leaves, a
 * cancel, and arguments it refuses.
 */
import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import {
  cancelSplice, completedSplices, plainSocketFd, spliceRelay, spliceRelayAvailable, type SpliceHandle,
} from './splice-relay.js';
import { md5, pattern } from '../../test/support/bodies.js';


async function listen(onConn: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer(onConn).listen(0, '127.0.0.1');
  t.teardown(() => server.close());
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** A client socket; Node never reads from it unless resumed (the relay reads in the kernel). */
async function connect(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  s.pause();
  t.teardown(() => s.destroy());
  await once(s, 'connect');
  return s;
}

/**
 * A sender that writes `send` into the relay's input (and ends it, or holds it open), and a
 * receiver that collects what comes out; the relay's ends are the client sockets of each.
 */
async function rig(send: Buffer, after: 'end' | 'hold') {
  const chunks: Buffer[] = [];
  let accepted!: (s: net.Socket) => void;
  const receiver = new Promise<net.Socket>((r) => (accepted = r));
  const received = new Promise<Buffer>((resolve) => {
    void listen((s) => {
      accepted(s);
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('error', () => undefined);
      s.on('close', () => resolve(Buffer.concat(chunks)));
    }).then(async (port) => outReady(await connect(port)));
  });
  let outReady!: (s: net.Socket) => void;
  const out = await new Promise<net.Socket>((r) => (outReady = r));
  const senderPort = await listen((s) => {
    s.on('error', () => undefined);
    s.write(send, () => {
      if (after === 'end') s.end();
    });
  });
  const input = await connect(senderPort);
  return { input, out, received, receiver: await receiver };
}

function relay(input: net.Socket, out: net.Socket, bytes: number) {
  let handle!: SpliceHandle;
  const done = new Promise<{ err: NodeJS.ErrnoException | null; moved: number }>((resolve) => {
    handle = spliceRelay(plainSocketFd(input)!, plainSocketFd(out)!, bytes, (err, moved) => resolve({ err, moved }));
  });
  return { handle, done };
}

t.test('the addon built with spliceRelay (npm ci compiles it)', async (t) => {
  t.ok(spliceRelayAvailable);
});

t.test('moves every byte in order and says so', async (t) => {
  const size = 16 * 1024 * 1024 + 13;
  const body = pattern(0, size);
  const { input, out, received } = await rig(body, 'hold');
  const before = completedSplices();
  const { done } = relay(input, out, size);
  const { err, moved } = await done;
  t.equal(err, null);
  t.equal(moved, size);
  t.equal(completedSplices(), before + 1, 'counted as a completed relay');
  out.end();
  const got = await received;
  t.equal(got.length, size);
  t.equal(md5(got), md5(body), 'bytes exact');
  // Node may use both sockets again afterwards.
  input.resume();
  out.destroy();
});

t.test('a sender that ends early is ECONNRESET with the bytes that went through', async (t) => {
  const size = 3 * 1024 * 1024;
  const { input, out, received } = await rig(pattern(0, size), 'end');
  const { err, moved } = await relay(input, out, size + 4096).done;
  t.equal(err?.code, 'ECONNRESET');
  t.equal(err?.syscall, 'splice');
  t.equal(moved, size, 'what the sender sent was passed on');
  out.end();
  t.equal((await received).length, size);
});

t.test('a receiver that leaves ends the relay with an error, not a hang', async (t) => {
  const size = 64 * 1024 * 1024;
  const { input, out, receiver } = await rig(pattern(0, size), 'hold');
  const { done } = relay(input, out, size);
  await new Promise((r) => setTimeout(r, 100));
  receiver.resetAndDestroy();
  const { err, moved } = await done;
  t.ok(err && ['EPIPE', 'ECONNRESET'].includes(err.code!), `error ${err?.code}`);
  t.ok(moved < size, `${moved} of ${size} bytes went out`);
});

t.test('a cancelled relay calls back with ECANCELED; cancelling again does nothing', async (t) => {
  const size = 64 * 1024 * 1024;
  const { input, out, receiver } = await rig(pattern(0, size), 'hold');
  receiver.pause(); // nothing drains: the relay waits
  const { handle, done } = relay(input, out, size);
  await new Promise((r) => setTimeout(r, 100));
  cancelSplice(handle);
  const { err, moved } = await done;
  t.equal(err?.code, 'ECANCELED');
  t.ok(moved < size);
  cancelSplice(handle);
  t.pass('a second cancel after the end is harmless');
});

t.test('arguments it cannot use are refused at once', async (t) => {
  const noop = () => undefined;
  t.throws(() => spliceRelay(-1, 1, 10, noop), TypeError);
  t.throws(() => spliceRelay(1, 2, 0, noop), TypeError);
  t.throws(() => spliceRelay(999_999, 998_999, 10, noop), { code: 'EBADF', syscall: 'fcntl' });
  t.throws(() => cancelSplice({}), TypeError);
  const s = net.connect(1, '127.0.0.1');
  s.on('error', () => undefined);
  s.destroy();
  t.equal(plainSocketFd(s), undefined, 'a destroyed socket has no descriptor to lend');
});
