/**
 * What the operator commands (dispersion, status) need to reach a cluster: its rings and its
 * secret, read either from the folder of a one-machine store (`DIR/cluster.yaml` and
 * `DIR/rings`, as `ringstack objectstore --data-dir` writes them) or from a node/proxy config
 * file (cluster/config.ts schema).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../cluster/config.js';
import { loadRings } from '../cluster/rings.js';
import type { ProxyRings } from '../proxy/replicated-backend.js';
import type { HashConfig } from '../ring/hash.js';

export interface ClusterAccess {
  rings: ProxyRings;
  secret: string;
  hash: HashConfig;
}

export class ClusterAccessError extends Error {}

/** Rings and secret of the one-machine store kept in `dataDir`. */
export async function accessFromDataDir(dataDir: string): Promise<ClusterAccess> {
  const file = join(dataDir, 'cluster.yaml');
  let state: { secret?: unknown; hashSuffix?: unknown };
  try {
    state = (parseYaml(await readFile(file, 'utf8')) ?? {}) as typeof state;
  } catch (e) {
    throw new ClusterAccessError(`cannot read ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof state.secret !== 'string' || typeof state.hashSuffix !== 'string') {
    throw new ClusterAccessError(`${file} has no secret or hashSuffix`);
  }
  const hash = { prefix: '', suffix: state.hashSuffix };
  return { rings: await ringsOrError(join(dataDir, 'rings'), hash), secret: state.secret, hash };
}

/** Rings and secret named by a cluster config file. */
export async function accessFromConfig(file: string): Promise<ClusterAccess> {
  let cfg;
  try {
    cfg = await loadConfig(file);
  } catch (e) {
    throw new ClusterAccessError((e as Error).message);
  }
  const hash = { prefix: cfg.hashPrefix, suffix: cfg.hashSuffix };
  return { rings: await ringsOrError(cfg.ringDir, hash), secret: cfg.secret, hash };
}

async function ringsOrError(ringDir: string, hash: HashConfig): Promise<ProxyRings> {
  try {
    return await loadRings(ringDir, hash);
  } catch (e) {
    throw new ClusterAccessError(`cannot load the rings in ${ringDir}: ${(e as Error).message}`);
  }
}
