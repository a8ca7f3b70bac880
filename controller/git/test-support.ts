/**
 * Helpers for the tests of the Git sources: a throw-away HOME and working folders for the
 * real `git` CLI, and a fastify server with the Git plugin on a random port.
 */

import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { gitPlugin, type GitPluginOptions } from './plugin.js';

/** Result of one git CLI run. */
export interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A sandbox for the git CLI: its own HOME (identity, no user config) and a temp root. */
export class GitSandbox {
  private constructor(readonly root: string) {}

  static async create(): Promise<GitSandbox> {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'ringstack-git-'));
    await fsp.mkdir(path.join(root, 'home'));
    await fsp.writeFile(
      path.join(root, 'home', '.gitconfig'),
      '[user]\n\tname = Test User\n\temail = test@example.invalid\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n',
    );
    return new GitSandbox(root);
  }

  get env(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: path.join(this.root, 'home'),
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      LANG: 'C',
      LC_ALL: 'C',
    };
  }

  /** Runs `git args` in `cwd` (relative to the sandbox root); never throws on exit codes. */
  git(cwd: string, ...args: string[]): Promise<GitRun> {
    return new Promise((resolve) => {
      execFile('git', args, { cwd: path.resolve(this.root, cwd), env: this.env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  }

  /** Like `git` but throws with git's stderr when it fails. */
  async gitOk(cwd: string, ...args: string[]): Promise<string> {
    const r = await this.git(cwd, ...args);
    if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }

  /** A new working repository `name` under the root, on branch main. */
  async workRepo(name: string): Promise<string> {
    const dir = path.join(this.root, name);
    await fsp.mkdir(dir, { recursive: true });
    await this.gitOk(dir, 'init', '-q', '-b', 'main');
    return dir;
  }

  /** Writes `files` (path -> content) in `dir` and commits them. Returns the commit id. */
  async commit(dir: string, files: Record<string, string | Buffer | null>, message = 'change'): Promise<string> {
    for (const [rel, content] of Object.entries(files)) {
      const file = path.join(dir, rel);
      if (content === null) {
        await fsp.rm(file, { force: true });
        continue;
      }
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await fsp.writeFile(file, content);
    }
    await this.gitOk(dir, 'add', '-A');
    await this.gitOk(dir, 'commit', '-q', '--allow-empty', '-m', message);
    return (await this.gitOk(dir, 'rev-parse', 'HEAD')).trim();
  }

  async cleanup(): Promise<void> {
    await fsp.rm(this.root, { recursive: true, force: true });
  }
}

/** A started fastify server with the Git plugin; `url(repo, token)` builds a clone URL. */
export interface GitTestServer {
  app: FastifyInstance;
  base: string;
  url(repo: string, token?: string): string;
  close(): Promise<void>;
}

/** Starts a server with the Git plugin; `extra` registers more plugins before it listens. */
export async function startGitServer(opts: GitPluginOptions, extra?: (app: FastifyInstance) => Promise<void>): Promise<GitTestServer> {
  const app = Fastify({ logger: false });
  await app.register(gitPlugin, opts);
  if (extra) await extra(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  const base = `http://127.0.0.1:${addr.port}`;
  return {
    app,
    base,
    url: (repo, token) => (token === undefined ? `${base}/git/${repo}.git` : `http://x:${encodeURIComponent(token)}@127.0.0.1:${addr.port}/git/${repo}.git`),
    close: () => app.close(),
  };
}
