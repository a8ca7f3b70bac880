/**
 * Ids unique across processes and restarts without a random draw per id: a random prefix,
 * then a counter. For temporary files, queue keys and request ids made once or more per small
 * request, where a CSPRNG call (and the getpid(2) OpenSSL makes with it) per id showed in
 * profiles. Not secrets: never use them where an id must be unguessable.
 */
import { randomBytes } from 'node:crypto';

const COUNTER_DIGITS = 8;
const COUNTER_LIMIT = 16 ** COUNTER_DIGITS;

/**
 * A generator of hex ids of `length` digits (at least 16): a random prefix of `length - 8`
 * digits, drawn again each time the 8-digit counter after it wraps.
 */
export function uniqueIds(length = 20): () => string {
  if (!Number.isInteger(length) || length < 16) throw new RangeError(`id length must be an integer of at least 16 (got ${length})`);
  const draw = () => randomBytes(Math.ceil((length - COUNTER_DIGITS) / 2)).toString('hex').slice(0, length - COUNTER_DIGITS);
  let prefix = draw();
  let next = 0;
  return () => {
    if (next === COUNTER_LIMIT) {
      prefix = draw();
      next = 0;
    }
    return prefix + (next++).toString(16).padStart(COUNTER_DIGITS, '0');
  };
}
