/**
 * A storage node killed after acknowledging small writes, before its log checkpoint, whose
 * files never reached the disk (what a host crash does to files still in the page cache):
 * the node started again serves every acknowledged write, and nothing that was replaced.
 */
import t from 'tap';
import { mkdtemp, mkdir, rm, readdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startNodeServer, type RunningNode } from './server.js';
import { NodeClient } from './node-client.js';
import { TimestampClock, nodePath, H_CONTENT_LENGTH, T_ETAG, H_BACKEND_TIMESTAMP } from './protocol.js';
import { hashPath, partitionOf } from '../ring/hash.js';
import { TEST_SECRET, TEST_HASH, TEST_PART_POWER } from './testing.js';

const path = (o: string) => nodePath('obj', 'sda', partitionOf(hashPath('a', 'c', o, TEST_HASH), TEST_PART_POWER), 'a', 'c', o);

t.test('acknowledged small writes survive a crash that loses their files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-log-recovery-'));
  await mkdir(join(dir, 'sda'));
  const client = new NodeClient(TEST_SECRET);
  const clock = new TimestampClock();
  const logs: string[] = [];
  const start = (): Promise<RunningNode> => startNodeServer({
    devicesDir: dir, secret: TEST_SECRET, hash: TEST_HASH, partPower: TEST_PART_POWER,
    logCheckpointMs: 3_600_000, log: (m) => logs.push(m),
  });
  const first = await start();
  t.teardown(async () => {
    client.close();
    await rm(dir, { recursive: true, force: true });
  });

  const put = async (node: RunningNode, o: string, body: string, method = 'PUT') => {
    const r = await client.fetchText({
      host: '127.0.0.1', port: node.port, method, path: path(o), timestamp: clock.next(),
      headers: method === 'PUT' ? { [H_CONTENT_LENGTH]: String(body.length), [T_ETAG]: createHash('md5').update(body).digest('hex') } : {},
      body: method === 'PUT' ? Buffer.from(body) : undefined,
    });
    return r.status;
  };
  const get = async (node: RunningNode, o: string) => {
    const r = await client.fetchText({ host: '127.0.0.1', port: node.port, method: 'GET', path: path(o), timestamp: clock.next() });
    return { status: r.status, body: r.text, ts: r.headers[H_BACKEND_TIMESTAMP] };
  };

  const written: Record<string, string> = {};
  for (let i = 0; i < 20; i++) {
    written[`o${i}`] = `body ${i} `.repeat(i + 1);
    t.equal(await put(first, `o${i}`, written[`o${i}`]!), 201);
  }
  t.equal(await put(first, 'o3', 'o3 replaced'), 201);
  written.o3 = 'o3 replaced';
  t.equal(await put(first, 'o4', '', 'DELETE'), 204);
  delete written.o4;

  // The crash: the node stops answering without its shutdown checkpoint, and every placed file
  // is lost, as if none had been written back.
  await new Promise<void>((r) => {
    first.server.close(() => r());
    first.server.closeAllConnections();
  });
  t.ok((await readdir(join(dir, 'sda', 'wal'))).length > 0, 'the log holds the writes');
  const lost = await removeObjectFiles(join(dir, 'sda', 'objects'));
  t.equal(lost, 20, 'every file gone (one per object: the newest version, or o4\'s tombstone)');

  const second = await start();
  t.teardown(() => second.close());
  for (const [o, body] of Object.entries(written)) t.same((await get(second, o)).body, body, `${o} back`);
  const deleted = await get(second, 'o4');
  t.equal(deleted.status, 404, 'the deleted object stays deleted');
  t.ok(deleted.ts, 'its tombstone is back');
  t.match(logs.join('\n'), /small-write logs replayed: 1 segments, 22 records, 22 files written again/);
  t.same(await readdir(join(dir, 'sda', 'wal')), [], 'segments removed once replayed');
  await first.storage.close();
});

/** Removes every object file under `dir`; returns how many. */
async function removeObjectFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) {
      await unlink(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
      n++;
    }
  }
  return n;
}
