import t from 'tap';
import { spawnSync } from 'node:child_process';
import { main, topUsage } from './cli.js';
import { UsageError, intArg, numberArg, parseFlags, type CliIO, type Command } from './usage.js';

function capture(): CliIO & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', out: (s: string) => { io.stdout += s; }, err: (s: string) => { io.stderr += s; } };
  return io;
}

const echo: Command = {
  name: 'echo',
  summary: 'prints its words',
  usage: 'usage: ringstack echo [--fail|--misuse] words...\n',
  async run(args, io) {
    const { values, positionals } = parseFlags(args, { fail: { type: 'boolean' }, misuse: { type: 'boolean' } });
    if (values.fail) throw new Error('disk on fire');
    if (values.misuse) throw new UsageError('--misuse is not allowed');
    io.out(positionals.join(' ') + '\n');
    return 0;
  },
};

t.test('exit codes: 0 ok, 1 runtime error, 2 usage error', async (t) => {
  let io = capture();
  t.equal(await main(['echo', 'a', 'b'], io, [echo]), 0);
  t.equal(io.stdout, 'a b\n');

  io = capture();
  t.equal(await main(['echo', '--fail'], io, [echo]), 1);
  t.match(io.stderr, /^ringstack echo: disk on fire\n$/);

  io = capture();
  t.equal(await main(['echo', '--misuse'], io, [echo]), 2);
  t.match(io.stderr, /--misuse is not allowed/);
  t.match(io.stderr, /usage: ringstack echo/);

  io = capture();
  t.equal(await main(['echo', '--bogus'], io, [echo]), 2, 'unknown flag is a usage error');
  t.match(io.stderr, /bogus/);
});

t.test('top-level help and unknown commands', async (t) => {
  let io = capture();
  t.equal(await main(['--help'], io, [echo]), 0);
  t.match(io.stdout, /echo\s+prints its words/);

  io = capture();
  t.equal(await main([], io, [echo]), 2, 'no command is a usage error');
  t.equal(io.stderr, topUsage([echo]));

  io = capture();
  t.equal(await main(['nope'], io, [echo]), 2);
  t.match(io.stderr, /unknown command "nope"/);

  io = capture();
  t.equal(await main(['--version'], io, [echo]), 0);
  t.match(io.stdout, /^\d+\.\d+\.\d+\n$/);
});

t.test('argument helpers name what is wrong', async (t) => {
  t.equal(intArg('10', 'part power', 1, 32), 10);
  t.throws(() => intArg('x', 'part power'), { message: 'part power must be a whole number, got "x"' });
  t.throws(() => intArg('33', 'part power', 1, 32), { message: 'part power must be between 1 and 32, got 33' });
  t.throws(() => intArg(undefined, 'replicas'), UsageError);
  t.equal(numberArg('1.5', 'weight', 0), 1.5);
  t.throws(() => numberArg('-1', 'weight', 0), { message: 'weight must be at least 0, got -1' });
  t.throws(() => numberArg('abc', 'weight'), { message: 'weight must be a number, got "abc"' });
});

t.test('the installed launcher runs the compiled CLI', async (t) => {
  const r = spawnSync('bin/ringstack', ['--help'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /usage: ringstack <command>/);
  const bad = spawnSync('bin/ringstack', ['no-such-command'], { encoding: 'utf8' });
  t.equal(bad.status, 2);
});

t.test('--help anywhere after a command prints its usage and runs nothing', async (t) => {
  let ran = false;
  const cmd = {
    name: 'touchy', summary: 'must not run on --help', usage: 'usage: ringstack touchy [--x]\n',
    async run() { ran = true; return 1; },
  };
  for (const args of [['touchy', '--help'], ['touchy', 'sub', '-h'], ['touchy', '--x', '--help']]) {
    const io = capture();
    t.equal(await main(args, io, [cmd]), 0, args.join(' '));
    t.equal(io.stdout, cmd.usage);
  }
  t.equal(ran, false);
});
