/**
 * The RPC client against a scripted libvirtd stand-in on a UNIX socket: framing, serial
 * matching of concurrent calls, error decoding, keepalive, event messages, upload streams
 * (success, server error, aborted source) and connection loss.
 */
import t, { type Test } from 'tap';
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpcClient, decodeHeader, encodeMessage, type MessageHeader } from './rpc-client.js';
import { XdrWriter, XdrReader } from './xdr.js';
import {
  KEEPALIVE_PROGRAM,
  KeepaliveProcedure,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  STREAM_CHUNK_BYTES,
} from './protocol.js';
import { LibvirtError, LibvirtNotFoundError, RpcConnectionClosedError } from './errors.js';

interface Received {
  header: MessageHeader;
  payload: Buffer;
}

/** A server that hands each complete message to `onMessage` with a way to answer. */
async function fakeServer(
  t: Test,
  onMessage: (msg: Received, reply: (h: Partial<MessageHeader>, payload?: Buffer) => void, socket: net.Socket) => void,
): Promise<{ path: string; sockets: net.Socket[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'rstest-rpc-'));
  const path = join(dir, 'sock');
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    let buf = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('data', (data) => {
      buf = Buffer.concat([buf, data]);
      while (buf.length >= 4 && buf.length >= buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0);
        const body = buf.subarray(4, len);
        buf = buf.subarray(len);
        const header = decodeHeader(body);
        onMessage(
          { header, payload: body.subarray(24) },
          (h, payload) => {
            if (socket.destroyed) return;
            socket.write(encodeMessage({ ...header, type: MessageType.REPLY, status: MessageStatus.OK, ...h }, payload));
          },
          socket,
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });
  return { path, sockets };
}

function remoteError(code: number, message: string): Buffer {
  return new XdrWriter()
    .int(code)
    .int(10)
    .optional(message, (w, v) => w.string(v))
    .int(2)
    .optional(null, () => undefined)
    .optional(null, () => undefined)
    .optional(null, () => undefined)
    .optional(null, () => undefined)
    .int(0)
    .int(0)
    .optional(null, () => undefined)
    .finish();
}

t.test('concurrent calls are matched to replies by serial', async (t) => {
  const held: { msg: Received; reply: (h: Partial<MessageHeader>, p?: Buffer) => void }[] = [];
  const { path } = await fakeServer(t, (msg, reply) => {
    held.push({ msg, reply });
    if (held.length === 3) {
      // Answer in reverse order, echoing the argument times ten.
      for (const h of held.reverse()) h.reply({}, new XdrWriter().int(new XdrReader(h.msg.payload).int() * 10).finish());
    }
  });
  const client = await RpcClient.connect({ path });
  t.teardown(() => client.close());
  const results = await Promise.all([1, 2, 3].map(async (n) => (await client.call(4, (w) => w.int(n))).int()));
  t.same(results, [10, 20, 30]);
  t.same(held.map((h) => h.msg.header.serial).sort(), [1, 2, 3], 'distinct serials');
  t.match(held[0].msg.header, { program: REMOTE_PROGRAM, version: 1, procedure: 4, type: MessageType.CALL, status: MessageStatus.OK });
});

t.test('error replies become typed LibvirtErrors', async (t) => {
  const { path } = await fakeServer(t, (msg, reply) => {
    const code = msg.header.procedure === 23 ? 42 : 1;
    reply({ status: MessageStatus.ERROR }, remoteError(code, `failure ${code}`));
  });
  const client = await RpcClient.connect({ path });
  t.teardown(() => client.close());
  const notFound = await client.call(23).catch((e: unknown) => e);
  t.type(notFound, LibvirtNotFoundError);
  t.match(notFound, { code: 42, domain: 10, message: 'failure 42' });
  const other = await client.call(1).catch((e: unknown) => e);
  t.type(other, LibvirtError);
  t.notOk(other instanceof LibvirtNotFoundError);
});

t.test('keepalive pings are answered and event messages delivered', async (t) => {
  let pong: MessageHeader | null = null;
  let gotPong: () => void = () => undefined;
  const pongSeen = new Promise<void>((resolve) => (gotPong = resolve));
  const { path, sockets } = await fakeServer(t, (msg) => {
    if (msg.header.program === KEEPALIVE_PROGRAM) {
      pong = msg.header;
      gotPong();
    }
  });
  const client = await RpcClient.connect({ path });
  t.teardown(() => client.close());
  const event = new Promise<[number, number]>((resolve) => client.once('message', (proc: number, body: XdrReader) => resolve([proc, body.int()])));
  while (sockets.length === 0) await new Promise((r) => setTimeout(r, 5));
  const base = { version: 1, serial: 0, status: MessageStatus.OK, type: MessageType.MESSAGE };
  sockets[0].write(encodeMessage({ ...base, program: KEEPALIVE_PROGRAM, procedure: KeepaliveProcedure.PING }));
  sockets[0].write(encodeMessage({ ...base, program: REMOTE_PROGRAM, procedure: 318 }, new XdrWriter().int(7).finish()));
  await pongSeen;
  t.match(pong, { program: KEEPALIVE_PROGRAM, procedure: KeepaliveProcedure.PONG, type: MessageType.MESSAGE });
  t.same(await event, [318, 7]);
});

