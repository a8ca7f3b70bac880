/**
 * `ringstack objectstore`: a whole object store on one machine (a proxy and three storage
 * nodes as child processes), kept in one folder (objectstore/cluster/local.ts), and two
 * operator checks of any cluster (objectstore/dispersion/):
 *   `ringstack objectstore dispersion`  replicas in place (like swift-dispersion-report)
 *   `ringstack objectstore status`      nodes up, device fill, replication and audit progress
 */
import { intArg, parseFlags, wantsHelp, UsageError, type CliIO, type Command } from '../usage.js';
import { runLocalObjectStore } from '../../objectstore/cluster/local.js';
import { untilSignal } from '../../objectstore/cluster/signals.js';
import { accessFromConfig, accessFromDataDir, type ClusterAccess } from '../../objectstore/dispersion/cluster-access.js';
import { checkDispersion, isComplete, type ObjectName } from '../../objectstore/dispersion/check.js';
import {
  DISPERSION_ACCOUNT, DISPERSION_CONTAINER, DispersionInputError, listedObjects, parseContainerArg, populate,
} from '../../objectstore/dispersion/objects.js';
import { formatDispersion } from '../../objectstore/dispersion/report.js';
import { clusterStatus, formatStatus } from '../../objectstore/dispersion/cluster-status.js';
import { ReplicatedBackend } from '../../objectstore/proxy/replicated-backend.js';

const usage = `usage: ringstack objectstore --data-dir DIR [--port 8080] [--host 127.0.0.1]
       ringstack objectstore dispersion (--data-dir DIR | --config FILE) [--populate N]
                             [--container ACCOUNT/CONTAINER ...] [--json]
       ringstack objectstore status (--data-dir DIR | --config FILE) [--json]

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

dispersion: HEADs objects on every primary node of their partition and reports how many
have all replicas in place, how many miss 1, 2, ... copies, and per device how many copies it
should hold and holds. Without --container it checks the objects of
${DISPERSION_ACCOUNT}/${DISPERSION_CONTAINER}, which --populate N writes first (N small
objects, one per partition; about 1 % of the partitions is a good sample).
  --data-dir DIR        a store run by \`ringstack objectstore --data-dir DIR\`
  --config FILE         a node or proxy config (secret, hash suffix, ringDir)
  --populate N          write N dispersion objects, then check them
  --container A/C       check every object listed in container C of account A (repeatable)
  --json                print the result as JSON

status: asks every node in the rings for its recon stats: up or down, device fill,
when replication and auditing last completed and how far the running pass is.
  --data-dir DIR / --config FILE as above; --json prints the result as JSON.

dispersion and status exit 1 when a copy is missing, a node is down or a device is missing.
`;

async function access(values: { 'data-dir'?: string; config?: string }): Promise<ClusterAccess> {
  const dataDir = values['data-dir'];
  if (dataDir && values.config) throw new UsageError('give --data-dir or --config, not both');
  if (dataDir) return accessFromDataDir(dataDir);
  if (values.config) return accessFromConfig(values.config);
  throw new UsageError('missing --data-dir or --config');
}

async function runDispersion(args: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(args, {
    'data-dir': { type: 'string' }, config: { type: 'string' }, populate: { type: 'string' },
    container: { type: 'string', multiple: true }, json: { type: 'boolean' },
  }, false);
  let containers: Array<{ account: string; container: string }>;
  try {
    containers = (values.container ?? []).map(parseContainerArg);
  } catch (e) {
    if (e instanceof DispersionInputError) throw new UsageError(e.message);
    throw e;
  }
  const count = values.populate === undefined ? undefined : intArg(values.populate, '--populate', 1, 1 << 24);
  const c = await access(values);
  const backend = new ReplicatedBackend({ rings: c.rings, secret: c.secret });
  try {
    let names: ObjectName[] = [];
    let what: string;
    if (count !== undefined) {
      names = await populate(backend, c.rings.object, count);
      if (!values.json) io.err(`wrote ${names.length} objects to ${DISPERSION_ACCOUNT}/${DISPERSION_CONTAINER}\n`);
    }
    if (containers.length > 0) {
      for (const x of containers) names.push(...await listedObjects(backend, x.account, x.container));
      what = containers.map((x) => `${x.account}/${x.container}`).join(', ');
    } else {
      if (count === undefined) names = await listedObjects(backend, DISPERSION_ACCOUNT, DISPERSION_CONTAINER);
      what = `${DISPERSION_ACCOUNT}/${DISPERSION_CONTAINER}`;
    }
    const result = await checkDispersion(names, { ring: c.rings.object, secret: c.secret, client: backend.client });
    io.out(values.json ? `${JSON.stringify(result, null, 2)}\n` : formatDispersion(result, what));
    return isComplete(result) ? 0 : 1;
  } finally {
    backend.close();
  }
}

async function runStatus(args: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(args, {
    'data-dir': { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' },
  }, false);
  const c = await access(values);
  const s = await clusterStatus(c.rings, c.secret);
  io.out(values.json ? `${JSON.stringify(s, null, 2)}\n` : formatStatus(s));
  return s.healthy ? 0 : 1;
}

async function runStore(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    'data-dir': { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
  }, true);
  if (positionals.length > 0) throw new UsageError(`unknown subcommand "${positionals[0]}" (dispersion or status)`);
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
}

export const objectstoreCommand: Command = {
  name: 'objectstore',
  summary: 'run a whole object store on this machine; dispersion and status checks of a cluster',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    if (wantsHelp(args)) {
      io.out(usage);
      return 0;
    }
    if (args[0] === 'dispersion') return runDispersion(args.slice(1), io);
    if (args[0] === 'status') return runStatus(args.slice(1), io);
    return runStore(args, io);
  },
};
