import t from 'tap';
import {
  BadRequest, ChecksumMismatch, Conflict, IncompleteBody, InsufficientStorage, NotFound, NotModified, PreconditionFailed,
  QuorumNotReached, RangeNotSatisfiable, ServiceUnavailable, TooLarge, Unauthorized,
} from '../common/errors.js';
import { defaultBody, SwiftError, toSwiftResponse } from './errors.js';

t.test('store errors map to Swift statuses and bodies in one place', async (t) => {
  const cases: Array<[Error, number]> = [
    [new NotFound('x'), 404], [new Conflict('x', 'not-empty'), 409], [new PreconditionFailed('x'), 412],
    [new RangeNotSatisfiable('x', 10), 416], [new ChecksumMismatch('x'), 422], [new Unauthorized('x'), 401],
    [new InsufficientStorage('x'), 507], [new QuorumNotReached('x'), 503], [new ServiceUnavailable('x'), 503],
    [new NotModified('x'), 304], [new TooLarge('too big'), 413], [new BadRequest('bad name'), 400],
    [new IncompleteBody('short'), 499], [new Error('boom'), 500],
  ];
  for (const [err, status] of cases) t.equal(toSwiftResponse(err).status, status, err.name);
  t.equal(toSwiftResponse(new NotFound('x')).body, '<html><h1>Not Found</h1><p>The resource could not be found.</p></html>');
  t.equal(toSwiftResponse(new QuorumNotReached('x')).body, defaultBody(503));
  t.match(toSwiftResponse(new Error('secret detail')).body, /^<html><h1>Internal Error<\/h1>/, 'internal details never reach clients');
  t.equal(toSwiftResponse(new RangeNotSatisfiable('x', 10)).headers['content-range'], 'bytes */10');
  t.equal(toSwiftResponse(new BadRequest('bad name')).body, 'bad name');
  const custom = toSwiftResponse(new SwiftError(412, 'Maximum limit is 10000'));
  t.same([custom.status, custom.body, custom.headers['content-type']], [412, 'Maximum limit is 10000', 'text/html; charset=UTF-8']);
  t.equal(toSwiftResponse(new SwiftError(401, undefined, { 'www-authenticate': 'Swift realm="x"' })).headers['www-authenticate'], 'Swift realm="x"');
});
