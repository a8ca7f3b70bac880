/**
 * `ringstack up`: the whole stack on one machine with embedded defaults (bin/stack.ts).
 */
import { intArg, parseFlags, type CliIO, type Command } from '../usage.js';
import { DEFAULT_DATA_DIR, nextSteps, startStack } from '../stack.js';
import { untilSignal } from '../../objectstore/cluster/signals.js';

const usage = `usage: ringstack up [--data-dir DIR] [--host H] [--port N] [--controller-port N] [--libvirt-uri URI]

Starts everything on this machine: the object store (a proxy with the S3 and Swift APIs and
three storage nodes), the controller (Git endpoint, scheduler, status API and dashboard), and
one agent on the local libvirt (qemu:///system when libvirtd answers, else test:///default).
Prints the git remote to push manifests to, the endpoints and where the credentials are.
Ctrl-C stops everything cleanly; running it again resumes with all data.

Options:
  --data-dir DIR         where everything is kept (env RINGSTACK_DATA_DIR, default ${DEFAULT_DATA_DIR})
  --host H               address to listen on (env RINGSTACK_HOST, default 127.0.0.1)
  --port N               object store port (env RINGSTACK_PROXY_PORT, default 8080)
  --controller-port N    controller port (env RINGSTACK_CONTROLLER_PORT, default 8081)
  --libvirt-uri URI      the agent's libvirt (env RINGSTACK_AGENT_LIBVIRT_URI)

Environment: RINGSTACK_ACCESS_KEY / RINGSTACK_SECRET_KEY (first user), RINGSTACK_GIT_TOKENS,
RINGSTACK_LOG_LEVEL (default warn).
`;

export const upCommand: Command = {
  name: 'up',
  summary: 'run the whole stack on this machine (object store, controller, agent)',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(args, {
      'data-dir': { type: 'string' }, host: { type: 'string' }, port: { type: 'string' },
      'controller-port': { type: 'string' }, 'libvirt-uri': { type: 'string' },
    }, false);
    const env = process.env;
    const running = await startStack({
      dataDir: values['data-dir'] ?? env.RINGSTACK_DATA_DIR ?? DEFAULT_DATA_DIR,
      host: values.host ?? env.RINGSTACK_HOST ?? '127.0.0.1',
      storePort: intArg(values.port ?? env.RINGSTACK_PROXY_PORT ?? '8080', '--port', 0, 65535),
      controllerPort: intArg(values['controller-port'] ?? env.RINGSTACK_CONTROLLER_PORT ?? '8081', '--controller-port', 0, 65535),
      libvirtUri: values['libvirt-uri'],
      env,
      log: (l) => io.err(`${l}\n`),
    });
    io.out(nextSteps(running));
    const sig = await untilSignal();
    io.err(`${sig}: stopping\n`);
    await running.stop();
    return 0;
  },
};
