/**
 * Human-readable text for `ringstack ring show` and `ringstack ring get-nodes`, laid out like
 * swift-ring-builder's default output and swift-get-nodes, plus the JSON form of a look-up.
 */
import type { RingBuilder } from './builder.js';
import type { Ring, PrimaryNode, HandoffNode } from './ring.js';
import type { RingDevice } from './device.js';
import { balancePerDevice } from './stats.js';
import { hashPath, type HashConfig } from './hash.js';

const fmt2 = (n: number): string => n.toFixed(2);
const hostPort = (ip: string, port: number): string => `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;

/** The summary and device table of a builder. */
export function describeBuilder(b: RingBuilder, file: string): string {
  const s = b.state;
  const live = s.devs.filter((d): d is RingDevice => d !== null);
  const regions = new Set(live.map((d) => d.region)).size;
  const zones = new Set(live.map((d) => `${d.region}/${d.zone}`)).size;
  const held = b.partsPerDevice();
  const bal = s.replica2part2dev ? balancePerDevice(s.devs, s.replica2part2dev, b.parts, s.replicas) : null;
  const lines = [
    `${file}, build version ${s.version}`,
    `${b.parts} partitions, ${s.replicas.toFixed(6)} replicas, ${regions} regions, ${zones} zones, ` +
      `${live.length} devices, ${fmt2(b.balance())} balance, ${fmt2(s.dispersion)} dispersion`,
    `The minimum number of hours before a partition can be reassigned is ${s.minPartHours}`,
    `The overload factor is ${fmt2(s.overload * 100)}% (${s.overload.toFixed(6)})`,
  ];
  if (!b.everRebalanced) lines.push('The builder has never been rebalanced');
  if (s.removeDevIds.length) lines.push(`Devices marked for removal at the next rebalance: ${s.removeDevIds.map((i) => `d${i}`).join(' ')}`);
  const header = ['id', 'region', 'zone', 'ip address:port', 'replication ip:port', 'name', 'weight', 'partitions', 'balance', 'flags', 'meta'];
  const rows = live.map((d) => [
    String(d.id), String(d.region), String(d.zone), hostPort(d.ip, d.port), hostPort(d.replication_ip, d.replication_port),
    d.device, fmt2(d.weight), String(held[d.id] ?? 0), bal ? fmt2(bal[d.id]!) : '0.00',
    s.removeDevIds.includes(d.id) ? 'DEL' : '', d.meta,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 9 ? c : c.padStart(widths[i]!))).join(' ').trimEnd();
  lines.push('Devices:', `  ${line(header)}`, ...rows.map((r) => `  ${line(r)}`));
  return `${lines.join('\n')}\n`;
}

export interface NodesAnswer {
  partition: number;
  primaries: PrimaryNode[];
  handoffs: HandoffNode[];
}

/** Looks a path up: partition, primaries and the first `handoffs` handoffs (all when Infinity). */
export function lookUp(ring: Ring, handoffs: number, account: string, container?: string, object?: string): NodesAnswer {
  const { part, nodes } = ring.getNodes(account, container, object);
  const more: HandoffNode[] = [];
  if (handoffs > 0) {
    for (const h of ring.getMoreNodes(part)) {
      more.push(h);
      if (more.length >= handoffs) break;
    }
  }
  return { partition: part, primaries: nodes, handoffs: more };
}

const jsonDev = (d: RingDevice) => ({ id: d.id, region: d.region, zone: d.zone, ip: d.ip, port: d.port, device: d.device, weight: d.weight });

/** `{"partition": N, "primaries": [dev…], "handoffs": [dev…]}` */
export function nodesJson(a: NodesAnswer): string {
  return `${JSON.stringify({ partition: a.partition, primaries: a.primaries.map(jsonDev), handoffs: a.handoffs.map(jsonDev) })}\n`;
}

/** swift-get-nodes style text. */
export function nodesText(a: NodesAnswer, hash: HashConfig, account: string, container?: string, object?: string): string {
  const lines = [`Account  \t${account}`];
  if (container) lines.push(`Container\t${container}`);
  if (object) lines.push(`Object   \t${object}`);
  lines.push(`Partition\t${a.partition}`, `Hash     \t${hashPath(account, container, object, hash).toString('hex')}`, '');
  for (const d of a.primaries) lines.push(`Server:Port Device\t${hostPort(d.ip, d.port)} ${d.device}\t(d${d.id} r${d.region} z${d.zone})`);
  for (const d of a.handoffs) lines.push(`Server:Port Device\t${hostPort(d.ip, d.port)} ${d.device}\t(d${d.id} r${d.region} z${d.zone})\t [Handoff]`);
  return `${lines.join('\n')}\n`;
}
