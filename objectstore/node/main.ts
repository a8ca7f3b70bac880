/**
 * Runs one storage node from a cluster config: loads the rings (part power, and the account
 * ring for container stats roll-up), watches them for changes, serves the devices folder, and
 * runs the node's background workers: the replicator (objectstore/replicator) and the auditor
 * (objectstore/auditor), whose progress the node serves on /recon/* (recon.ts), and the
 * container replicator (objectstore/container-replicator, same interval as the replicator).
 */
import { mkdir } from 'node:fs/promises';
import type { ClusterConfig } from '../cluster/config.js';
import { loadRings } from '../cluster/rings.js';
import { startNodeServer, type RunningNode } from './server.js';
import { handleRecon } from './recon.js';
import { Replicator } from '../replicator/replicator.js';
import { handleReplicate } from '../replicator/replicate-protocol.js';
import { Auditor } from '../auditor/auditor.js';
import { ContainerReplicator } from '../container-replicator/container-replicator.js';

/** What `ringstack storage-node` prints on stdout once it listens (the launcher waits for it). */
export const NODE_READY_PREFIX = 'storage node listening on ';

export async function runStorageNode(cfg: ClusterConfig, log?: (m: string) => void): Promise<RunningNode> {
  const hash = { prefix: cfg.hashPrefix, suffix: cfg.hashSuffix };
  const rings = await loadRings(cfg.ringDir, hash);
  for (const r of Object.values(rings)) r.watch(cfg.node.ringWatchMs);
  const devicesDir = cfg.node.devicesDir;
  await mkdir(devicesDir, { recursive: true });
  let replicator: Replicator | undefined;
  const node = await startNodeServer({
    devicesDir,
    secret: cfg.secret,
    hash,
    partPower: rings.object.partPower,
    reserveBytes: cfg.node.reserveBytes,
    dbSync: cfg.node.dbSync,
    smallWriteLog: cfg.node.smallWriteLog,
    accountTargets: (account) => {
      const { part, nodes } = rings.account.getNodes(account);
      return nodes.map((n) => ({ host: n.ip, port: n.port, device: n.device, part }));
    },
    routes: async (method, url, _req, res) => {
      if (url.startsWith('/recon/')) return handleRecon(devicesDir, method, url, res);
      return handleReplicate(devicesDir, method, url, res,
        { reclaimAgeSeconds: cfg.node.replicator.reclaimAgeSeconds }, (n) => replicator?.noteReclaimed(n));
    },
    log,
  }, cfg.node.port, cfg.node.host);
  replicator = new Replicator({
    devicesDir, ring: rings.object, secret: cfg.secret, host: cfg.node.host, port: node.port, log, ...cfg.node.replicator,
  });
  const auditor = new Auditor({ devicesDir, hash, log, ...cfg.node.auditor });
  const containerReplicator = new ContainerReplicator({
    ring: rings.container, storage: node.storage, secret: cfg.secret, host: cfg.node.host, port: node.port,
    intervalMs: cfg.node.replicator.intervalMs, log,
  });
  replicator.start();
  auditor.start();
  containerReplicator.start();
  const close = node.close;
  node.close = async () => {
    for (const r of Object.values(rings)) r.close();
    await Promise.all([replicator.stop(), auditor.stop(), containerReplicator.stop()]);
    await close();
  };
  return node;
}
