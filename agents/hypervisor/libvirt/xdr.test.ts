/**
 * XDR encoding against hand-computed RFC 4506 bytes, and round trips of libvirt's structs.
 */
import t from 'tap';
import {
  XdrError,
  XdrReader,
  XdrWriter,
  readDomain,
  readStorageVol,
  uuidFromString,
  uuidToString,
  writeDomain,
  writeStorageVol,
} from './xdr.js';

t.test('primitive encodings are big-endian and padded to 4 bytes', async (t) => {
  const bytes = new XdrWriter()
    .int(-2)
    .uint(0xdeadbeef)
    .hyper(-1n)
    .uhyper(2n ** 40n)
    .bool(true)
    .string('abcde')
    .opaqueFixed(Buffer.from([1, 2, 3]), 3)
    .finish();
  t.equal(
    bytes.toString('hex'),
    [
      'fffffffe',
      'deadbeef',
      'ffffffffffffffff',
      '0000010000000000',
      '00000001',
      '00000005', '6162636465000000',
      '01020300',
    ].join(''),
  );
});

t.test('optional and array', async (t) => {
  const w = new XdrWriter().optional(null, (x, v: string) => x.string(v)).optional('x', (x, v) => x.string(v));
  w.array([1, 2, 3], (x, v) => x.int(v));
  const r = new XdrReader(w.finish());
  t.equal(r.optional((x) => x.string()), null);
  t.equal(r.optional((x) => x.string()), 'x');
  t.same(r.array((x) => x.int()), [1, 2, 3]);
  t.equal(r.remaining, 0);
});

t.test('round trip of every reader', async (t) => {
  const w = new XdrWriter().int(-7).uint(7).hyper(-(2n ** 50n)).uhyper(2n ** 52n).bool(false).opaque(Buffer.from('hello'));
  const r = new XdrReader(w.finish());
  t.equal(r.int(), -7);
  t.equal(r.uint(), 7);
  t.equal(r.hyperNumber(), -(2 ** 50));
  t.equal(r.uhyperNumber(), 2 ** 52);
  t.equal(r.bool(), false);
  t.equal(r.opaque().toString(), 'hello');
});

t.test('libvirt object references', async (t) => {
  const uuid = uuidFromString('6ae19d84-77c9-4d26-8c6d-f148e0506cfd');
  const w = new XdrWriter();
  writeDomain(w, { name: 'vm', uuid, id: -1 });
  writeStorageVol(w, { pool: 'p', name: 'v', key: '/p/v' });
  const bytes = w.finish();
  // name (4 + 4 padded), uuid 16, id 4; then three strings of 4 + 4 bytes each
  t.equal(bytes.length, 8 + 16 + 4 + 8 + 8 + 8);
  const r = new XdrReader(bytes);
  const dom = readDomain(r);
  t.equal(dom.name, 'vm');
  t.equal(uuidToString(dom.uuid), '6ae19d84-77c9-4d26-8c6d-f148e0506cfd');
  t.equal(dom.id, -1);
  t.same(readStorageVol(r), { pool: 'p', name: 'v', key: '/p/v' });
});

t.test('bad input is an XdrError', async (t) => {
  t.throws(() => new XdrReader(Buffer.from([0, 0, 0])).int(), XdrError, 'truncated');
  t.throws(() => new XdrReader(Buffer.from('0000000a6162', 'hex')).string(), XdrError, 'string longer than the data');
  t.throws(() => new XdrReader(Buffer.from('00000002', 'hex')).bool(), XdrError, 'boolean 2');
  t.throws(() => new XdrReader(Buffer.from('000000ff', 'hex')).opaque(10), XdrError, 'over the limit');
  t.throws(() => new XdrReader(Buffer.from('ffffffffffffffff', 'hex')).uhyperNumber(), XdrError, 'unsafe number');
  t.throws(() => new XdrWriter().int(2 ** 31), XdrError);
  t.throws(() => new XdrWriter().uint(-1), XdrError);
  t.throws(() => new XdrWriter().opaqueFixed(Buffer.alloc(3), 16), XdrError);
  t.throws(() => uuidFromString('not-a-uuid'), XdrError);
});
