/**
 * `ringstack storage-node --config F`: one storage node of a cluster (object, container and
 * account data of the devices in its devices folder). The work is done by objectstore/node.
 */
import { parseFlags, UsageError, type CliIO, type Command } from '../usage.js';
import { loadConfig } from '../../objectstore/cluster/config.js';
import { runStorageNode, NODE_READY_PREFIX } from '../../objectstore/node/main.js';
import { untilSignal } from '../../objectstore/cluster/signals.js';

const usage = `usage: ringstack storage-node --config FILE

Runs a storage node: serves the devices (one folder each) under node.devicesDir to the
proxies, signed with the cluster secret. FILE is YAML (see objectstore/README.md); every
setting has a default and an environment variable (RINGSTACK_NODE_PORT, RINGSTACK_DEVICES_DIR,
RINGSTACK_RING_DIR, RINGSTACK_CLUSTER_SECRET, RINGSTACK_HASH_PATH_SUFFIX, ...).
Rings are read from ringDir (object.ring.gz, container.ring.gz, account.ring.gz).
`;

export const storageNodeCommand: Command = {
  name: 'storage-node',
  summary: 'run one storage node of an object store cluster',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(args, { config: { type: 'string' } }, false);
    const file = values.config ?? process.env.RINGSTACK_CONFIG;
    if (!file) throw new UsageError('missing --config');
    const cfg = await loadConfig(file);
    const node = await runStorageNode(cfg, (m) => io.err(`${m}\n`));
    io.out(`${NODE_READY_PREFIX}${cfg.node.host}:${node.port}\n`);
    await untilSignal();
    await node.close();
    return 0;
  },
};
