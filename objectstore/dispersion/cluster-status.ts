/**
 * `ringstack objectstore status`: asks every storage node named in the rings for its recon
 * stats (node/recon.ts: GET /recon/replication, /recon/audit, /recon/devices, HMAC-signed)
 * and gathers them: which nodes answer, how full each ring device is, when replication and
 * auditing last completed and how far the running pass is. A node that does not answer, or a
 * ring device the node does not report as mounted, makes the status unhealthy.
 */
import { NodeClient } from '../node/node-client.js';
import {
  RECON_PATHS, type AuditRecon, type DeviceRecon, type DevicesRecon, type ReplicationRecon,
} from '../node/recon.js';
import type { ProxyRings } from '../proxy/replicated-backend.js';

export const STATUS_TIMEOUT_MS = 5_000;

export interface NodeStatus {
  /** `ip:port`. */
  node: string;
  up: boolean;
  /** Why the node counts as down (connection error, status). */
  error?: string;
  /** Devices the rings place on this node. */
  ringDevices: string[];
  devices: Array<DeviceRecon & { inRing: boolean; fillPercent: number }>;
  /** Ring devices the node does not report (or reports unmounted). */
  missingDevices: string[];
  replication?: ReplicationRecon;
  audit?: AuditRecon;
}

export interface ClusterStatus {
  /** Milliseconds since the epoch when the status was taken. */
  at: number;
  nodes: NodeStatus[];
  healthy: boolean;
}

/** Every node (ip:port) of the three rings with the devices placed on it. */
export function ringNodes(rings: ProxyRings): Map<string, { ip: string; port: number; devices: Set<string> }> {
  const out = new Map<string, { ip: string; port: number; devices: Set<string> }>();
  for (const ring of [rings.object, rings.container, rings.account]) {
    for (const d of ring.devices) {
      if (!d) continue;
      const key = `${d.ip}:${d.port}`;
      let n = out.get(key);
      if (!n) out.set(key, (n = { ip: d.ip, port: d.port, devices: new Set() }));
      n.devices.add(d.device);
    }
  }
  return out;
}

async function getJson<T>(client: NodeClient, ip: string, port: number, path: string, timeoutMs: number): Promise<T> {
  const r = await client.fetchText({ host: ip, port, method: 'GET', path, timeoutMs });
  if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}`);
  return JSON.parse(r.text) as T;
}

/** Collects the recon stats of every node in the rings. */
export async function clusterStatus(rings: ProxyRings, secret: string, timeoutMs = STATUS_TIMEOUT_MS): Promise<ClusterStatus> {
  const client = new NodeClient(secret);
  try {
    const nodes = await Promise.all([...ringNodes(rings)].map(async ([key, n]): Promise<NodeStatus> => {
      const ringDevices = [...n.devices].sort();
      const st: NodeStatus = { node: key, up: false, ringDevices, devices: [], missingDevices: [...ringDevices] };
      try {
        const [replication, audit, devs] = await Promise.all([
          getJson<ReplicationRecon>(client, n.ip, n.port, RECON_PATHS.replication, timeoutMs),
          getJson<AuditRecon>(client, n.ip, n.port, RECON_PATHS.audit, timeoutMs),
          getJson<DevicesRecon>(client, n.ip, n.port, RECON_PATHS.devices, timeoutMs),
        ]);
        st.up = true;
        st.replication = replication;
        st.audit = audit;
        st.devices = devs.devices.map((d) => ({
          ...d, inRing: n.devices.has(d.device), fillPercent: d.size > 0 ? (100 * d.used) / d.size : 0,
        }));
        st.missingDevices = ringDevices.filter((name) => !devs.devices.some((d) => d.device === name && d.mounted));
      } catch (e) {
        st.error = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      }
      return st;
    }));
    nodes.sort((a, b) => a.node.localeCompare(b.node));
    return { at: Date.now(), nodes, healthy: nodes.every((n) => n.up && n.missingDevices.length === 0) };
  } finally {
    client.close();
  }
}

function age(ms: number | undefined, now: number): string {
  if (ms === undefined) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}

/** The human form: one table of nodes (replication, audit) and one of devices. */
export function formatStatus(s: ClusterStatus): string {
  const nodeRows = s.nodes.map((n) => {
    const r = n.replication;
    const progress = r?.inProgress
      ? `${r.inProgress.partitionsDone}/${r.inProgress.partitionsTotal} parts`
      : r ? 'idle' : '-';
    return [
      n.node, n.up ? 'up' : `DOWN (${n.error ?? '?'})`,
      n.up ? age(r?.lastPassCompleted, s.at) : '-',
      r?.lastPassSeconds !== undefined ? `${r.lastPassSeconds.toFixed(1)}s` : '-',
      progress,
      r ? String(r.errors) : '-',
      n.up ? age(n.audit?.lastPassCompleted, s.at) : '-',
      n.audit ? String(n.audit.filesChecked) : '-',
      n.audit ? String(n.audit.quarantinedTotal) : '-',
    ];
  });
  const devRows: string[][] = [];
  for (const n of s.nodes) {
    for (const d of n.devices.filter((x) => x.inRing)) {
      devRows.push([`${n.node}/${d.device}`, d.mounted ? 'ok' : 'UNMOUNTED', `${d.fillPercent.toFixed(1)}%`,
        gib(d.used), gib(d.size)]);
    }
    for (const m of n.missingDevices) devRows.push([`${n.node}/${m}`, n.up ? 'MISSING' : 'node down', '-', '-', '-']);
  }
  const lines = [
    ...table(['NODE', 'STATE', 'REPLICATED', 'PASS', 'PROGRESS', 'REPL ERRORS', 'AUDITED', 'FILES', 'QUARANTINED'], nodeRows),
    '',
    ...table(['DEVICE', 'STATE', 'FILL', 'USED', 'SIZE'], devRows),
    '',
    s.healthy ? 'all nodes up, all devices present' : 'UNHEALTHY: a node is down or a device is missing',
  ];
  return `${lines.join('\n')}\n`;
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
