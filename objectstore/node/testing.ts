/**
 * One storage node in the test's own process, on a temp folder with device `sda`, plus a
 * signed client and a timestamp clock; or just a device's LevelDB on a temp folder, with the
 * timestamps and listing rows the container tests write. Everything is closed and removed at
 * the test's end.
 */
import type { Test } from 'tap';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodeServer, type RunningNode } from './server.js';
import { NodeClient } from './node-client.js';
import { createHash } from 'node:crypto';
import { H_CONTENT_LENGTH, T_ETAG, TimestampClock } from './protocol.js';
import { ClassicLevel } from 'classic-level';
import type { ObjectRow } from './container-db.js';

export const TEST_SECRET = 'a-test-secret-of-enough-length';
export const TEST_HASH = { prefix: '', suffix: 'testsuffix' };
export const TEST_PART_POWER = 8;

export interface InProcessNode {
  dir: string;
  node: RunningNode;
  client: NodeClient;
  clock: TimestampClock;
}

export async function startInProcessNode(t: Test, tmpPrefix: string): Promise<InProcessNode> {
  const dir = await mkdtemp(join(tmpdir(), tmpPrefix));
  await mkdir(join(dir, 'sda'));
  const node = await startNodeServer({ devicesDir: dir, secret: TEST_SECRET, hash: TEST_HASH, partPower: TEST_PART_POWER });
  const client = new NodeClient(TEST_SECRET);
  t.teardown(async () => {
    client.close();
    await node.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, node, client, clock: new TimestampClock() };
}

/** A devices folder with one empty device `d1` in a temp folder, removed at the test's end. */
export async function tempDevicesDir(t: Test, tmpPrefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), tmpPrefix));
  await mkdir(join(dir, 'd1'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A LevelDB (JSON values, as DeviceDbs opens them) in a temp folder, closed and removed at the test's end. */
export async function tempLevelDb(t: Test, tmpPrefix: string): Promise<ClassicLevel<string, any>> {
  const dir = await mkdtemp(join(tmpdir(), tmpPrefix));
  const db = new ClassicLevel<string, any>(dir, { valueEncoding: 'json' });
  await db.open();
  t.teardown(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  return db;
}

/** The n-th timestamp of a test (a fixed, valid X-Timestamp). */
export const testTs = (n: number) => `${String(1_700_000_000 + n).padStart(10, '0')}.00000`;

/** A listing row at testTs(n). */
export const testRow = (n: number, size: number, deleted = false): ObjectRow =>
  ({ ts: testTs(n), size, etag: 'e', contentType: 'text/plain', deleted: deleted || undefined });

/**
 * A PUT as the proxy sends a replica: chunked, the declared length in a header (`headers` may
 * declare another) and the body's MD5 in the trailer (`trailer` may give another, or null for
 * none). Resolves with the node's status.
 */
export async function putReplica(client: NodeClient, port: number, path: string, timestamp: string, body: Buffer,
  headers: Record<string, string> = {}, trailer: string | null = createHash('md5').update(body).digest('hex')): Promise<number> {
  const req = client.open({
    host: '127.0.0.1', port, method: 'PUT', path, timestamp,
    headers: { [H_CONTENT_LENGTH]: String(body.length), 'transfer-encoding': 'chunked', ...headers },
  });
  const status = new Promise<number>((resolve, reject) => {
    req.on('response', (r) => {
      r.resume();
      resolve(r.statusCode!);
    });
    req.on('error', reject);
  });
  req.write(body);
  if (trailer !== null) req.addTrailers({ [T_ETAG]: trailer });
  req.end();
  return status;
}

/** A node for the batch tests: counts its batch requests and the single requests beside them. */
export interface BatchTestNode {
  dir: string;
  node: RunningNode;
  client: NodeClient;
  /** Requests to the batch route, and single requests of the watched methods, so far. */
  counts: { batches: number; singles: number };
  /** While true, the node answers its batch route 400, as a node without it does. */
  refuse: boolean;
}

/** A storage node on device `d1` whose `batchPath` requests and single `singleMethods` requests are counted. */
export async function startBatchTestNode(t: Test, tmpPrefix: string, batchPath: string, singleMethods: string[]): Promise<BatchTestNode> {
  const dir = await tempDevicesDir(t, tmpPrefix);
  const self = { counts: { batches: 0, singles: 0 }, refuse: false } as BatchTestNode;
  self.dir = dir;
  self.node = await startNodeServer({
    devicesDir: dir, secret: TEST_SECRET, hash: TEST_HASH, partPower: TEST_PART_POWER, log: () => undefined,
    routes: async (method, url, _req, res) => {
      if (url === batchPath) {
        self.counts.batches++;
        if (self.refuse) {
          res.writeHead(400, { 'content-length': '0' });
          res.end();
          return true;
        }
      } else if (singleMethods.includes(method)) {
        self.counts.singles++;
      }
      return false;
    },
  });
  self.client = new NodeClient(TEST_SECRET);
  t.teardown(async () => {
    self.client.close();
    await self.node.close();
  });
  return self;
}
