/**
 * The dispersion check (like swift-dispersion-report): for each object name, HEAD it on every
 * primary node of its partition, directly over the node protocol (HMAC-signed), and count
 * how many primaries hold the newest version. The result says how many objects have all
 * their replicas in place, how many miss 1, 2, … copies, and, per device, how many copies
 * it should hold and how many it holds. It reads only; it never repairs anything.
 */
import { NodeClient } from '../node/node-client.js';
import { H_BACKEND_TIMESTAMP, nodePath, UNKNOWN_DEVICE_STATUS } from '../node/protocol.js';
import type { Ring } from '../ring/ring.js';

/** HEADs in flight at once (each object costs one per primary). */
export const DEFAULT_CHECK_CONCURRENCY = 16;
/** Time allowed for one HEAD's answer. */
export const DEFAULT_HEAD_TIMEOUT_MS = 5_000;

export interface ObjectName {
  account: string;
  container: string;
  object: string;
}

/** One device's share of the check. */
export interface DeviceTally {
  /** `ip:port/device`. */
  node: string;
  /** Copies the ring says this device must hold among the checked objects. */
  expected: number;
  /** Of those, copies it holds at the newest timestamp. */
  found: number;
  /** HEADs it did not answer (down, timed out, 5xx, 507, unknown device). */
  errors: number;
}

export interface DispersionResult {
  /** Objects checked. */
  objects: number;
  replicas: number;
  /** Objects with every primary holding the newest version. */
  complete: number;
  /** missingCopies[k] = objects missing exactly k copies (k = 1 … replicas; k = replicas: none found). */
  missingCopies: Record<number, number>;
  /** Objects that have at least one copy missing, by name (first MAX_LISTED_MISSING). */
  missingSample: Array<ObjectName & { found: number }>;
  devices: DeviceTally[];
  /** Primary HEADs that got no usable answer. */
  errors: number;
}

export const MAX_LISTED_MISSING = 20;

export interface CheckOptions {
  ring: Ring;
  secret: string;
  /** Reused when given (and not closed); otherwise one is made and closed. */
  client?: NodeClient;
  concurrency?: number;
  timeoutMs?: number;
  /** Told how many copies each object misses (lets a watcher re-check only the incomplete). */
  onObject?: (name: ObjectName, missingCopies: number) => void;
}

type Probe = { status: number; timestamp?: string };

async function head(client: NodeClient, ip: string, port: number, path: string, timeoutMs: number): Promise<Probe> {
  try {
    const r = await client.request({ host: ip, port, method: 'HEAD', path, timeoutMs });
    r.body.resume();
    const ts = r.headers[H_BACKEND_TIMESTAMP];
    return { status: r.status, timestamp: typeof ts === 'string' ? ts : undefined };
  } catch {
    return { status: 0 };
  }
}

const answered = (s: number) => s !== 0 && s !== 507 && s !== UNKNOWN_DEVICE_STATUS && s < 500;

export const deviceKey = (d: { ip: string; port: number; device: string }) => `${d.ip}:${d.port}/${d.device}`;

/** Checks every object of `names` on its primaries. */
export async function checkDispersion(names: Iterable<ObjectName>, o: CheckOptions): Promise<DispersionResult> {
  const client = o.client ?? new NodeClient(o.secret);
  const timeoutMs = o.timeoutMs ?? DEFAULT_HEAD_TIMEOUT_MS;
  const replicas = Math.ceil(o.ring.replicaCount);
  const result: DispersionResult = {
    objects: 0, replicas, complete: 0, missingCopies: {}, missingSample: [], devices: [], errors: 0,
  };
  const tallies = new Map<string, DeviceTally>();
  for (const d of o.ring.devices) {
    if (d) tallies.set(deviceKey(d), { node: deviceKey(d), expected: 0, found: 0, errors: 0 });
  }
  const checkOne = async (n: ObjectName) => {
    const { part, nodes } = o.ring.getNodes(n.account, n.container, n.object);
    const path = (device: string) => nodePath('obj', device, part, n.account, n.container, n.object);
    const probes = await Promise.all(nodes.map((d) => head(client, d.ip, d.port, path(d.device), timeoutMs)));
    // The newest version any primary knows of (data or tombstone).
    let newest = '';
    for (const p of probes) if (p.timestamp && p.timestamp > newest && answered(p.status)) newest = p.timestamp;
    let found = 0;
    probes.forEach((p, i) => {
      const t = tallies.get(deviceKey(nodes[i]!))!;
      t.expected++;
      if (!answered(p.status)) {
        t.errors++;
        result.errors++;
      } else if (p.status >= 200 && p.status < 300 && p.timestamp === newest) {
        t.found++;
        found++;
      }
    });
    result.objects++;
    const missing = nodes.length - found;
    o.onObject?.(n, missing);
    if (missing === 0) result.complete++;
    else {
      result.missingCopies[missing] = (result.missingCopies[missing] ?? 0) + 1;
      if (result.missingSample.length < MAX_LISTED_MISSING) result.missingSample.push({ ...n, found });
    }
  };
  try {
    const it = names[Symbol.iterator]();
    const worker = async () => {
      for (let r = it.next(); !r.done; r = it.next()) await checkOne(r.value);
    };
    await Promise.all(Array.from({ length: o.concurrency ?? DEFAULT_CHECK_CONCURRENCY }, worker));
  } finally {
    if (!o.client) client.close();
  }
  result.devices = [...tallies.values()].filter((t) => t.expected > 0 || tallies.size <= 64)
    .sort((a, b) => a.node.localeCompare(b.node));
  return result;
}

/** True when every checked object has all its replicas in place. */
export function isComplete(r: DispersionResult): boolean {
  return r.complete === r.objects;
}
