/**
 * Which objects a dispersion check looks at:
 *  - populate mode: small objects in one container (`dispersion_objects` of the account
 *    DISPERSION_ACCOUNT), one per chosen partition, so N objects cover N partitions of the
 *    object ring (Swift's dispersion populate does the same to sample ~1 % of partitions).
 *    Names are found by hashing `dispersion-<i>` for i = 0, 1, … and keeping the first name
 *    of each new partition, so populating again rewrites the same names.
 *  - container mode: every object listed in the given containers (the fault suite checks
 *    all its objects this way).
 * Writes and listings go through a ReplicatedBackend (node protocol and the cluster secret;
 * no proxy, no user credentials).
 */
import { Readable } from 'node:stream';
import type { ObjectBackend, ObjectEntry } from '../proxy/backend.js';
import type { Ring } from '../ring/ring.js';
import type { ObjectName } from './check.js';

export const DISPERSION_ACCOUNT = '.dispersion';
export const DISPERSION_CONTAINER = 'dispersion_objects';
/** Share of the object ring's partitions `--populate` covers when no count is given. */
export const DEFAULT_COVERAGE = 0.01;
const NAME_PREFIX = 'dispersion-';
const LIST_PAGE = 1000;
const PUT_CONCURRENCY = 8;

export class DispersionInputError extends Error {}

/** N object names, each in a different partition of `ring`. */
export function dispersionNames(ring: Ring, count: number, account = DISPERSION_ACCOUNT,
  container = DISPERSION_CONTAINER): string[] {
  if (count > ring.partitionCount) {
    throw new DispersionInputError(`cannot cover ${count} partitions: the ring has ${ring.partitionCount}`);
  }
  const seen = new Set<number>();
  const names: string[] = [];
  for (let i = 0; names.length < count; i++) {
    const name = `${NAME_PREFIX}${i}`;
    const part = ring.getPart(account, container, name);
    if (seen.has(part)) continue;
    seen.add(part);
    names.push(name);
  }
  return names;
}

/** The default populate count: DEFAULT_COVERAGE of the partitions, at least 1. */
export function defaultPopulateCount(ring: Ring): number {
  return Math.max(1, Math.round(ring.partitionCount * DEFAULT_COVERAGE));
}

/** Writes the dispersion objects (the container is created if needed). Returns their names. */
export async function populate(backend: ObjectBackend, ring: Ring, count: number,
  account = DISPERSION_ACCOUNT, container = DISPERSION_CONTAINER): Promise<ObjectName[]> {
  const names = dispersionNames(ring, count, account, container);
  await backend.putContainer(account, container);
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++]!;
      const body = Buffer.from(name);
      await backend.putObject(account, container, name, {
        body: Readable.from([body]), contentLength: body.length, contentType: 'text/plain',
      });
    }
  };
  await Promise.all(Array.from({ length: PUT_CONCURRENCY }, worker));
  return names.map((object) => ({ account, container, object }));
}

/** Parses `ACCOUNT/CONTAINER`. */
export function parseContainerArg(s: string): { account: string; container: string } {
  const i = s.indexOf('/');
  if (i <= 0 || i === s.length - 1 || s.indexOf('/', i + 1) >= 0) {
    throw new DispersionInputError(`--container wants ACCOUNT/CONTAINER, got "${s}"`);
  }
  return { account: s.slice(0, i), container: s.slice(i + 1) };
}

/** Every object listed in the container (all pages). */
export async function listedObjects(backend: ObjectBackend, account: string, container: string): Promise<ObjectName[]> {
  const out: ObjectName[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await backend.listObjects(account, container, { marker, limit: LIST_PAGE });
    const entries = page.entries.filter((e): e is ObjectEntry => 'name' in e);
    for (const e of entries) out.push({ account, container, object: e.name });
    if (!page.truncated || entries.length === 0) return out;
    marker = entries[entries.length - 1]!.name;
  }
}
