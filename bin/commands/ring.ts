/**
 * `ringstack ring`: builds Swift-compatible rings and looks paths up in them. Subcommands mirror
 * swift-ring-builder (create, add, remove, set-weight, set-overload, rebalance,
 * pretend-min-part-hours-passed, write-ring, validate, show) and swift-get-nodes (get-nodes).
 * Arguments are parsed here; the work is done by objectstore/ring. Every change is made in
 * memory first and written atomically at the end, so a failed command changes nothing on disk.
 */
import { access } from 'node:fs/promises';
import { UsageError, intArg, numberArg, parseFlags, type CliIO, type Command } from '../usage.js';
import { RingBuilder, MAX_PART_POWER, MIN_PART_POWER, MAX_REPLICAS } from '../../objectstore/ring/builder.js';
import { readBuilderFile, writeBuilderFile } from '../../objectstore/ring/builder-file.js';
import { writeRingFile } from '../../objectstore/ring/ring-file.js';
import { Ring } from '../../objectstore/ring/ring.js';
import { readSwiftConf } from '../../objectstore/ring/swift-conf.js';
import { parseDeviceSpec } from '../../objectstore/ring/device-spec.js';
import { deviceLabel } from '../../objectstore/ring/device.js';
import { BuilderError } from '../../objectstore/ring/errors.js';
import { describeBuilder, lookUp, nodesJson, nodesText } from '../../objectstore/ring/report.js';
import type { HashConfig } from '../../objectstore/ring/hash.js';

const PREFIX_ENV = 'RINGSTACK_HASH_PATH_PREFIX';
const SUFFIX_ENV = 'RINGSTACK_HASH_PATH_SUFFIX';

const usage = `usage: ringstack ring <subcommand> [arguments]

Builds Swift-compatible ring files and looks paths up in them.

  create <builder> <part_power> <replicas> <min_part_hours> [--force]
      New builder file: 2^part_power partitions (part_power ${MIN_PART_POWER}..${MAX_PART_POWER}), replicas 1..${MAX_REPLICAS}.
  add <builder> r<region>z<zone>-<ip>:<port>[R<ip>:<port>]/<device>[_<meta>] <weight> [<dev> <weight>]...
  add <builder> --region N --zone N --ip IP --port N --device NAME --weight W [--meta M]
      [--replication-ip IP] [--replication-port N]
  remove <builder> <search> | --id N
      Marks matching devices for removal; their partitions move at the next rebalance.
  set-weight <builder> <search> <weight>
  set-overload <builder> <value>          value as a fraction (0.1) or a percentage (10%)
  rebalance <builder> [--seed N]          also writes the ring file beside the builder
                                          (<name>.builder -> <name>.ring.gz)
  pretend-min-part-hours-passed <builder>
  write-ring <builder> <ring-file>
  validate <builder>
  show <builder>
  get-nodes <ring-file> <account> [<container> [<object>]] [--json] [--handoffs N | --all]
      [--hash-path-prefix P] [--hash-path-suffix S] [--swift-conf FILE]
      Prints the partition, primary devices and handoffs (as many as replicas by default).
      Hash prefix/suffix: the flags, else [swift-hash] of --swift-conf, else the environment
      variables ${PREFIX_ENV} / ${SUFFIX_ENV}, else '' and ''.

A search value is d<id>, r<region>, z<zone>, <ip>, :<port>, /<device>, _<meta> or a mix such as
"10.0.0.1:6200/sdb" or "d3". Exit status: 0 ok, 1 runtime error, 2 usage error.
`;

