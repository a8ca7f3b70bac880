/**
 * `ringstack agent --config F`: the host agent, converging the local libvirt to this host's
 * desired state in the state bucket and writing back what it observes. The work is done by
 * agents/agent.
 */
import { parseFlags, UsageError, type CliIO, type Command } from '../usage.js';
import { AgentConfigError, loadAgentConfig } from '../../agents/agent/config.js';
import { startAgent } from '../../agents/agent/run.js';
import { untilSignal } from '../../objectstore/cluster/signals.js';

const usage = `usage: ringstack agent --config FILE

Runs the host agent: registers the host in the state bucket, reads
state/hosts/<host>/desired.json every poll interval (If-None-Match) and on libvirt events,
converges libvirt to it (networks, pools, images, volumes, domains) and writes observed.json
(with the heartbeat) and events. Stops on SIGINT/SIGTERM.

FILE is YAML; every setting also has an environment variable and most have defaults:
  host              RINGSTACK_AGENT_HOST                 (default: this machine's hostname)
  zone              RINGSTACK_AGENT_ZONE                 (default: default)
  libvirtUri        RINGSTACK_AGENT_LIBVIRT_URI          (default: qemu:///system)
  libvirtSocket     RINGSTACK_AGENT_LIBVIRT_SOCKET       (default: /var/run/libvirt/libvirt-sock)
  domainType        RINGSTACK_AGENT_DOMAIN_TYPE          (qemu or kvm; default: qemu)
  state.endpoint    RINGSTACK_AGENT_STATE_ENDPOINT       (S3 API of the store; required)
  state.accessKeyId RINGSTACK_AGENT_STATE_ACCESS_KEY_ID  (required)
  state.secretAccessKey RINGSTACK_AGENT_STATE_SECRET_ACCESS_KEY (required)
  state.bucket      RINGSTACK_AGENT_STATE_BUCKET         (default: ringstack-state)
  state.region      RINGSTACK_AGENT_STATE_REGION         (default: us-east-1)
  dataDir           RINGSTACK_AGENT_DATA_DIR             (default: /var/lib/ringstack/agent)
  namePrefix        RINGSTACK_AGENT_NAME_PREFIX          (default: rs)
  pollIntervalMs    RINGSTACK_AGENT_POLL_INTERVAL_MS     (default: 1000)
  resyncIntervalMs  RINGSTACK_AGENT_RESYNC_INTERVAL_MS   (default: 60000)
  shutdownTimeoutMs RINGSTACK_AGENT_SHUTDOWN_TIMEOUT_MS  (default: 60000)
`;

export const agentCommand: Command = {
  name: 'agent',
  summary: 'run the host agent (converge libvirt to the desired state)',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(args, { config: { type: 'string' } }, false);
    const file = values.config ?? process.env.RINGSTACK_AGENT_CONFIG;
    if (!file && !process.env.RINGSTACK_AGENT_STATE_ENDPOINT) throw new UsageError('missing --config');
    let cfg;
    try {
      cfg = await loadAgentConfig(file);
    } catch (e) {
      if (e instanceof AgentConfigError) throw new UsageError(e.message);
      throw e;
    }
    const running = await startAgent(cfg);
    io.out(`ringstack agent ${cfg.host} (zone ${cfg.zone}) running: libvirt ${cfg.libvirtUri}, state ${cfg.state.endpoint}/${cfg.state.bucket}, data ${cfg.dataDir}, poll ${cfg.pollIntervalMs} ms\n`);
    await untilSignal();
    await running.stop();
    return 0;
  },
};
