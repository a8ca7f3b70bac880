/**
 * receiveToFile (receive_file.c) between real loopback sockets and a real file: a body that
 * arrives in pieces smaller than the wake-up batch (SO_RCVLOWAT) and ends on an odd remainder
 * lands whole with its CRC-32C, and the socket wakes for a few bytes again once the body is
 * in: the bytes that follow it (the trailer block) are not held back.
 */
import t, { type Test } from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOWAT_BYTES, receiveToFile, receiveToFileAvailable } from './receive-to-file.js';
import { handleFd } from './native-addon.js';
import { crc32c } from './crc32c.js';
import { pattern } from '../../test/support/bodies.js';

/** A connected pair: `sender` (Node writes), `receiver` (paused: Node does not read it). */
async function pair(): Promise<{ sender: net.Socket; receiver: net.Socket }> {
  let accepted!: (s: net.Socket) => void;
  const got = new Promise<net.Socket>((r) => (accepted = r));
  const server = net.createServer(accepted).listen(0, '127.0.0.1');
  t.teardown(() => server.close());
  await once(server, 'listening');
  const receiver = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  receiver.pause();
  t.teardown(() => receiver.destroy());
  await once(receiver, 'connect');
  const sender = await got;
  t.teardown(() => sender.destroy());
  return { sender, receiver };
}

/**
 * A paused socket pair and a temp file; `receive(bytes)` starts receiveToFile from the receiver
 * into the file, and its promise settles with the callback's arguments once the file is closed.
 */
async function rig(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'rs-receive-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'body');
  const { sender, receiver } = await pair();
  const file = await open(path, 'w');
  const receive = (bytes: number) => new Promise<{ err: NodeJS.ErrnoException | null; written: number; crc: number }>((resolve) => {
    receiveToFile(handleFd(receiver)!, file.fd, bytes, 0, (err, written, crc) => {
      void file.close().then(() => resolve({ err, written, crc }));
    });
  });
  return { sender, receiver, receive, stored: () => readFile(path) };
}

/** Writes `body` in `piece`-byte writes, `gapMs` apart, so the receiver sees many small arrivals. */
async function dribble(s: net.Socket, body: Buffer, piece: number, gapMs: number): Promise<void> {
  for (let off = 0; off < body.length; off += piece) {
    s.write(body.subarray(off, off + piece));
    await new Promise((r) => setTimeout(r, gapMs));
  }
}

t.test('a body in small pieces lands whole, and the socket then wakes for a few bytes', { skip: !receiveToFileAvailable }, async (t) => {
  const size = 3 * LOWAT_BYTES + 777; // the last wait is for fewer bytes than a full batch
  const body = pattern(7, size);
  const { sender, receiver, receive, stored } = await rig(t);
  const done = receive(size);
  await dribble(sender, body, 48 * 1024 + 1, 2);
  const { err, written, crc } = await done;
  t.equal(err, null);
  t.equal(written, size, 'every byte written');
  t.equal(crc, crc32c(body), 'the CRC-32C of the whole body');
  t.ok((await stored()).equals(body), 'the file holds the body, in order');

  // Five bytes after the body: they reach Node only if the wake-up batch was undone.
  receiver.resume();
  const tail = once(receiver, 'data');
  sender.write('next!');
  const timeout = new Promise<'held back'>((r) => setTimeout(() => r('held back'), 3000).unref());
  const first = await Promise.race([tail.then(([d]) => (d as Buffer).toString()), timeout]);
  t.equal(first, 'next!', 'the bytes after the body arrive at once');
});

t.test('with RINGSTACK_NODE_RCVLOWAT=0 the same body lands the same way', { skip: !receiveToFileAvailable }, async (t) => {
  process.env.RINGSTACK_NODE_RCVLOWAT = '0';
  t.teardown(() => delete process.env.RINGSTACK_NODE_RCVLOWAT);
  const size = LOWAT_BYTES + 5;
  const body = pattern(9, size);
  const { sender, receive, stored } = await rig(t);
  const done = receive(size);
  await dribble(sender, body, 64 * 1024, 1);
  const { err, written } = await done;
  t.equal(err, null);
  t.equal(written, size);
  t.ok((await stored()).equals(body));
});

t.test('a sender that closes early: ECONNRESET, not a wait for a batch that never comes', { skip: !receiveToFileAvailable }, async (t) => {
  const { sender, receive } = await rig(t);
  const done = receive(4 * LOWAT_BYTES);
  sender.end(pattern(3, 1000)); // far less than one batch, then FIN
  const { err, written } = await done;
  t.equal(err?.code, 'ECONNRESET');
  t.equal(written, 1000, 'what did arrive was written');
});
