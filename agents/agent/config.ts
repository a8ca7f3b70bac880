/**
 * The agent's configuration, read once at start-up: one YAML file (every key optional), then
 * environment variables RINGSTACK_AGENT_*, then defaults. Relative paths are relative to the
 * config file's folder.
 *
 * ```yaml
 * host: hv1                          # RINGSTACK_AGENT_HOST (default: the machine's hostname)
 * zone: default                      # RINGSTACK_AGENT_ZONE
 * libvirtUri: qemu:///system         # RINGSTACK_AGENT_LIBVIRT_URI (or test:///default)
 * libvirtSocket: /var/run/libvirt/libvirt-sock   # RINGSTACK_AGENT_LIBVIRT_SOCKET
 * domainType: qemu                   # RINGSTACK_AGENT_DOMAIN_TYPE: qemu (TCG) or kvm
 * state:
 *   endpoint: http://127.0.0.1:8080  # RINGSTACK_AGENT_STATE_ENDPOINT (S3 API)
 *   accessKeyId: ...                 # RINGSTACK_AGENT_STATE_ACCESS_KEY_ID
 *   secretAccessKey: ...             # RINGSTACK_AGENT_STATE_SECRET_ACCESS_KEY
 *   bucket: ringstack-state          # RINGSTACK_AGENT_STATE_BUCKET
 *   region: us-east-1                # RINGSTACK_AGENT_STATE_REGION
 * dataDir: /var/lib/ringstack/agent  # RINGSTACK_AGENT_DATA_DIR: pools and the local record
 * namePrefix: rs                     # RINGSTACK_AGENT_NAME_PREFIX: prefix of every libvirt name
 * pollIntervalMs: 1000               # RINGSTACK_AGENT_POLL_INTERVAL_MS
 * resyncIntervalMs: 60000            # RINGSTACK_AGENT_RESYNC_INTERVAL_MS
 * shutdownTimeoutMs: 60000           # RINGSTACK_AGENT_SHUTDOWN_TIMEOUT_MS
 * ```
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_STATE_BUCKET } from '../contract/keys.js';
import { DEFAULT_POLL_INTERVAL_MS, DEFAULT_RESYNC_INTERVAL_MS, DEFAULT_SHUTDOWN_TIMEOUT_MS } from './agent.js';
import { DEFAULT_NAME_PREFIX } from './naming.js';

export const DEFAULT_LIBVIRT_URI = 'qemu:///system';
export const DEFAULT_DATA_DIR = '/var/lib/ringstack/agent';
export const DEFAULT_ZONE = 'default';
export const DEFAULT_REGION = 'us-east-1';
const ENV = 'RINGSTACK_AGENT_';
const MAX_MS = 24 * 3600 * 1000;

export class AgentConfigError extends Error {
  override name = 'AgentConfigError';
}

export interface AgentConfig {
  host: string;
  zone: string;
  libvirtUri: string;
  libvirtSocket?: string;
  domainType: 'qemu' | 'kvm';
  state: { endpoint: string; accessKeyId: string; secretAccessKey: string; bucket: string; region: string };
  dataDir: string;
  namePrefix: string;
  pollIntervalMs: number;
  resyncIntervalMs: number;
  shutdownTimeoutMs: number;
}

type Env = Record<string, string | undefined>;

const TOP = ['host', 'zone', 'libvirtUri', 'libvirtSocket', 'domainType', 'state', 'dataDir', 'namePrefix', 'pollIntervalMs', 'resyncIntervalMs', 'shutdownTimeoutMs'];
const STATE = ['endpoint', 'accessKeyId', 'secretAccessKey', 'bucket', 'region'];

function envName(key: string): string {
  return ENV + key.replace(/([a-z])([A-Z])/g, '$1_$2').replace(/\./g, '_').toUpperCase();
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new AgentConfigError(`${what} must be a mapping`);
  return v as Record<string, unknown>;
}

/** Builds the config from parsed YAML (may be {}), the environment and defaults. */
export function resolveAgentConfig(raw: unknown, baseDir: string, env: Env = process.env): AgentConfig {
  const top = obj(raw, 'config');
  for (const k of Object.keys(top)) if (!TOP.includes(k)) throw new AgentConfigError(`unknown setting "${k}"`);
  const state = obj(top.state, 'state');
  for (const k of Object.keys(state)) if (!STATE.includes(k)) throw new AgentConfigError(`unknown setting "state.${k}"`);

  const str = (key: string, from: Record<string, unknown>, field: string): string | undefined => {
    const e = env[envName(key)];
    if (e !== undefined && e !== '') return e;
    const v = from[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' && typeof v !== 'number') throw new AgentConfigError(`${key} must be a string`);
    return String(v);
  };
  const ms = (key: string, dflt: number): number => {
    const v = str(key, top, key);
    if (v === undefined) return dflt;
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_MS) {
      throw new AgentConfigError(`${key} (${envName(key)}) must be a whole number of milliseconds from 1 to ${MAX_MS}, got ${JSON.stringify(v)}`);
    }
    return Number(v);
  };
  const required = (key: string, field: string): string => {
    const v = str(key, state, field);
    if (!v) throw new AgentConfigError(`missing ${key} (or ${envName(key)})`);
    return v;
  };
  const domainType = str('domainType', top, 'domainType') ?? 'qemu';
  if (domainType !== 'qemu' && domainType !== 'kvm') throw new AgentConfigError(`domainType must be qemu or kvm, got ${JSON.stringify(domainType)}`);
  const host = str('host', top, 'host') ?? hostname().split('.')[0]!;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(host)) throw new AgentConfigError(`invalid host name ${JSON.stringify(host)}`);
  const socket = str('libvirtSocket', top, 'libvirtSocket');
  return {
    host,
    zone: str('zone', top, 'zone') ?? DEFAULT_ZONE,
    libvirtUri: str('libvirtUri', top, 'libvirtUri') ?? DEFAULT_LIBVIRT_URI,
    ...(socket ? { libvirtSocket: resolve(baseDir, socket) } : {}),
    domainType,
    state: {
      endpoint: required('state.endpoint', 'endpoint'),
      accessKeyId: required('state.accessKeyId', 'accessKeyId'),
      secretAccessKey: required('state.secretAccessKey', 'secretAccessKey'),
      bucket: str('state.bucket', state, 'bucket') ?? DEFAULT_STATE_BUCKET,
      region: str('state.region', state, 'region') ?? DEFAULT_REGION,
    },
    dataDir: resolve(baseDir, str('dataDir', top, 'dataDir') ?? DEFAULT_DATA_DIR),
    namePrefix: str('namePrefix', top, 'namePrefix') ?? DEFAULT_NAME_PREFIX,
    pollIntervalMs: ms('pollIntervalMs', DEFAULT_POLL_INTERVAL_MS),
    resyncIntervalMs: ms('resyncIntervalMs', DEFAULT_RESYNC_INTERVAL_MS),
    shutdownTimeoutMs: ms('shutdownTimeoutMs', DEFAULT_SHUTDOWN_TIMEOUT_MS),
  };
}

/** Reads a YAML config file (or none: environment and defaults only) and resolves it. */
export async function loadAgentConfig(file: string | undefined, env: Env = process.env): Promise<AgentConfig> {
  if (file === undefined) return resolveAgentConfig({}, process.cwd(), env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new AgentConfigError(`cannot read config ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new AgentConfigError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    return resolveAgentConfig(raw ?? {}, dirname(resolve(file)), env);
  } catch (e) {
    if (e instanceof AgentConfigError) throw new AgentConfigError(`${file}: ${e.message}`);
    throw e;
  }
}
