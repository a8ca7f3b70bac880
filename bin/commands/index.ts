/** The list of subcommands, in the order `ringstack --help` shows them. */
import type { Command } from '../usage.js';
import { ringCommand } from './ring.js';

export const commands: Command[] = [
  ringCommand,
];
