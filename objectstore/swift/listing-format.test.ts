import t from 'tap';
import { listingContentType, listOptions } from './listing-format.js';
import { parseRangeHeader, rangesForLength } from './ranges.js';
import { evaluateConditions } from './conditional.js';
import { splitSwiftBytes, withSwiftBytes, guessContentType } from './content-type.js';
import { listingDate, xTimestamp } from './http-dates.js';
import { SwiftError } from './errors.js';

t.test('listing format from format= and Accept', async (t) => {
  t.equal(listingContentType('json', undefined), 'application/json');
  t.equal(listingContentType('XML', 'application/json'), 'application/xml', 'format= wins over Accept');
  t.equal(listingContentType('bogus', undefined), 'text/plain', 'unknown format is plain');
  t.equal(listingContentType(null, undefined), 'text/plain');
  t.equal(listingContentType(null, '*/*'), 'text/plain');
  t.equal(listingContentType(null, 'application/json;q=0.9, text/plain;q=0.5'), 'application/json');
  t.equal(listingContentType(null, 'application/*'), 'application/json', 'first offer of a wildcard');
  t.equal(listingContentType(null, 'text/xml'), 'text/xml');
  t.equal(listingContentType(null, 'text/*;q=0.1, application/xml'), 'application/xml');
  t.equal(listingContentType(null, '*/*;q=0.1, text/plain;q=0'), 'application/json', 'q=0 excludes');
  t.throws(() => listingContentType(null, 'image/png'), SwiftError);
});

t.test('listing parameters', async (t) => {
  const q = (s: string) => listOptions(new URLSearchParams(s));
  t.same(q('prefix=a&delimiter=/&marker=m&end_marker=z&limit=5&reverse=yes'),
    { prefix: 'a', delimiter: '/', marker: 'm', endMarker: 'z', limit: 5, reverse: true });
  t.same(q('reverse=false'), {});
  t.same(q('limit=0'), { limit: 0 });
  const status = (fn: () => unknown): number | undefined => {
    try {
      fn();
      return undefined;
    } catch (err) {
      return (err as SwiftError).status;
    }
  };
  t.equal(status(() => q('limit=10001')), 412);
  t.same(q('limit=-1'), {}, 'not a number: ignored');
  t.same(q('delimiter=ab'), { delimiter: 'ab' }, 'longer delimiters are fine since Swift 2.30');
});

t.test('range headers as swob parses them', async (t) => {
  t.same(parseRangeHeader('bytes=0-9'), [{ start: 0, end: 9 }]);
  t.same(parseRangeHeader('bytes=-5, 10-'), [{ start: undefined, end: 5 }, { start: 10, end: undefined }]);
  t.equal(parseRangeHeader('bytes=5-1'), undefined, 'reversed range: header ignored');
  t.equal(parseRangeHeader('bytes=-'), undefined);
  t.equal(parseRangeHeader('bytes=a-b'), undefined);
  t.equal(parseRangeHeader('lines=0-1'), undefined);
  t.equal(parseRangeHeader(`bytes=${Array.from({ length: 51 }, (_, i) => `${i}-${i}`).join(',')}`), undefined, 'more than 50 ranges ignored');
  t.same(rangesForLength(parseRangeHeader('bytes=0-9,-3,100-')!, 20), [{ start: 0, end: 9 }, { start: 17, end: 19 }]);
  t.same(rangesForLength(parseRangeHeader('bytes=-100')!, 20), [{ start: 0, end: 19 }], 'suffix longer than the object');
  t.same(rangesForLength(parseRangeHeader('bytes=0-')!, 0), [], 'nothing satisfiable in an empty object');
  t.same(rangesForLength(parseRangeHeader('bytes=-0')!, 10), []);
});

t.test('conditions', async (t) => {
  const lm = Date.UTC(2024, 0, 2, 3, 4, 5, 100); // Last-Modified rounds up to 03:04:06
  const at = (s: number) => new Date(Date.UTC(2024, 0, 2, 3, 4, s)).toUTCString();
  t.equal(evaluateConditions({ 'if-modified-since': at(6) }, 'e', lm), 'not-modified');
  t.equal(evaluateConditions({ 'if-modified-since': at(5) }, 'e', lm), 'proceed');
  t.equal(evaluateConditions({ 'if-unmodified-since': at(5) }, 'e', lm), 'precondition-failed');
  t.equal(evaluateConditions({ 'if-unmodified-since': at(6) }, 'e', lm), 'proceed');
  t.equal(evaluateConditions({ 'if-match': '"a", "e"' }, 'e', lm), 'proceed');
  t.equal(evaluateConditions({ 'if-match': '"a"', 'if-none-match': '"e"' }, 'e', lm), 'precondition-failed', 'If-Match first');
  t.equal(evaluateConditions({ 'if-none-match': 'W/"e"' }, '"e"', lm), 'not-modified', 'weak and quoted forms compare equal');
  t.equal(evaluateConditions({ 'if-none-match': '"x"', 'if-modified-since': at(59) }, 'e', lm), 'proceed', 'If-None-Match overrides If-Modified-Since');
});

t.test('content types and times', async (t) => {
  t.equal(guessContentType('a/b/photo.JPG'), 'image/jpeg');
  t.equal(guessContentType('noext'), 'application/octet-stream');
  t.equal(guessContentType('.hidden'), 'application/octet-stream');
  const stored = withSwiftBytes('text/plain;charset=utf-8', 1234, 'abc');
  t.equal(stored, 'text/plain;charset=utf-8;swift_bytes=1234;slo_etag=abc');
  t.same(splitSwiftBytes(stored), { contentType: 'text/plain;charset=utf-8', swiftBytes: 1234, sloEtag: 'abc' });
  t.same(splitSwiftBytes('application/x;swift_bytes=5;slo_etag=e;s3_etag=f-2'), { contentType: 'application/x', swiftBytes: 5, sloEtag: 'e' }, 'manifests written by S3');
  t.same(splitSwiftBytes('text/plain'), { contentType: 'text/plain' });
  t.equal(xTimestamp(1700000000123.4), '1700000000.12340');
  t.equal(listingDate(Date.UTC(2024, 0, 2, 3, 4, 5, 67)), '2024-01-02T03:04:05.067000');
});
