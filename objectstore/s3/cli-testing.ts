/**
 * Running third-party S3 command-line clients (awscli, s3cmd) from tests: a child process that
 * never throws (exit code and output are what the tests assert on) and an environment cleaned of
 * this machine's AWS_* settings (it sets AWS_CA_BUNDLE, which changes client behaviour).
 */
import { execFile } from 'node:child_process';

const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const CLIENT_TIMEOUT_MS = 120_000;

export interface CliRun { code: number; out: string; err: string }

/** Runs `cmd args` with `env`; resolves with its exit code (1 when killed) and output. */
export function runClient(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, maxBuffer: MAX_OUTPUT_BYTES, timeout: CLIENT_TIMEOUT_MS }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: stdout, err: stderr });
    });
  });
}

/** This process's environment without any AWS_* variable, plus `extra`. */
export function clientEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return { ...env, ...extra };
}
