/**
 * The environment for a `ringstack up` started by a test or a benchmark: the agent's libvirt
 * names carry `prefix` (so clean-up finds exactly them), its host name is `host`, caches and the
 * image folder live under `root`, and nothing is taken from the caller's own ringstack or git
 * settings (keys, tokens, endpoints, credential prompts).
 */
import { join } from 'node:path';

export function isolatedUpEnv(root: string, prefix: string, host: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    RINGSTACK_AGENT_NAME_PREFIX: prefix,
    RINGSTACK_AGENT_HOST: host,
    RINGSTACK_AGENT_SHUTDOWN_TIMEOUT_MS: '3000',
    RINGSTACK_LOG_LEVEL: 'warn',
    XDG_CACHE_HOME: join(root, 'cache'),
    RINGSTACK_IMAGE_DIR: join(root, 'image'),
    RINGSTACK_ACCESS_KEY: '',
    RINGSTACK_SECRET_KEY: '',
    RINGSTACK_GIT_TOKENS: '',
    RINGSTACK_S3_ENDPOINT: '',
    GIT_TERMINAL_PROMPT: '0',
  };
}
