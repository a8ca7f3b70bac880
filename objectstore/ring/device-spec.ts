/**
 * The device syntax of swift-ring-builder, parsed for `ringstack ring`:
 *  - add:    r<region>z<zone>-<ip>:<port>[R<repl_ip>:<repl_port>]/<device>[_<meta>]
 *  - search: any of d<id> r<region> z<zone> -<ip> or <ip> :<port> R<repl_ip> :<repl_port>
 *            /<device> _<meta>, in that order (e.g. "d3", "z2", "10.0.0.1:6200/sdb").
 * IPv6 addresses are written in brackets: r1z1-[::1]:6200/sdb.
 */
import { BuilderError } from './errors.js';

export interface DeviceSpec {
  region: number;
  zone: number;
  ip: string;
  port: number;
  replication_ip?: string;
  replication_port?: number;
  device: string;
  meta: string;
}

export interface DeviceSearch {
  id?: number;
  region?: number;
  zone?: number;
  ip?: string;
  port?: number;
  replication_ip?: string;
  replication_port?: number;
  device?: string;
  meta?: string;
}

const IP = String.raw`(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]*[A-Za-z0-9])`;
const ADD_RE = new RegExp(String.raw`^r(\d+)z(\d+)-${IP}:(\d+)(?:R${IP}:(\d+))?/([^_/\s]+)(?:_(.*))?$`);
const SEARCH_RE = new RegExp(String.raw`^(?:d(\d+))?(?:r(\d+))?(?:z(\d+))?(?:-?${IP})?(?::(\d+))?(?:R${IP})?(?::(\d+))?(?:/([^_/\s]+))?(?:_(.*))?$`);

const unbracket = (ip: string): string => (ip.startsWith('[') ? ip.slice(1, -1) : ip);

function port(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new BuilderError(`${what} must be between 1 and 65535, got ${text}`);
  return n;
}

/** Parses `r1z2-10.0.0.1:6200/sdb1_meta`; throws BuilderError naming the value when it does not fit. */
export function parseDeviceSpec(text: string): DeviceSpec {
  const m = ADD_RE.exec(text);
  if (!m) {
    throw new BuilderError(`invalid device "${text}": expected r<region>z<zone>-<ip>:<port>/<device>[_<meta>]`);
  }
  const spec: DeviceSpec = {
    region: Number(m[1]), zone: Number(m[2]), ip: unbracket(m[3]!), port: port(m[4]!, 'port'),
    device: m[7]!, meta: m[8] ?? '',
  };
  if (m[5] !== undefined) {
    spec.replication_ip = unbracket(m[5]);
    spec.replication_port = port(m[6]!, 'replication port');
  }
  return spec;
}

/** Parses a search value such as `d3`, `z2`, `10.0.0.1:6200/sdb` or `r1z1-10.0.0.1`. */
export function parseDeviceSearch(text: string): DeviceSearch {
  const m = text === '' ? null : SEARCH_RE.exec(text);
  if (!m || m.slice(1).every((g) => g === undefined)) {
    throw new BuilderError(`invalid search value "${text}": use d<id>, z<zone>, <ip>:<port>/<device> or a mix`);
  }
  const s: DeviceSearch = {};
  if (m[1] !== undefined) s.id = Number(m[1]);
  if (m[2] !== undefined) s.region = Number(m[2]);
  if (m[3] !== undefined) s.zone = Number(m[3]);
  if (m[4] !== undefined) s.ip = unbracket(m[4]);
  if (m[5] !== undefined) s.port = Number(m[5]);
  if (m[6] !== undefined) s.replication_ip = unbracket(m[6]);
  if (m[7] !== undefined) s.replication_port = Number(m[7]);
  if (m[8] !== undefined) s.device = m[8];
  if (m[9] !== undefined) s.meta = m[9];
  return s;
}

/** True when the device matches every field the search names. */
export function matchesSearch(dev: Record<string, unknown>, search: DeviceSearch): boolean {
  for (const [k, v] of Object.entries(search)) {
    if (v !== undefined && dev[k === 'id' ? 'id' : k] !== v) return false;
  }
  return true;
}
