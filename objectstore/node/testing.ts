/**
 * One storage node in the test's own process, on a temp folder with device `sda`, plus a
 * signed client and a timestamp clock; everything is closed and removed at the test's end.
 */
import type { Test } from 'tap';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodeServer, type RunningNode } from './server.js';
import { NodeClient } from './node-client.js';
import { TimestampClock } from './protocol.js';

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
