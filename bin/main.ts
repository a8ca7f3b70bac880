/** Process entry of the compiled CLI (bin/ringstack runs dist/bin/main.js). */
import { main } from './cli.js';

process.exitCode = await main(process.argv.slice(2));
