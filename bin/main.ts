/** Process entry of the compiled CLI (bin/ringstack runs dist/bin/main.js). */

// The AWS SDK warns on every start that Node 20 support ends in 2027; the project pins Node 20
// for now (see README), and the warning would end up in every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { main } = await import('./cli.js');
process.exitCode = await main(process.argv.slice(2));
