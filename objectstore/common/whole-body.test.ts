import t from 'tap';
import { Readable } from 'node:stream';
import { WholeBody, payloadOf } from './whole-body.js';

t.test('a whole body streams its bytes once, or is sent as bytes', async (t) => {
  const bytes = Buffer.from('four KiB stand-in');
  t.equal(payloadOf(new WholeBody(bytes)), bytes, 'unread: the front end sends the bytes themselves');
  const chunks: Buffer[] = [];
  const streamed = new WholeBody(bytes);
  for await (const c of streamed) chunks.push(c as Buffer);
  t.same(Buffer.concat(chunks), bytes, 'as a stream: the bytes, then the end');
  t.type(payloadOf(streamed), Readable, 'once read from, it stays a stream (never sent twice)');
  const empty: Buffer[] = [];
  for await (const c of new WholeBody(Buffer.alloc(0))) empty.push(c as Buffer);
  t.equal(Buffer.concat(empty).length, 0, 'an empty body ends at once');
  const other = Readable.from(['x']);
  t.equal(payloadOf(other), other, 'any other stream is sent as a stream');
});
