/** The list of subcommands, in the order `ringstack --help` shows them. */
import type { Command } from '../usage.js';

export const commands: Command[] = [];
