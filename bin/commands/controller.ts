/**
 * `ringstack controller`: the GitOps controller (Git endpoint with pre-receive validation,
 * scheduler and compiler publishing desired state to the state bucket). The work is done by
 * controller/service.
 */
import { parseFlags, type CliIO, type Command } from '../usage.js';
import { loadControllerConfig } from '../../controller/service/config.js';
import { startController } from '../../controller/service/server.js';
import { untilSignal } from '../../objectstore/cluster/signals.js';

const usage = `usage: ringstack controller [--config FILE]

Runs the controller: a Git endpoint at /git/<repo>.git (push with a token as the HTTP
password; every commit is validated before the branch moves), the scheduler and compiler, and
publication of desired state into the state bucket of an S3 endpoint.

Settings (YAML file keys, then environment variables, which win):
  dataDir                  RINGSTACK_CONTROLLER_DATA_DIR   (/var/lib/ringstack/controller)
  host, port               RINGSTACK_CONTROLLER_HOST, _PORT (127.0.0.1, 8081)
  gitTokens                RINGSTACK_GIT_TOKENS (comma separated; required)
  repo, branch             RINGSTACK_GIT_REPO, RINGSTACK_GIT_BRANCH (infra, main)
  store.endpoint           RINGSTACK_STATE_ENDPOINT (http://127.0.0.1:8080)
  store.accessKey/secretKey RINGSTACK_STATE_ACCESS_KEY / RINGSTACK_STATE_SECRET_KEY (required)
  store.bucket, .region    RINGSTACK_STATE_BUCKET, RINGSTACK_STATE_REGION (ringstack-state, us-east-1)
  heartbeatTimeoutSeconds  RINGSTACK_HEARTBEAT_TIMEOUT (30)
  gracePeriodSeconds       RINGSTACK_GRACE_PERIOD (300)
  resyncIntervalMs         RINGSTACK_RESYNC_INTERVAL_MS (5000)
  idleGcMs                 RINGSTACK_CONTROLLER_IDLE_GC_MS: a full garbage collection once idle this
                           long after a publication (2000; 0 = off: less CPU in the next push,
                           about 100 MiB more memory between pushes)
  scheduler.strategy       RINGSTACK_SCHEDULER_STRATEGY (spread | pack)
  statusTokens             RINGSTACK_STATUS_TOKENS: read tokens of the status API, "token" or
                           "token:project" (scoped), comma separated; none: reads open on loopback only
  source.kind              RINGSTACK_SOURCE_KIND: push (default: the Git endpoint above),
                           local (watch source.path, RINGSTACK_SOURCE_PATH) or remote (poll
                           source.url every source.intervalMs, RINGSTACK_SOURCE_URL /
                           _INTERVAL_MS (60000) / _TOKEN; POST /hooks/git/<repo> with
                           source.webhookSecret (RINGSTACK_SOURCE_WEBHOOK_SECRET) polls at once)
`;

export const controllerCommand: Command = {
  name: 'controller',
  summary: 'run the GitOps controller (Git endpoint, scheduler, desired state)',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(args, { config: { type: 'string' } }, false);
    const cfg = await loadControllerConfig(values.config);
    const running = await startController(cfg);
    const from = cfg.source.kind === 'push' ? `git: ${running.url}/git/${cfg.repo}.git` : cfg.source.kind === 'local' ? `watching ${cfg.source.path}` : `polling ${cfg.source.url}`;
    io.out(`ringstack controller ready at ${running.url} (${from}, branch ${cfg.branch})\n`);
    const sig = await untilSignal();
    io.err(`${sig}: stopping\n`);
    await running.close();
    return 0;
  },
};
