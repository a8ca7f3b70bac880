/**
 * Runs one storage node from a cluster config: loads the rings (part power, and the account
 * ring for container stats roll-up), watches them for changes and serves the devices folder.
 */
import { mkdir } from 'node:fs/promises';
import type { ClusterConfig } from '../cluster/config.js';
import { loadRings } from '../cluster/rings.js';
import { startNodeServer, type RunningNode } from './server.js';

const RING_WATCH_MS = 15_000;
/** What `ringstack storage-node` prints on stdout once it listens (the launcher waits for it). */
export const NODE_READY_PREFIX = 'storage node listening on ';

export async function runStorageNode(cfg: ClusterConfig, log?: (m: string) => void): Promise<RunningNode> {
  const hash = { prefix: cfg.hashPrefix, suffix: cfg.hashSuffix };
  const rings = await loadRings(cfg.ringDir, hash);
  for (const r of Object.values(rings)) r.watch(RING_WATCH_MS);
  await mkdir(cfg.node.devicesDir, { recursive: true });
  const node = await startNodeServer({
    devicesDir: cfg.node.devicesDir,
    secret: cfg.secret,
    hash,
    partPower: rings.object.partPower,
    reserveBytes: cfg.node.reserveBytes,
    dbSync: cfg.node.dbSync,
    accountTargets: (account) => {
      const { part, nodes } = rings.account.getNodes(account);
      return nodes.map((n) => ({ host: n.ip, port: n.port, device: n.device, part }));
    },
    log,
  }, cfg.node.port, cfg.node.host);
  const close = node.close;
  node.close = async () => {
    for (const r of Object.values(rings)) r.close();
    await close();
  };
  return node;
}
