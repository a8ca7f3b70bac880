/** The proxy's HTTP server hands raw body streams to its front-end plugins. */
import t from 'tap';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { createProxyServer, HEALTH_PATH, METRICS_PATH, type FrontEndOptions } from './server.js';
import { MemoryBackend } from './memory-backend.js';
import { StaticUserDirectory } from '../auth/users.js';
import { FRONT_ENDS } from './front-ends.js';

t.test('front ends get the raw stream and their options', async (t) => {
  let seen: FrontEndOptions | undefined;
  const echo = async (app: FastifyInstance, opts: FrontEndOptions) => {
    seen = opts;
    app.put('/echo', async (req) => {
      t.ok(req.body instanceof Readable, 'body is a stream, not parsed');
      let n = 0;
      for await (const c of req.body as Readable) n += (c as Buffer).length;
      return { bytes: n };
    });
  };
  const backend = new MemoryBackend();
  const app = await createProxyServer({ backend, users: new StaticUserDirectory([]), frontEnds: [echo], region: 'r1', secret: 's' });
  t.teardown(() => app.close());
  for (const type of ['application/json', 'application/x-www-form-urlencoded', 'text/plain', undefined]) {
    const r = await app.inject({ method: 'PUT', url: '/echo', payload: '{"a":1}', headers: type ? { 'content-type': type } : {} });
    t.same(r.json(), { bytes: 7 }, `content type ${type}`);
  }
  t.equal(seen?.backend, backend);
  t.equal(seen?.region, 'r1');
  t.equal((await app.inject({ method: 'GET', url: HEALTH_PATH })).statusCode, 200);
});

t.test('the S3 and Swift front ends share the port', async (t) => {
  t.equal(FRONT_ENDS.length, 2);
  const app = await createProxyServer({ backend: new MemoryBackend(), users: new StaticUserDirectory([]), frontEnds: [...FRONT_ENDS], secret: 's' });
  t.teardown(() => app.close());
  t.equal((await app.inject({ method: 'GET', url: '/info' })).json().swift !== undefined, true, 'Swift /info');
  t.match((await app.inject({ method: 'GET', url: '/' })).body, /<Error>/, 'S3 answers with an XML error without credentials');
});

t.test('request rates and latencies are exposed for Prometheus, with the front ends mounted', async (t) => {
  const backend = new MemoryBackend();
  const app = await createProxyServer({ backend, users: new StaticUserDirectory([]), frontEnds: [...FRONT_ENDS], secret: 's' });
  t.teardown(() => app.close());
  await app.inject({ method: 'GET', url: HEALTH_PATH });
  await app.inject({ method: 'GET', url: HEALTH_PATH });
  await app.inject({ method: 'GET', url: '/some-bucket' }); // S3 without credentials: 403
  const r = await app.inject({ method: 'GET', url: METRICS_PATH });
  t.equal(r.statusCode, 200);
  t.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  t.match(r.body, /# TYPE ringstack_proxy_requests_total counter/);
  t.match(r.body, /ringstack_proxy_requests_total\{code="200",method="GET"\} 2\n/);
  t.match(r.body, /ringstack_proxy_requests_total\{code="403",method="GET"\} 1\n/);
  t.match(r.body, /ringstack_proxy_request_duration_seconds_count\{method="GET"\} 3\n/);
});
