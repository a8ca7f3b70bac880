/**
 * The configuration of a storage node and of a proxy, read once at start-up: one YAML file
 * (every key optional), then environment variables, then defaults. Both `ringstack
 * storage-node` and `ringstack proxy` use this one schema; the one-machine launcher writes
 * such files for its children.
 *
 * ```yaml
 * secret: <cluster secret>          # RINGSTACK_CLUSTER_SECRET (or secretFile / RINGSTACK_CLUSTER_SECRET_FILE)
 * hashPrefix: ''                    # RINGSTACK_HASH_PATH_PREFIX   (never change once data exists)
 * hashSuffix: <random>              # RINGSTACK_HASH_PATH_SUFFIX
 * ringDir: /etc/ringstack/rings     # RINGSTACK_RING_DIR: object.ring.gz, container.ring.gz, account.ring.gz
 * node:
 *   host: 127.0.0.1                 # RINGSTACK_NODE_HOST
 *   port: 6200                      # RINGSTACK_NODE_PORT
 *   devicesDir: /srv/ringstack      # RINGSTACK_DEVICES_DIR: one folder per device
 *   reserveBytes: 0                 # RINGSTACK_RESERVE_BYTES: keep free, 507 otherwise
 *   dbSync: true                    # RINGSTACK_DB_SYNC: fsync container/account rows
 * proxy:
 *   host: 127.0.0.1                 # RINGSTACK_PROXY_HOST
 *   port: 8080                      # RINGSTACK_PROXY_PORT
 *   region: us-east-1               # RINGSTACK_REGION (S3)
 *   nodeTimeoutMs: 10000            # RINGSTACK_NODE_TIMEOUT_MS
 *   credentialsFile: credentials.json  # RINGSTACK_CREDENTIALS_FILE ({accessKey, secretKey, account})
 * ```
 * Relative paths are relative to the config file's folder.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const DEFAULT_NODE_PORT = 6200;
export const DEFAULT_PROXY_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_RING_DIR = '/etc/ringstack/rings';
export const DEFAULT_DEVICES_DIR = '/srv/ringstack';
export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_NODE_TIMEOUT_MS = 10_000;
export const RING_FILES = { object: 'object.ring.gz', container: 'container.ring.gz', account: 'account.ring.gz' } as const;

export class ConfigError extends Error {}

export interface ClusterConfig {
  secret: string;
  hashPrefix: string;
  hashSuffix: string;
  ringDir: string;
  node: { host: string; port: number; devicesDir: string; reserveBytes: number; dbSync: boolean };
  proxy: { host: string; port: number; region: string; nodeTimeoutMs: number; credentialsFile?: string };
}

type Env = Record<string, string | undefined>;

function str(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') throw new ConfigError(`${what} must be a string`);
  return String(v);
}

function int(v: unknown, what: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : /^\d+$/.test(String(v)) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${what} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

function bool(v: unknown, what: string): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'boolean') return v;
  if (/^(true|1|yes)$/i.test(String(v))) return true;
  if (/^(false|0|no)$/i.test(String(v))) return false;
  throw new ConfigError(`${what} must be true or false, got ${JSON.stringify(v)}`);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${what} must be a mapping`);
  return v as Record<string, unknown>;
}

const KNOWN_TOP = ['secret', 'secretFile', 'hashPrefix', 'hashSuffix', 'ringDir', 'node', 'proxy'];
const KNOWN_NODE = ['host', 'port', 'devicesDir', 'reserveBytes', 'dbSync'];
const KNOWN_PROXY = ['host', 'port', 'region', 'nodeTimeoutMs', 'credentialsFile'];

function checkKeys(o: Record<string, unknown>, known: string[], where: string): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new ConfigError(`unknown setting "${where}${k}"`);
}

/** Builds the config from parsed YAML (may be {}), the environment and defaults. */
export async function resolveConfig(raw: unknown, baseDir: string, env: Env = process.env): Promise<ClusterConfig> {
  const top = obj(raw, 'config');
  checkKeys(top, KNOWN_TOP, '');
  const node = obj(top.node, 'node');
  checkKeys(node, KNOWN_NODE, 'node.');
  const proxy = obj(top.proxy, 'proxy');
  checkKeys(proxy, KNOWN_PROXY, 'proxy.');
  const path = (p: string) => resolve(baseDir, p);

  let secret = env.RINGSTACK_CLUSTER_SECRET ?? str(top.secret, 'secret');
  const secretFile = env.RINGSTACK_CLUSTER_SECRET_FILE ?? str(top.secretFile, 'secretFile');
  if (!secret && secretFile) {
    try {
      secret = (await readFile(path(secretFile), 'utf8')).trim();
    } catch (e) {
      throw new ConfigError(`cannot read secretFile ${path(secretFile)}: ${(e as Error).message}`);
    }
  }
  if (!secret) throw new ConfigError('no cluster secret: set "secret", "secretFile" or RINGSTACK_CLUSTER_SECRET');
  if (secret.length < 16) throw new ConfigError('the cluster secret must be at least 16 characters');
  const hashSuffix = env.RINGSTACK_HASH_PATH_SUFFIX ?? str(top.hashSuffix, 'hashSuffix') ?? '';
  const hashPrefix = env.RINGSTACK_HASH_PATH_PREFIX ?? str(top.hashPrefix, 'hashPrefix') ?? '';
  if (!hashSuffix && !hashPrefix) throw new ConfigError('set hashSuffix (or hashPrefix): the path hash salt, as in swift.conf');
  const credentials = env.RINGSTACK_CREDENTIALS_FILE ?? str(proxy.credentialsFile, 'proxy.credentialsFile');
  return {
    secret,
    hashPrefix,
    hashSuffix,
    ringDir: path(env.RINGSTACK_RING_DIR ?? str(top.ringDir, 'ringDir') ?? DEFAULT_RING_DIR),
    node: {
      host: env.RINGSTACK_NODE_HOST ?? str(node.host, 'node.host') ?? DEFAULT_HOST,
      port: int(env.RINGSTACK_NODE_PORT, 'RINGSTACK_NODE_PORT', 0, 65535) ?? int(node.port, 'node.port', 0, 65535) ?? DEFAULT_NODE_PORT,
      devicesDir: path(env.RINGSTACK_DEVICES_DIR ?? str(node.devicesDir, 'node.devicesDir') ?? DEFAULT_DEVICES_DIR),
      reserveBytes: int(env.RINGSTACK_RESERVE_BYTES, 'RINGSTACK_RESERVE_BYTES', 0, Number.MAX_SAFE_INTEGER)
        ?? int(node.reserveBytes, 'node.reserveBytes', 0, Number.MAX_SAFE_INTEGER) ?? 0,
      dbSync: bool(env.RINGSTACK_DB_SYNC, 'RINGSTACK_DB_SYNC') ?? bool(node.dbSync, 'node.dbSync') ?? true,
    },
    proxy: {
      host: env.RINGSTACK_PROXY_HOST ?? str(proxy.host, 'proxy.host') ?? DEFAULT_HOST,
      port: int(env.RINGSTACK_PROXY_PORT, 'RINGSTACK_PROXY_PORT', 0, 65535) ?? int(proxy.port, 'proxy.port', 0, 65535) ?? DEFAULT_PROXY_PORT,
      region: env.RINGSTACK_REGION ?? str(proxy.region, 'proxy.region') ?? DEFAULT_REGION,
      nodeTimeoutMs: int(env.RINGSTACK_NODE_TIMEOUT_MS, 'RINGSTACK_NODE_TIMEOUT_MS', 1, 3_600_000)
        ?? int(proxy.nodeTimeoutMs, 'proxy.nodeTimeoutMs', 1, 3_600_000) ?? DEFAULT_NODE_TIMEOUT_MS,
      credentialsFile: credentials ? path(credentials) : undefined,
    },
  };
}

/** Reads a config file (YAML) and resolves it with the environment. */
export async function loadConfig(file: string, env: Env = process.env): Promise<ClusterConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    return await resolveConfig(raw ?? {}, dirname(resolve(file)), env);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${file}: ${e.message}`);
    throw e;
  }
}
