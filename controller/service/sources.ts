/**
 * Where the controller's commits come from (config `source.kind`), one start function each:
 * - push:   the controller's own Git endpoint; a commit is validated before its branch moves.
 * - local:  a repository on this machine, watched with chokidar; a new commit on the branch is
 *           checked and applied within about a second.
 * - remote: an http(s) repository fetched every `intervalMs` into a local mirror, and at once
 *           on `POST /hooks/git/<repo>` (GitHub-style HMAC signature or a token header).
 * Watched and polled commits cannot be refused: an invalid one is recorded as rejected and the
 * revision being applied stays.
 */
import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';
import { gitPlugin } from '../git/plugin.js';
import { gitWebhookPlugin } from '../git/webhook.js';
import { resolveGitdir, watchLocalRepo } from '../git/watch-local.js';
import { pollRemote } from '../git/poll-remote.js';
import type { RepoBackup } from '../git/backup.js';
import type { SourceCommit } from '../git/branch-tracker.js';
import type { ControllerConfig } from './config.js';
import type { Controller } from './controller.js';

export interface RunningSource {
  /** The git dir the controller recompiles from. */
  gitdir: string;
  close(): Promise<void>;
}

/** The git dir a source will read commits from (known before it starts). */
export async function sourceGitdir(cfg: ControllerConfig): Promise<string | undefined> {
  if (cfg.source.kind === 'local') return resolveGitdir(cfg.source.path);
  if (cfg.source.kind === 'remote') return join(cfg.dataDir, 'mirrors', `${cfg.repo}.git`);
  return undefined;
}

export async function startSource(app: FastifyInstance, cfg: ControllerConfig, controller: Controller, backup: RepoBackup): Promise<RunningSource> {
  const src = cfg.source;
  const onCommit = async (c: SourceCommit) => {
    await controller.apply(c.gitdir, c.oid, c.ref);
  };
  const onError = (err: unknown) => app.log.warn({ err: String(err) }, 'git source failed; retrying');
  if (src.kind === 'push') {
    await app.register(gitPlugin, {
      reposDir: join(cfg.dataDir, 'repos'), tokens: cfg.gitTokens, branches: [cfg.branch], backup,
      validate: controller.check, onAccepted: controller.accept,
    });
    return { gitdir: controller.repoDir, close: async () => {} };
  }
  if (src.kind === 'local') {
    const watcher = await watchLocalRepo({ dir: src.path, branch: cfg.branch, onCommit, onError });
    return { gitdir: controller.repoDir, close: async () => watcher.close() };
  }
  const poller = await pollRemote({
    url: src.url, branch: cfg.branch, intervalMs: src.intervalMs, dir: controller.repoDir, onCommit, onError,
    ...(src.token ? { auth: { username: 'ringstack', password: src.token } } : {}),
  });
  if (src.webhookSecret) {
    const secret = src.webhookSecret;
    await app.register(gitWebhookPlugin, {
      lookup: (name) => (name === cfg.repo ? { secret, trigger: () => poller.pollNow() } : undefined),
    });
  }
  return { gitdir: controller.repoDir, close: async () => poller.close() };
}
