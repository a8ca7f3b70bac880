import t from 'tap';
import { swiftSession } from './test-server.js';

t.test('bulk delete of objects and containers', async (t) => {
  const { call } = await swiftSession(t);
  await call('/a', { method: 'PUT' });
  await call('/b', { method: 'PUT' });
  for (const n of ['1', '2', 'sp ace', 'caf\u00e9']) await call(`/a/${encodeURIComponent(n)}`, { method: 'PUT', body: n });
  await call('/b/keep', { method: 'PUT', body: 'k' });
  const body = ['/a/1', '/a/2', `/a/${encodeURIComponent('sp ace')}`, `/a/${encodeURIComponent('caf\u00e9')}`, '/a/missing', '/a', '/b', ''].join('\n');
  const r = await call('?bulk-delete', { method: 'POST', body, headers: { accept: 'application/json', 'content-type': 'text/plain' } });
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], 'application/json');
  t.same(JSON.parse(r.text), {
    'Number Deleted': 5, 'Number Not Found': 1, 'Response Body': '', 'Response Status': '400 Bad Request',
    Errors: [['/b', '409 Conflict']],
  });
  t.equal((await call('')).text, 'b\n', 'container a and its objects are gone, b (not empty) stays');
  const plain = await call('?bulk-delete', { method: 'DELETE', body: '/b/keep\n/b\n' });
  t.equal(plain.text, 'Number Deleted: 2\nNumber Not Found: 0\nResponse Body: \nResponse Status: 200 OK\nErrors:\n');
  t.equal((await call('')).status, 204);
  const tooMany = await call('?bulk-delete', { method: 'POST', body: Array.from({ length: 10001 }, (_, i) => `/c/${i}`).join('\n') });
  t.equal(tooMany.status, 413);
  t.equal(tooMany.text, 'Maximum Bulk Deletes: 10000 per request');
});
