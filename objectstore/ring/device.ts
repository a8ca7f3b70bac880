/**
 * The device record of a ring, as Swift stores it in a ring file's JSON header
 * (`devs`: a list indexed by device id, with `null` for ids no longer in use).
 */

export interface RingDevice {
  id: number;
  region: number;
  zone: number;
  ip: string;
  port: number;
  device: string;
  weight: number;
  meta: string;
  replication_ip: string;
  replication_port: number;
}

/** Fills in what older ring files leave out, the way Swift's ring loader does. */
export function normalizeDevice(raw: Record<string, unknown>, id: number): RingDevice {
  const ip = String(raw.ip ?? '');
  const port = Number(raw.port ?? 0);
  return {
    ...raw,
    id: typeof raw.id === 'number' ? raw.id : id,
    region: typeof raw.region === 'number' ? raw.region : 1,
    zone: Number(raw.zone ?? 0),
    ip,
    port,
    device: String(raw.device ?? ''),
    weight: Number(raw.weight ?? 0),
    meta: String(raw.meta ?? ''),
    replication_ip: typeof raw.replication_ip === 'string' ? raw.replication_ip : ip,
    replication_port: typeof raw.replication_port === 'number' ? raw.replication_port : port,
  };
}

/** "r1z2-10.0.0.1:6200/sdb" — how swift-ring-builder names a device in its messages. */
export function deviceLabel(d: Pick<RingDevice, 'id' | 'region' | 'zone' | 'ip' | 'port' | 'device'>): string {
  const ip = d.ip.includes(':') ? `[${d.ip}]` : d.ip;
  return `d${d.id}r${d.region}z${d.zone}-${ip}:${d.port}/${d.device}`;
}