t.test('upload stream: chunks, finish and confirmation', async (t) => {
  const received: Buffer[] = [];
  const packetSizes: number[] = [];
  let finished = false;
  const { path } = await fakeServer(t, (msg, reply) => {
    if (msg.header.type === MessageType.CALL) return reply({});
    if (msg.header.status === MessageStatus.CONTINUE) {
      received.push(Buffer.from(msg.payload));
      packetSizes.push(msg.payload.length);
    } else if (msg.header.status === MessageStatus.OK) {
      finished = true;
      reply({ type: MessageType.STREAM, status: MessageStatus.OK });
    }
  });
  const client = await RpcClient.connect({ path });
  t.teardown(() => client.close());
  const data = Buffer.alloc(STREAM_CHUNK_BYTES * 2 + 1000, 7);
  data.write('start', 0);
  async function* source() {
    yield data.subarray(0, 10);
    yield data.subarray(10);
  }
  await client.callWithUpload(208, (w) => w.int(1), source());
  t.ok(finished, 'finish packet sent');
  t.ok(Buffer.concat(received).equals(data), 'bytes arrive in order');
  t.ok(Math.max(...packetSizes) <= STREAM_CHUNK_BYTES, 'packets at most 256 KiB');
});

t.test('upload stream: a server error fails the upload', async (t) => {
  const { path } = await fakeServer(t, (msg, reply) => {
    if (msg.header.type === MessageType.CALL) return reply({});
    if (msg.header.status === MessageStatus.CONTINUE) {
      reply({ type: MessageType.STREAM, status: MessageStatus.ERROR }, remoteError(38, 'No space left on device'));
    }
  });
  const client = await RpcClient.connect({ path });
  t.teardown(() => client.close());
  async function* endless() {
    for (;;) {
      yield Buffer.alloc(65536);
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  await t.rejects(client.callWithUpload(208, () => undefined, endless()), { name: 'LibvirtError', code: 38 });
  t.equal((await client.call(4).then(() => 'ok', () => 'ok')), 'ok', 'connection still usable');
});

t.test('upload stream: a failing source aborts the stream', async (t) => {
  let aborted = false;
  const { path } = await fakeServer(t, (msg, reply) => {
    if (msg.header.type === MessageType.CALL) return reply({});
    if (msg.header.status === MessageStatus.ERROR) {
      aborted = true;
      reply({ type: MessageType.STREAM, status: MessageStatus.ERROR }, remoteError(1, 'stream aborted at client request'));
    }
  });
  const client = await RpcClient.connect({ path });
  t.teardown(() => client.close());
  async function* broken() {
    yield Buffer.from('partial');
    throw new Error('source broke');
  }
  await t.rejects(client.callWithUpload(208, () => undefined, broken()), { message: 'source broke' });
  t.ok(aborted, 'server saw the abort');
});

t.test('connection loss rejects pending calls, emits close once, fails later calls', async (t) => {
  const { path, sockets } = await fakeServer(t, () => undefined);
  const client = await RpcClient.connect({ path });
  let closes = 0;
  client.on('close', () => closes++);
  const pending = client.call(4);
  while (sockets.length === 0) await new Promise((r) => setTimeout(r, 5));
  sockets[0].destroy();
  await t.rejects(pending, RpcConnectionClosedError);
  await t.rejects(client.call(4), RpcConnectionClosedError);
  t.equal(closes, 1);
  t.ok(client.closed);
});

t.test('a garbage length from the server closes the connection', async (t) => {
  const { path } = await fakeServer(t, (_msg, _reply, socket) => {
    socket.write(Buffer.from([0, 0, 0, 3]));
  });
  const client = await RpcClient.connect({ path });
  const closed = new Promise<Error | undefined>((resolve) => client.once('close', resolve));
  await t.rejects(client.call(4), RpcConnectionClosedError);
  t.match(await closed, { name: 'RpcProtocolError' });
});

t.test('works over TCP as well (remote libvirtd)', async (t) => {
  const server = net.createServer((socket) => {
    socket.on('data', (data) => {
      const header = decodeHeader(data.subarray(4));
      socket.write(encodeMessage({ ...header, type: MessageType.REPLY }, new XdrWriter().string('remote-host').finish()));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as net.AddressInfo;
  const client = await RpcClient.connect({ host: '127.0.0.1', port });
  t.teardown(() => client.destroy());
  t.equal((await client.call(59)).string(), 'remote-host');
});

t.test('connecting to nothing fails with RpcConnectionClosedError', async (t) => {
  await t.rejects(RpcClient.connect({ path: join(tmpdir(), 'rstest-nothing-here.sock') }), RpcConnectionClosedError);
});