/** A lone negative number (not an ip search such as -10.0.0.1), which parseArgs would take for a flag. */
const NEGATIVE_NUMBER = /^-(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

const IP_SEARCH = /^-(\d+\.\d+\.\d+\.\d+|\[)/;

type Handler = (args: string[], io: CliIO) => Promise<number>;

function positionals(args: string[], count: number, names: string[]): string[] {
  if (args.length < count) throw new UsageError(`missing ${names.slice(args.length, count).join(', ')}`);
  if (args.length > count) throw new UsageError(`unexpected argument "${args[count]}"`);
  return args;
}

/** Weight: a number >= 0. */
function weightArg(value: string | undefined): number {
  return numberArg(value, 'weight', 0);
}

function ringFileFor(builderFile: string): string {
  return builderFile.endsWith('.builder') ? `${builderFile.slice(0, -'.builder'.length)}.ring.gz` : `${builderFile}.ring.gz`;
}

/**
 * Runs `fn` on a builder read from disk; writes it back and prints the lines `fn` returned only
 * if `fn` succeeds, so a failure leaves both the file and stdout untouched.
 */
async function withBuilder(file: string, io: CliIO, fn: (b: RingBuilder, say: (line: string) => void) => void): Promise<void> {
  const b = await readBuilderFile(file);
  const lines: string[] = [];
  fn(b, (line) => lines.push(line));
  await writeBuilderFile(file, b);
  for (const line of lines) io.out(`${line}\n`);
}

const create: Handler = async (args, io) => {
  const { values, positionals: pos } = parseFlags(args, { force: { type: 'boolean' } });
  const [file, pp, reps, mph] = positionals(pos, 4, ['builder', 'part_power', 'replicas', 'min_part_hours']);
  const partPower = intArg(pp, 'part_power', MIN_PART_POWER, MAX_PART_POWER);
  const replicas = intArg(reps, 'replicas', 1, MAX_REPLICAS);
  const minPartHours = intArg(mph, 'min_part_hours', 0, 65535);
  if (!values.force && (await access(file!).then(() => true, () => false))) {
    throw new BuilderError(`${file} already exists (use --force to replace it)`);
  }
  await writeBuilderFile(file!, new RingBuilder(partPower, replicas, minPartHours));
  io.out(`Created ${file}: ${2 ** partPower} partitions, ${replicas} replicas, min_part_hours ${minPartHours}\n`);
  return 0;
};

const add: Handler = async (args, io) => {
  const { values, positionals: pos } = parseFlags(args, {
    region: { type: 'string' }, zone: { type: 'string' }, ip: { type: 'string' }, port: { type: 'string' },
    device: { type: 'string' }, weight: { type: 'string' }, meta: { type: 'string' },
    'replication-ip': { type: 'string' }, 'replication-port': { type: 'string' },
  });
  const [file, ...rest] = pos;
  if (!file) throw new UsageError('missing builder');
  const devices: Array<Parameters<RingBuilder['addDevice']>[0]> = [];
  const long = ['region', 'zone', 'ip', 'port', 'device', 'weight'] as const;
  if (long.some((k) => values[k] !== undefined)) {
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}" with the --region/--zone/... form`);
    for (const k of long) if (values[k] === undefined) throw new UsageError(`missing --${k}`);
    const port = intArg(values.port, '--port', 1, 65535);
    devices.push({
      region: intArg(values.region, '--region', 0), zone: intArg(values.zone, '--zone', 0), ip: values.ip!,
      port, device: values.device!, weight: weightArg(values.weight), meta: values.meta ?? '',
      replication_ip: values['replication-ip'] ?? values.ip!,
      replication_port: values['replication-port'] ? intArg(values['replication-port'], '--replication-port', 1, 65535) : port,
    });
  } else {
    if (rest.length === 0) throw new UsageError('missing device and weight');
    if (rest.length % 2 !== 0) throw new UsageError(`missing weight for device "${rest[rest.length - 1]}"`);
    for (let i = 0; i < rest.length; i += 2) {
      let spec;
      try {
        spec = parseDeviceSpec(rest[i]!);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      devices.push({ ...spec, weight: weightArg(rest[i + 1]) });
    }
  }
  await withBuilder(file, io, (b, say) => {
    for (const d of devices) {
      const id = b.addDevice(d);
      say(`Device ${deviceLabel(b.devs[id]!)}_"${d.meta}" with ${d.weight} weight got id ${id}`);
    }
  });
  return 0;
};

const remove: Handler = async (args, io) => {
  const { values, positionals: pos } = parseFlags(args, { id: { type: 'string' } });
  const [file, search] = pos;
  if (!file) throw new UsageError('missing builder');
  if ((values.id === undefined) === (search === undefined)) throw new UsageError('give either a search value or --id');
  if (pos.length > 2) throw new UsageError(`unexpected argument "${pos[2]}"`);
  const idSearch = values.id !== undefined ? `d${intArg(values.id, '--id', 0)}` : search!;
  await withBuilder(file, io, (b, say) => {
    for (const d of b.searchDevices(idSearch)) {
      b.removeDevice(d.id);
      say(`${deviceLabel(d)} marked for removal and will be removed next rebalance.`);
    }
  });
  return 0;
};

const setWeight: Handler = async (args, io) => {
  const [file, search, weightText] = positionals(parseFlags(args, {}).positionals, 3, ['builder', 'search', 'weight']);
  const weight = weightArg(weightText);
  await withBuilder(file!, io, (b, say) => {
    for (const d of b.searchDevices(search!)) {
      b.setWeight(d.id, weight);
      say(`${deviceLabel(d)} weight set to ${weight}`);
    }
  });
  return 0;
};

const setOverload: Handler = async (args, io) => {
  const [file, text] = positionals(parseFlags(args, {}).positionals, 2, ['builder', 'value']);
  const pct = text!.endsWith('%');
  const overload = numberArg(pct ? text!.slice(0, -1) : text, 'overload', 0) / (pct ? 100 : 1);
  await withBuilder(file!, io, (b, say) => {
    b.setOverload(overload);
    say(`The overload factor is now ${(overload * 100).toFixed(2)}% (${overload.toFixed(6)})`);
  });
  return 0;
};

const rebalance: Handler = async (args, io) => {
  const { values, positionals: pos } = parseFlags(args, { seed: { type: 'string' } });
  const [file] = positionals(pos, 1, ['builder']);
  const seed = values.seed === undefined ? undefined : intArg(values.seed, '--seed', 0, 2 ** 32 - 1);
  const b = await readBuilderFile(file!);
  const r = b.rebalance({ seed });
  b.validate();
  const ringFile = ringFileFor(file!);
  await writeRingFile(ringFile, b.toRingData());
  await writeBuilderFile(file!, b);
  const pct = (100 * r.changed / b.parts).toFixed(2);
  io.out(`Reassigned ${r.changed} (${pct}%) partitions. Balance is now ${r.balance.toFixed(2)}.  ` +
    `Dispersion is now ${r.dispersion.toFixed(2)}\n`);
  if (r.removed) io.out(`Removed ${r.removed} device(s)\n`);
  return 0;
};

const pretend: Handler = async (args, io) => {
  const [file] = positionals(parseFlags(args, {}).positionals, 1, ['builder']);
  await withBuilder(file!, io, (b, say) => {
    b.pretendMinPartHoursPassed();
    say('Every partition may move at the next rebalance.');
  });
  return 0;
};

const writeRing: Handler = async (args, io) => {
  const [file, ringFile] = positionals(parseFlags(args, {}).positionals, 2, ['builder', 'ring-file']);
  const b = await readBuilderFile(file!);
  b.validate();
  await writeRingFile(ringFile!, b.toRingData());
  io.out(`Wrote ${ringFile}\n`);
  return 0;
};

const validate: Handler = async (args, io) => {
  const [file] = positionals(parseFlags(args, {}).positionals, 1, ['builder']);
  const b = await readBuilderFile(file!);
  b.validate();
  io.out(`${file}: valid; balance ${b.balance().toFixed(2)}, dispersion ${b.dispersion().toFixed(2)}\n`);
  return 0;
};

const show: Handler = async (args, io) => {
  const [file] = positionals(parseFlags(args, {}).positionals, 1, ['builder']);
  io.out(describeBuilder(await readBuilderFile(file!), file!));
  return 0;
};

const getNodes: Handler = async (args, io) => {
  const { values, positionals: pos } = parseFlags(args, {
    json: { type: 'boolean' }, all: { type: 'boolean' }, handoffs: { type: 'string' },
    'hash-path-prefix': { type: 'string' }, 'hash-path-suffix': { type: 'string' }, 'swift-conf': { type: 'string' },
  });
  if (pos.length < 2) throw new UsageError(pos.length === 0 ? 'missing ring-file' : 'missing account');
  if (pos.length > 4) throw new UsageError(`unexpected argument "${pos[4]}"`);
  const [ringFile, account, container, object] = pos as [string, string, string?, string?];
  if (values.all && values.handoffs !== undefined) throw new UsageError('give --handoffs or --all, not both');
  let hash: HashConfig = { prefix: process.env[PREFIX_ENV] ?? '', suffix: process.env[SUFFIX_ENV] ?? '' };
  if (values['swift-conf']) hash = await readSwiftConf(values['swift-conf']);
  if (values['hash-path-prefix'] !== undefined) hash = { ...hash, prefix: values['hash-path-prefix'] };
  if (values['hash-path-suffix'] !== undefined) hash = { ...hash, suffix: values['hash-path-suffix'] };
  const ring = await Ring.load(ringFile, hash);
  const handoffs = values.all ? Infinity : values.handoffs !== undefined ? intArg(values.handoffs, '--handoffs', 0) : Math.ceil(ring.replicaCount);
  const answer = lookUp(ring, handoffs, account, container, object);
  io.out(values.json ? nodesJson(answer) : nodesText(answer, hash, account, container, object));
  return 0;
};

const handlers: Record<string, Handler> = {
  create, add, remove, 'set-weight': setWeight, 'set-overload': setOverload, rebalance,
  'pretend-min-part-hours-passed': pretend, 'write-ring': writeRing, validate, show, 'get-nodes': getNodes,
};

export const ringCommand: Command = {
  name: 'ring',
  summary: 'build Swift-compatible rings and look up where paths live',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === undefined || ((sub === '--help' || sub === '-h' || sub === 'help') && rest.length === 0)) {
      (sub === undefined ? io.err : io.out)(usage);
      return sub === undefined ? 2 : 0;
    }
    const handler = handlers[sub];
    if (!handler) throw new UsageError(`unknown subcommand "${sub}"`);
    const negative = rest.find((a) => NEGATIVE_NUMBER.test(a));
    if (negative !== undefined) throw new UsageError(`negative values are not allowed: ${negative}`);
    // "-10.0.0.1" is a search for an ip (swift-ring-builder syntax); parseArgs would read a flag.
    return handler(rest.map((a) => (IP_SEARCH.test(a) ? a.slice(1) : a)), io);
  },
};
