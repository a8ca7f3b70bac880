/**
 * Loading the three rings (object, container, account) from a ring folder, and writing the
 * rings of a one-machine cluster (part power 10, 3 replicas, one zone per node) with the
 * ring builder on first start.
 */
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Ring } from '../ring/ring.js';
import { RingBuilder } from '../ring/builder.js';
import { writeRingFile } from '../ring/ring-file.js';
import type { HashConfig } from '../ring/hash.js';
import { RING_FILES } from './config.js';
import type { ProxyRings } from '../proxy/replicated-backend.js';

export const LOCAL_PART_POWER = 10;
export const LOCAL_REPLICAS = 3;
const LOCAL_MIN_PART_HOURS = 1;
/** Fixed seed so the same devices always give the same rings. */
const LOCAL_SEED = 1;

export async function loadRings(ringDir: string, hash: HashConfig): Promise<ProxyRings> {
  const [object, container, account] = await Promise.all([
    Ring.load(join(ringDir, RING_FILES.object), hash),
    Ring.load(join(ringDir, RING_FILES.container), hash),
    Ring.load(join(ringDir, RING_FILES.account), hash),
  ]);
  return { object, container, account };
}

export interface LocalDevice {
  ip: string;
  port: number;
  device: string;
  zone: number;
}

/** Writes object/container/account rings over `devices` unless they already exist. */
export async function ensureLocalRings(ringDir: string, devices: LocalDevice[]): Promise<boolean> {
  const files = Object.values(RING_FILES).map((f) => join(ringDir, f));
  const present = await Promise.all(files.map((f) => access(f).then(() => true, () => false)));
  if (present.every(Boolean)) return false;
  await mkdir(ringDir, { recursive: true });
  const b = new RingBuilder(LOCAL_PART_POWER, LOCAL_REPLICAS, LOCAL_MIN_PART_HOURS);
  for (const d of devices) b.addDevice({ region: 1, zone: d.zone, ip: d.ip, port: d.port, device: d.device, meta: '', weight: 1 });
  b.rebalance({ seed: LOCAL_SEED });
  const data = b.toRingData();
  for (const f of files) await writeRingFile(f, data);
  return true;
}
