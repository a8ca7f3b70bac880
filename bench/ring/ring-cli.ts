/**
 * `ringstack ring …` without the rest of the CLI: runs the very same command object
 * (bin/commands/ring.ts) but loads only the ring part, so the bench can tell the ring's own
 * cost from the start-up cost of the other subcommands' modules (fastify, AWS SDK…).
 * Exit codes as bin/cli.ts: 0 ok, 1 runtime error, 2 usage error.
 * usage: node dist/bench/ring/ring-cli.js <ring subcommand> [arguments]
 */
import { ringCommand } from '../../bin/commands/ring.js';
import { UsageError } from '../../bin/usage.js';

try {
  process.exitCode = await ringCommand.run(process.argv.slice(2), {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
  });
} catch (e) {
  process.stderr.write(`ringstack ring: ${(e as Error).message}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
}
