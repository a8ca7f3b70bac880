/**
 * `ringstack plan --repo DIR [--against DIR2 | --state FILE]`: what applying the manifests of
 * DIR would change, like `terraform plan`: validates DIR, compiles it for a host list, and
 * compares with the state compiled from DIR2 (or read from a DesiredState file, or nothing).
 * Optionally writes the compiled documents (as the controller would store them) to --out.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../objectstore/ring/atomic-write.js';
import type { DesiredState } from '../../agents/contract/desired.js';
import { formatError } from '../../controller/manifests/errors.js';
import { DirectorySource } from '../../controller/manifests/source.js';
import { compileSource, readHostsFile } from '../../controller/plan/compile-source.js';
import { serializeCompiled } from '../../controller/plan/compile.js';
import { diffStates, formatPlan } from '../../controller/plan/diff.js';
import type { SchedulerHost } from '../../controller/plan/scheduler.js';
import { parseFlags, UsageError, type CliIO, type Command } from '../usage.js';

/** Without --hosts: one host big enough for anything, so the plan shows manifest changes only. */
const DEFAULT_HOST = { name: 'local', zone: 'default', vcpus: 4096, memoryMiB: 16 * 1024 * 1024, diskGiB: 1024 * 1024 };

const usage = `usage: ringstack plan --repo DIR [--against DIR2 | --state FILE] [options]

Shows what applying the manifests in DIR would change: + create, ~ update (in place or with
reboot), -/+ replace, - delete, then "Plan: N to create, N to update, N to replace, N to delete."

  --repo DIR        manifests to apply (validated first; errors are printed, exit 1)
  --against DIR2    compare with the state compiled from these manifests (e.g. a checkout of main)
  --state FILE      compare with a compiled DesiredState JSON (state/desired/<commit>.json)
                    (neither: compare with nothing deployed)
  --hosts FILE      JSON or YAML list of {name, zone, vcpus, memoryMiB, diskGiB, lastHeartbeat?}
                    (default: one unlimited host "local" in zone "default")
  --strategy S      spread (default) or pack
  --revision ID     revision written into the compiled state (default: working-tree)
  --out DIR         also write desired.json and hosts/<host>/desired.json there
  --json            print the plan as JSON

Exit status: 0 plan printed, 1 invalid manifests or unreadable input, 2 usage error.
`;

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    repo: { type: 'string' }, against: { type: 'string' }, state: { type: 'string' }, hosts: { type: 'string' },
    strategy: { type: 'string' }, revision: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' },
  }, false);
  void positionals;
  if (!values.repo) throw new UsageError('--repo DIR is required');
  if (values.against && values.state) throw new UsageError('give --against or --state, not both');
  const strategy = values.strategy ?? 'spread';
  if (strategy !== 'spread' && strategy !== 'pack') throw new UsageError(`--strategy must be spread or pack, got "${strategy}"`);
  for (const [flag, dir] of [['--repo', values.repo], ['--against', values.against]] as const) {
    if (dir !== undefined && !(await isDir(dir))) throw new Error(`${flag} ${dir} is not a directory`);
  }
  const now = Date.now();
  const hosts: SchedulerHost[] = values.hosts ? await readHostsFile(values.hosts, now) : [{ ...DEFAULT_HOST, lastHeartbeat: now }];
  const common = { hosts, now, scheduler: { strategy } as const };

  let previous: DesiredState | undefined;
  if (values.state) {
    let text: string;
    try {
      text = await readFile(values.state, 'utf8');
    } catch (e) {
      throw new Error(`cannot read --state ${values.state}: ${(e as Error).message}`);
    }
    const parsed = JSON.parse(text) as DesiredState;
    if (parsed?.kind !== 'DesiredState') throw new Error(`--state ${values.state} is not a DesiredState document`);
    previous = parsed;
  } else if (values.against) {
    const base = await compileSource(new DirectorySource(values.against), { ...common, revision: 'against' });
    if (!base.ok) {
      for (const e of base.validation.errors) io.out(`${values.against}/${formatError(e)}\n`);
      io.err(`--against ${values.against} is invalid: ${base.validation.errors.length} errors\n`);
      return 1;
    }
    previous = base.compiled.desired;
  }

  const target = await compileSource(new DirectorySource(values.repo), {
    ...common, revision: values.revision ?? 'working-tree', ...(previous ? { previous } : {}),
  });
  if (!target.ok) {
    for (const e of target.validation.errors) io.out(`${formatError(e)}\n`);
    io.err(`invalid: ${target.validation.errors.length} errors\n`);
    return 1;
  }
  const plan = diffStates(previous, target.compiled.desired);
  if (values.out) {
    const json = serializeCompiled(target.compiled);
    await mkdir(values.out, { recursive: true });
    await writeFileAtomic(join(values.out, 'desired.json'), Buffer.from(json.desired));
    for (const [host, text] of Object.entries(json.hosts)) {
      await mkdir(join(values.out, 'hosts', host), { recursive: true });
      await writeFileAtomic(join(values.out, 'hosts', host, 'desired.json'), Buffer.from(text));
    }
  }
  io.out(values.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan));
  return 0;
}

export const planCommand: Command = {
  name: 'plan',
  summary: 'show what applying a directory of manifests would change',
  usage,
  run,
};
