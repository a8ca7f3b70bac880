/** The list of subcommands, in the order `ringstack --help` shows them. */
import type { Command } from '../usage.js';
import { ringCommand } from './ring.js';
import { objectstoreCommand } from './objectstore.js';
import { storageNodeCommand } from './storage-node.js';
import { proxyCommand } from './proxy.js';
import { validateCommand } from './validate.js';
import { planCommand } from './plan.js';
import { agentCommand } from './agent.js';
import { controllerCommand } from './controller.js';
import { userCommand } from './user.js';

export const commands: Command[] = [
  ringCommand,
  objectstoreCommand,
  storageNodeCommand,
  proxyCommand,
  validateCommand,
  planCommand,
  controllerCommand,
  agentCommand,
  userCommand,
];
