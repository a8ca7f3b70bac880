/**
 * The `ringstack` command: finds the subcommand and maps errors to exit codes
 * (0 ok, 1 runtime error, 2 usage error). Each subcommand lives in bin/commands/<name>.ts
 * and only parses arguments before calling the part that does the work.
 */
import { UsageError, wantsHelp, type CliIO, type Command, type CommandEntry } from './usage.js';
import { commands } from './commands/index.js';

const processIO: CliIO = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

export function topUsage(list: Array<Command | CommandEntry>): string {
  const width = Math.max(...list.map((c) => c.name.length));
  const lines = list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: ringstack <command> [options]\n\nCommands:\n${lines.join('\n')}\n\n` +
    `Run "ringstack <command> --help" for a command's options.\n`;
}

export async function main(argv: string[], io: CliIO = processIO, list: Array<Command | CommandEntry> = commands): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(topUsage(list));
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.out(`${await version()}\n`);
    return 0;
  }
  const entry = list.find((c) => c.name === name);
  if (!entry) {
    io.err(`ringstack: unknown command "${name}"\n\n${topUsage(list)}`);
    return 2;
  }
  const command = 'load' in entry ? await entry.load() : entry;
  // `--help`/`-h` anywhere after the command prints its usage, for every command alike.
  if (wantsHelp(rest)) {
    io.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`ringstack ${name}: ${e.message}\n\n${command.usage}`);
      return 2;
    }
    const err = e as Error;
    io.err(`ringstack ${name}: ${err.message}\n`);
    if (process.env.RINGSTACK_DEBUG) io.err(`${err.stack}\n`);
    return 1;
  }
}

async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const { fileURLToPath } = await import('node:url');
  const { join, dirname } = await import('node:path');
  // dist/bin/cli.js or bin/cli.ts: package.json is two or one levels up.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 3; i++) {
    try {
      return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')).version;
    } catch {
      dir = dirname(dir);
    }
  }
  return 'unknown';
}
