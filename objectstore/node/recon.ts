/**
 * "Recon" for operators (Swift's recon cache): what the replicator and the auditor of a storage
 * node last did, and how full its devices are. The replicator and the auditor write their stats
 * as JSON to `<devicesDir>/.recon/replication.json` and `<devicesDir>/.recon/audit.json` (written
 * to a temp file and renamed: a reader never sees half a file; no fsync, losing the last update in
 * a crash is harmless). The node serves them, HMAC-signed like every node request, on
 *
 *   GET /recon/replication  -> ReplicationRecon ({} members absent before the first pass)
 *   GET /recon/audit        -> AuditRecon
 *   GET /recon/devices      -> DevicesRecon (statfs of every device folder, now)
 *
 * `ringstack objectstore status` reads exactly these shapes.
 */
import type http from 'node:http';
import { mkdir, readFile, readdir, rename, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Folder (inside the devices folder) holding the recon files; a dot name is never a device. */
export const RECON_DIR = '.recon';
export const REPLICATION_RECON_FILE = 'replication.json';
export const AUDIT_RECON_FILE = 'audit.json';
/** Node URL paths (GET, signed with an empty X-Timestamp). */
export const RECON_PATHS = {
  replication: '/recon/replication',
  audit: '/recon/audit',
  devices: '/recon/devices',
} as const;

/** Stats of the replicator. Times are milliseconds since the epoch; counts are for the last complete pass. */
export interface ReplicationRecon {
  /** When the pass now running (or the last one) started. */
  lastPassStarted?: number;
  /** When the last complete pass ended (absent until one completed). */
  lastPassCompleted?: number;
  /** Duration of the last complete pass, seconds. */
  lastPassSeconds?: number;
  /** Partitions looked at in the last complete pass (primary and handoff). */
  partitionsChecked: number;
  /** Partition folders on this node's devices at the start of that pass. */
  partitionsTotal: number;
  /** Partitions worked on again at the end of that pass for a peer that came back during it. */
  partitionsRetried: number;
  /** Suffixes whose files were pushed to a peer. */
  suffixesPushed: number;
  /** Object files (.data, .ts, .meta) pushed to peers. */
  objectsPushed: number;
  /** Handoff partitions sent to all their primaries and removed here. */
  handoffPartitionsReverted: number;
  /** Tombstones older than the reclaim age removed. */
  tombstonesReclaimed: number;
  /** Failed exchanges with peers (peer down, bad answer) and local errors. */
  errors: number;
  /** Passes completed since the node started. */
  passes: number;
  /** The running pass: partitions done so far of partitionsTotal (absent when idle). */
  inProgress?: { started: number; partitionsDone: number; partitionsTotal: number };
}

/** Stats of the auditor. Times are milliseconds since the epoch. */
export interface AuditRecon {
  /** When the last complete pass over all .data files ended. */
  lastPassCompleted?: number;
  /** Duration of the last complete pass, seconds. */
  lastPassSeconds?: number;
  /** Files checked in the last complete pass. */
  filesChecked: number;
  /** Body bytes read in the last complete pass. */
  bytesChecked: number;
  /** Files quarantined in the last complete pass. */
  quarantined: number;
  /** Files quarantined since the node started (by the auditor and by GET verification). */
  quarantinedTotal: number;
  /** Complete passes since the node started. */
  passes: number;
}

/** One device folder's file system usage, bytes. */
export interface DeviceRecon {
  device: string;
  size: number;
  used: number;
  available: number;
  /** False when the folder could not be examined (then the sizes are 0). */
  mounted: boolean;
}

export interface DevicesRecon {
  devices: DeviceRecon[];
}

export function emptyReplicationRecon(): ReplicationRecon {
  return {
    partitionsChecked: 0, partitionsTotal: 0, partitionsRetried: 0, suffixesPushed: 0, objectsPushed: 0,
    handoffPartitionsReverted: 0, tombstonesReclaimed: 0, errors: 0, passes: 0,
  };
}

export function emptyAuditRecon(): AuditRecon {
  return { filesChecked: 0, bytesChecked: 0, quarantined: 0, quarantinedTotal: 0, passes: 0 };
}

/** Writes one recon file atomically (temp file + rename, no fsync). */
export async function writeRecon(devicesDir: string, file: string, value: unknown): Promise<void> {
  const dir = join(devicesDir, RECON_DIR);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${file}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(tmp, JSON.stringify(value));
  await rename(tmp, join(dir, file));
}

/** Reads one recon file; undefined when absent or unreadable. */
export async function readRecon<T>(devicesDir: string, file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(join(devicesDir, RECON_DIR, file), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** statfs of every device folder (dot folders such as .recon are skipped). */
export async function devicesRecon(devicesDir: string): Promise<DevicesRecon> {
  const names = (await readdir(devicesDir, { withFileTypes: true }).catch(() => []))
    .filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort();
  const devices = await Promise.all(names.map(async (device): Promise<DeviceRecon> => {
    try {
      const s = await statfs(join(devicesDir, device));
      const bsize = Number(s.bsize);
      const size = Number(s.blocks) * bsize;
      return { device, size, used: size - Number(s.bfree) * bsize, available: Number(s.bavail) * bsize, mounted: true };
    } catch {
      return { device, size: 0, used: 0, available: 0, mounted: false };
    }
  }));
  return { devices };
}

/**
 * Serves GET /recon/replication, /recon/audit and /recon/devices; returns false for other URLs.
 * The caller has checked the cluster signature.
 */
export async function handleRecon(devicesDir: string, method: string, url: string,
  res: http.ServerResponse): Promise<boolean> {
  const path = url.split('?')[0];
  let body: unknown;
  if (path === RECON_PATHS.replication) {
    body = (await readRecon<ReplicationRecon>(devicesDir, REPLICATION_RECON_FILE)) ?? emptyReplicationRecon();
  } else if (path === RECON_PATHS.audit) {
    body = (await readRecon<AuditRecon>(devicesDir, AUDIT_RECON_FILE)) ?? emptyAuditRecon();
  } else if (path === RECON_PATHS.devices) {
    body = await devicesRecon(devicesDir);
  } else {
    return false;
  }
  const status = method === 'GET' || method === 'HEAD' ? 200 : 405;
  const b = Buffer.from(status === 200 ? JSON.stringify(body) : `method ${method} not allowed\n`);
  res.writeHead(status, { 'content-type': status === 200 ? 'application/json' : 'text/plain; charset=utf-8', 'content-length': String(b.length) });
  res.end(method === 'HEAD' ? undefined : b);
  return true;
}
