/**
 * openBody on requests the client abandoned: the body fails at once instead of waiting for
 * bytes that will never come (which held the proxy's per-name write lock for good).
 */
import t from 'tap';
import { Readable } from 'node:stream';
import { openBody } from './body.js';
import { UNSIGNED_PAYLOAD } from './sigv4.js';
import type { S3Request } from './request.js';

function request(raw: Readable): S3Request {
  return { raw, headers: { 'content-length': '5' }, auth: { payloadHash: UNSIGNED_PAYLOAD } } as unknown as S3Request;
}

/** How reading the opened body ends: 'end', or the error's message; 'hang' after 2 s. */
async function outcome(raw: Readable): Promise<string> {
  const { stream } = openBody(request(raw));
  const read = (async () => {
    for await (const _ of stream) { /* drain */ }
    return 'end';
  })().catch((e: Error) => `error: ${e.message}`);
  const hang = new Promise<string>((r) => setTimeout(() => r('hang'), 2000).unref());
  return Promise.race([read, hang]);
}

t.test('a request destroyed before its body was opened fails the body', async (t) => {
  const raw = new Readable({ read() {} });
  raw.push('ab');
  raw.destroy(); // as Node does to a reset request nobody listened to: no 'error' after this
  await new Promise((r) => setImmediate(r));
  t.match(await outcome(raw), /^error: /);
});

t.test('a request reset while its body comes fails the body', async (t) => {
  const raw = new Readable({ read() {} });
  raw.push('ab');
  const got = outcome(raw);
  setTimeout(() => raw.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })), 20);
  t.match(await got, /^error: /);
});

t.test('a request closed short of its end without an error fails the body', async (t) => {
  const raw = new Readable({ read() {} });
  raw.push('ab');
  const got = outcome(raw);
  setTimeout(() => raw.destroy(), 20);
  t.match(await got, /^error: /);
});

t.test('a whole body still reads to its end', async (t) => {
  t.equal(await outcome(Readable.from([Buffer.from('hello')])), 'end');
});
