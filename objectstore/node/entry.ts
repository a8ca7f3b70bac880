/**
 * Process entry of a storage node started by the one-machine launcher:
 * `node dist/objectstore/node/entry.js --config FILE`. It does what `ringstack storage-node`
 * does, without loading the whole CLI (the launcher's children depend on the object store only).
 */
import { logToStderr } from '../common/log.js';
import { parseArgs } from 'node:util';
import { loadConfig } from '../cluster/config.js';
import { untilSignal } from '../cluster/signals.js';
import { runStorageNode, NODE_READY_PREFIX } from './main.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  if (!values.config) {
    process.stderr.write('storage node: missing --config\n');
    return 2;
  }
  const cfg = await loadConfig(values.config);
  const node = await runStorageNode(cfg, logToStderr);
  process.stdout.write(`${NODE_READY_PREFIX}${cfg.node.host}:${node.port}\n`);
  await untilSignal();
  await node.close();
  return 0;
}

main().then((code) => {
  process.exitCode = code;
}, (e: Error) => {
  process.stderr.write(`storage node: ${e.message}\n`);
  process.exitCode = 1;
});
