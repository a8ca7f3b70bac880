/**
 * The real git CLI in end-to-end tests, as an operator uses it against the controller's Git
 * endpoint. git runs as a child process without blocking this one (a controller under test
 * may serve the push from this very process), in an environment of its own: a private HOME,
 * no system config, never a password prompt, and a fixed identity in each working copy.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';

export const GIT_USER_EMAIL = 'ops@example.com';
export const GIT_USER_NAME = 'Ops';

export interface GitResult {
  /** Exit status (null when killed by a signal). */
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `git args` in a working copy; resolves with its output whatever the exit status. */
export type Git = (...args: string[]) => Promise<GitResult>;

/** An environment for git with `home` as HOME (made if missing) and nothing from this machine's git config. */
export function gitEnv(home: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  mkdirSync(home, { recursive: true });
  return { ...base, HOME: home, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1' };
}

/** Runs `git args` in `cwd` without blocking this process; never rejects on a non-zero exit. */
export function runGit(cwd: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The push URL of a controller's repository, with the Git token as the password. */
export function controllerRemote(controllerUrl: string, token: string, repo = 'infra'): string {
  return `${controllerUrl.replace('://', `://ringstack:${token}@`)}/git/${repo}.git`;
}

/**
 * Makes `dir` (created if missing) a working copy on branch main with the test identity and,
 * when given, a remote; returns `git` bound to it.
 */
export async function initWorkingCopy(dir: string, env: NodeJS.ProcessEnv, remote?: { name: string; url: string }): Promise<Git> {
  mkdirSync(dir, { recursive: true });
  const git: Git = (...args) => runGit(dir, env, ...args);
  for (const args of [['init', '-q', '-b', 'main'], ['config', 'user.email', GIT_USER_EMAIL], ['config', 'user.name', GIT_USER_NAME],
    ...(remote ? [['remote', 'add', remote.name, remote.url]] : [])]) {
    const r = await git(...args);
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${dir}: ${r.stderr}`);
  }
  return git;
}
