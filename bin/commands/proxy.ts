/**
 * `ringstack proxy --config F`: the object store's public HTTP front (S3 and Swift APIs)
 * over the storage nodes named in the rings. The work is done by objectstore/proxy.
 */
import { parseFlags, UsageError, type CliIO, type Command } from '../usage.js';
import { loadConfig } from '../../objectstore/cluster/config.js';
import { runProxy } from '../../objectstore/proxy/main.js';
import { untilSignal } from '../../objectstore/cluster/signals.js';

const usage = `usage: ringstack proxy --config FILE

Runs an object store proxy: the S3 and Swift APIs on proxy.host:proxy.port, writing to and
reading from the storage nodes of the rings in ringDir. FILE is YAML (see objectstore/README.md);
every setting has a default and an environment variable (RINGSTACK_PROXY_PORT,
RINGSTACK_RING_DIR, RINGSTACK_CLUSTER_SECRET, RINGSTACK_HASH_PATH_SUFFIX, ...). Users:
RINGSTACK_ACCESS_KEY/RINGSTACK_SECRET_KEY or proxy.credentialsFile.
`;

export const proxyCommand: Command = {
  name: 'proxy',
  summary: 'run an object store proxy (S3 and Swift APIs) over storage nodes',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(args, { config: { type: 'string' } }, false);
    const file = values.config ?? process.env.RINGSTACK_CONFIG;
    if (!file) throw new UsageError('missing --config');
    const cfg = await loadConfig(file);
    const proxy = await runProxy(cfg);
    io.out(`ringstack proxy listening on ${proxy.url}\n`);
    if (proxy.warning) io.err(`ringstack proxy: ${proxy.warning}\n`);
    await untilSignal();
    await proxy.close();
    return 0;
  },
};
