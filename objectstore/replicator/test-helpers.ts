/**
 * Test helpers for the replicator and auditor tests: where a cluster's node keeps an object
 * (real folders on disk), and small object writes and reads through the cluster's backend.
 */
import { open, readdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { TestCluster } from '../cluster/test-cluster.js';
import { hashPath } from '../ring/hash.js';

export const ACCOUNT = 'acct';
export const CONTAINER = 'bucket';

/** Partition, hash and the primary node indexes of an object in the cluster's (test process) ring. */
export function placement(c: TestCluster, object: string): { part: number; hash: string; primaries: number[] } {
  const { part, nodes } = c.rings.object.getNodes(ACCOUNT, CONTAINER, object);
  const hash = hashPath(ACCOUNT, CONTAINER, object, c.hash).toString('hex');
  return { part, hash, primaries: nodes.map((n) => c.nodes.findIndex((x) => x.device === n.device)) };
}

export function partitionDirOn(c: TestCluster, i: number, part: number): string {
  return join(c.devicePath(i), 'objects', String(part));
}

export function hashDirOn(c: TestCluster, i: number, part: number, hash: string): string {
  return join(partitionDirOn(c, i, part), hash.slice(-3), hash);
}

/** The file names node i holds for an object ([] when none). */
export async function filesOn(c: TestCluster, i: number, object: string): Promise<string[]> {
  const { part, hash } = placement(c, object);
  return (await readdir(hashDirOn(c, i, part, hash)).catch(() => [] as string[])).sort();
}

/** Path of the object's .data file on node i (undefined when it holds none). */
export async function dataFileOn(c: TestCluster, i: number, object: string): Promise<string | undefined> {
  const { part, hash } = placement(c, object);
  const f = (await filesOn(c, i, object)).find((x) => x.endsWith('.data'));
  return f && join(hashDirOn(c, i, part, hash), f);
}

/** XORs the byte at `offset` of a file with `mask` (damage that keeps the file's size). */
export async function flipByteInFile(path: string, offset: number, mask = 0xff): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = b[0]! ^ mask;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

/** Flips one byte of node i's .data file of `object` at `offset`. */
export async function flipByte(c: TestCluster, i: number, object: string, offset: number): Promise<void> {
  await flipByteInFile((await dataFileOn(c, i, object))!, offset);
}

export async function put(c: TestCluster, object: string, body: Buffer): Promise<string> {
  const info = await c.backend.putObject(ACCOUNT, CONTAINER, object, { body: Readable.from([body]), contentLength: body.length });
  return info.timestamp;
}

/** Reads an object through the backend: its bytes, or the error the stream or request failed with. */
export async function get(c: TestCluster, object: string): Promise<{ body?: Buffer; error?: Error }> {
  try {
    const r = await c.backend.getObject(ACCOUNT, CONTAINER, object);
    const chunks: Buffer[] = [];
    for await (const ch of r.body) chunks.push(ch as Buffer);
    return { body: Buffer.concat(chunks) };
  } catch (e) {
    return { error: e as Error };
  }
}

export function md5(b: Buffer): string {
  return createHash('md5').update(b).digest('hex');
}
