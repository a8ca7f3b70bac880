/**
 * Checking bytes against their ETag while they are served, without ever completing a wrong
 * body: the Transform passes chunks on one step late and keeps the last one back until the MD5
 * of everything is known. On a match the last chunk goes out and the stream ends; on a
 * mismatch the stream fails with BodyMismatch, so whoever pipes it into a response destroys
 * the response short of its Content-Length: the client sees an error, never a complete body.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

export class BodyMismatch extends Error {
  constructor(readonly got: string, readonly etag: string) {
    super(`body MD5 ${got} does not match ETag ${etag}`);
  }
}

export function md5HoldBack(etag: string): Transform {
  const md5 = createHash('md5');
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      md5.update(chunk);
      const out = held;
      held = chunk;
      cb(null, out);
    },
    flush(cb) {
      const got = md5.digest('hex');
      if (got !== etag) return cb(new BodyMismatch(got, etag));
      cb(null, held);
    },
  });
}
