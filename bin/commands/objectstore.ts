/**
 * `ringstack objectstore`: a whole object store on one machine (a proxy and three storage
 * nodes as child processes), kept in one folder. The work is done by objectstore/cluster/local.ts.
 */
import { intArg, parseFlags, wantsHelp, UsageError, type CliIO, type Command } from '../usage.js';
import { runLocalObjectStore } from '../../objectstore/cluster/local.js';
import { untilSignal } from '../../objectstore/cluster/signals.js';

const usage = `usage: ringstack objectstore --data-dir DIR [--port 8080] [--host 127.0.0.1]

Runs an object store on this machine: a proxy (S3 and Swift APIs on one port) and three
storage nodes, each with one device folder under DIR. On first start it creates the rings
(part power 10, 3 replicas), a cluster secret (DIR/cluster.yaml, mode 0600) and, unless
RINGSTACK_ACCESS_KEY and RINGSTACK_SECRET_KEY are set, the first user's credentials
(DIR/credentials.json, mode 0600). Running it again resumes with all data.
Ctrl-C stops everything.

Options:
  --data-dir DIR   where everything is kept (env RINGSTACK_DATA_DIR)
  --port N         proxy port (env RINGSTACK_PROXY_PORT, default 8080)
  --host H         address to listen on (env RINGSTACK_PROXY_HOST, default 127.0.0.1)

Environment: RINGSTACK_ACCESS_KEY, RINGSTACK_SECRET_KEY, RINGSTACK_ACCOUNT (default "admin").
`;

export const objectstoreCommand: Command = {
  name: 'objectstore',
  summary: 'run a whole object store (proxy + 3 storage nodes) on this machine',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    if (wantsHelp(args)) {
      io.out(usage);
      return 0;
    }
    const { values, positionals } = parseFlags(args, {
      'data-dir': { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
    }, false);
    void positionals;
    const dataDir = values['data-dir'] ?? process.env.RINGSTACK_DATA_DIR;
    if (!dataDir) throw new UsageError('missing --data-dir');
    const portText = values.port ?? process.env.RINGSTACK_PROXY_PORT ?? '8080';
    const port = intArg(portText, '--port', 0, 65535);
    const host = values.host ?? process.env.RINGSTACK_PROXY_HOST ?? '127.0.0.1';
    const running = await runLocalObjectStore({ dataDir, port, host, log: (l) => io.err(`${l}\n`) });
    const where = running.credentialsFile
      ? `credentials in ${running.credentialsFile}`
      : 'credentials from RINGSTACK_ACCESS_KEY/RINGSTACK_SECRET_KEY';
    io.out(`ringstack object store ready at ${running.url} (${where})\n`);
    const sig = await untilSignal();
    io.err(`${sig}: stopping\n`);
    await running.stop();
    return 0;
  },
};
