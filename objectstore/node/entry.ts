/**
 * Process entry of a storage node started by the one-machine launcher:
 * `node dist/objectstore/node/entry.js --config FILE`. It does what `ringstack storage-node`
 * does, without loading the whole CLI (the launcher's children depend on the object store only).
 *
 * With `--launcher-pipe` its stdin is a pipe whose other end the launcher holds: end of file
 * there means the launcher is gone, also when it was killed outright (kill -9, the OOM killer)
 * and could not stop its children. The node then stops as on SIGTERM; left running it would
 * keep its port and devices, and the next start of the store would fail on them.
 */
import { logToStderr } from '../common/log.js';
import { parseArgs } from 'node:util';
import { loadConfig } from '../cluster/config.js';
import { untilSignal } from '../cluster/signals.js';
import { runStorageNode, NODE_READY_PREFIX } from './main.js';

/** Resolves when stdin, the launcher's pipe, reaches its end or fails. */
function launcherGone(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('error', () => resolve());
    process.stdin.resume();
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, 'launcher-pipe': { type: 'boolean', default: false } } });
  if (!values.config) {
    process.stderr.write('storage node: missing --config\n');
    return 2;
  }
  const cfg = await loadConfig(values.config);
  const node = await runStorageNode(cfg, logToStderr);
  process.stdout.write(`${NODE_READY_PREFIX}${cfg.node.host}:${node.port}\n`);
  await (values['launcher-pipe'] ? Promise.race([untilSignal(), launcherGone()]) : untilSignal());
  // An open stdin would keep the process alive after the node closed.
  process.stdin.destroy();
  await node.close();
  return 0;
}

main().then((code) => {
  process.exitCode = code;
}, (e: Error) => {
  process.stderr.write(`storage node: ${e.message}\n`);
  process.exitCode = 1;
});
