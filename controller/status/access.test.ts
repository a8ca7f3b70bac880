/** Read tokens: parsing (config and RINGSTACK_STATUS_TOKENS), checks, scopes, the loopback rule. */
import t from 'tap';
import { controllerConfigFrom } from '../service/config.js';
import { AccessDenied, StatusAccess, parseStatusTokens } from './access.js';

const base = { gitTokens: ['g'], store: { accessKey: 'a', secretKey: 's' } };

t.test('tokens from the config file and the environment', async (t) => {
  t.same(parseStatusTokens(' admin , demo-ro:demo ,,'), [{ token: 'admin' }, { token: 'demo-ro', project: 'demo' }]);
  t.same(controllerConfigFrom({ ...base, statusTokens: ['a', 'b:p'] }, {}).statusTokens, [{ token: 'a' }, { token: 'b', project: 'p' }]);
  t.same(controllerConfigFrom({ ...base, statusTokens: 'x' }, { RINGSTACK_STATUS_TOKENS: 'y:q' }).statusTokens, [{ token: 'y', project: 'q' }], 'the environment wins');
  t.same(controllerConfigFrom(base, {}).statusTokens, [], 'none by default');
});

t.test('checks', async (t) => {
  const a = new StatusAccess([{ token: 'admin' }, { token: 'ro', project: 'demo' }]);
  t.same(a.check('Bearer admin', undefined, '192.0.2.1'), {});
  t.same(a.check('bearer ro', undefined, '192.0.2.1'), { project: 'demo' });
  t.same(a.check(undefined, 'ro', '192.0.2.1'), { project: 'demo' }, 'query token (event stream)');
  t.throws(() => a.check('Bearer nope', undefined, '127.0.0.1'), AccessDenied);
  t.throws(() => a.check(undefined, undefined, '127.0.0.1'), new AccessDenied(401, 'a read token is required (Authorization: Bearer <token>)'), 'tokens configured: loopback needs one too');
  const open = new StatusAccess([]);
  t.same(open.check(undefined, undefined, '::1'), {});
  t.same(open.check(undefined, undefined, '::ffff:127.0.0.1'), {});
  t.throws(() => open.check('Bearer anything', undefined, '10.0.0.2'), new AccessDenied(403, 'no status tokens are configured: reads are open on the loopback address only'));
});
