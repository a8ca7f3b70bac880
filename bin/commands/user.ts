/**
 * `ringstack user`: manages the object store's users (S3 access keys, also valid for Swift)
 * on a running store, through its admin route, signed with the root credentials.
 * The work is done by objectstore/auth/admin-client.ts.
 */
import { parseFlags, UsageError, type CliIO, type Command } from '../usage.js';
import { resolveAdminCredentials, UserAdminClient } from '../../objectstore/auth/admin-client.js';

const usage = `usage: ringstack user <add|list|remove|rotate-key> [args] [options]

  add ACCOUNT [--access-key KEY]   create a user whose buckets live in ACCOUNT; prints the keys
  list                             list users (access key, account)
  remove ACCESS_KEY                delete a user (its buckets stay)
  rotate-key ACCESS_KEY            give a user a new secret key; prints it

Only the root user (from credentials.json or the environment) may manage users. Changes
reach every proxy within about 2 seconds.

Options:
  --endpoint URL    the store's S3 endpoint (env RINGSTACK_ENDPOINT, default http://127.0.0.1:8080)
  --data-dir DIR    read the root credentials from DIR/credentials.json (env RINGSTACK_DATA_DIR)
  --json            print JSON instead of text

Environment: RINGSTACK_ACCESS_KEY and RINGSTACK_SECRET_KEY override DIR/credentials.json.
`;

const ACTIONS = ['add', 'list', 'remove', 'rotate-key'];

export const userCommand: Command = {
  name: 'user',
  summary: 'add, list, remove users of the object store or rotate their keys',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseFlags(args, {
      endpoint: { type: 'string' }, 'data-dir': { type: 'string' }, 'access-key': { type: 'string' }, json: { type: 'boolean' },
    });
    const [action, arg, ...extra] = positionals;
    if (!action) throw new UsageError('missing action (add, list, remove or rotate-key)');
    if (!ACTIONS.includes(action)) throw new UsageError(`unknown action "${action}" (add, list, remove or rotate-key)`);
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (action === 'list' && arg !== undefined) throw new UsageError(`unexpected argument "${arg}"`);
    if (action !== 'list' && arg === undefined) throw new UsageError(action === 'add' ? 'missing ACCOUNT' : 'missing ACCESS_KEY');
    if (values['access-key'] !== undefined && action !== 'add') throw new UsageError('--access-key only goes with add');
    const creds = await resolveAdminCredentials({ endpoint: values.endpoint, dataDir: values['data-dir'] });
    const client = new UserAdminClient(creds);
    const json = values.json === true;
    switch (action) {
      case 'list': {
        const users = await client.list();
        if (json) io.out(`${JSON.stringify(users, null, 2)}\n`);
        else for (const u of users) io.out(`${u.accessKey}\t${u.account}${u.static ? '\t(root)' : ''}\n`);
        return 0;
      }
      case 'add':
      case 'rotate-key': {
        const u = action === 'add' ? await client.add(arg!, values['access-key']) : await client.rotateKey(arg!);
        if (json) io.out(`${JSON.stringify(u, null, 2)}\n`);
        else io.out(`access key: ${u.accessKey}\nsecret key: ${u.secretKey}\naccount:    ${u.account}\n`);
        return 0;
      }
      default:
        await client.remove(arg!);
        if (!json) io.out(`removed ${arg}\n`);
        return 0;
    }
  },
};
