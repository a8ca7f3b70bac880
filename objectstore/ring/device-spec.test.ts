import t from 'tap';
import { matchesSearch, parseDeviceSearch, parseDeviceSpec } from './device-spec.js';
import { BuilderError } from './errors.js';

t.test('swift-ring-builder add syntax', async (t) => {
  t.same(parseDeviceSpec('r1z1-127.0.0.1:6200/sdb1_meta data'),
    { region: 1, zone: 1, ip: '127.0.0.1', port: 6200, device: 'sdb1', meta: 'meta data' });
  t.same(parseDeviceSpec('r2z3-[::1]:6200/d1'), { region: 2, zone: 3, ip: '::1', port: 6200, device: 'd1', meta: '' });
  t.same(parseDeviceSpec('r1z1-10.0.0.1:6200R10.1.0.1:6300/sdb'), {
    region: 1, zone: 1, ip: '10.0.0.1', port: 6200, device: 'sdb', meta: '', replication_ip: '10.1.0.1', replication_port: 6300,
  });
  t.equal(parseDeviceSpec('r1z1-storage-1.example:6200/sdb').ip, 'storage-1.example');
  for (const bad of ['z1-10.0.0.1:6200/sdb', 'r1z1-10.0.0.1/sdb', 'r1z1-10.0.0.1:6200', 'r1z1-10.0.0.1:0/sdb', 'r1z1-10.0.0.1:70000/sdb', '']) {
    t.throws(() => parseDeviceSpec(bad), BuilderError, `rejects "${bad}"`);
  }
});

t.test('search values', async (t) => {
  t.same(parseDeviceSearch('d3'), { id: 3 });
  t.same(parseDeviceSearch('z2'), { zone: 2 });
  t.same(parseDeviceSearch('r1z2'), { region: 1, zone: 2 });
  t.same(parseDeviceSearch('10.0.0.1:6200/sdb'), { ip: '10.0.0.1', port: 6200, device: 'sdb' });
  t.same(parseDeviceSearch('-10.0.0.1'), { ip: '10.0.0.1' });
  t.same(parseDeviceSearch('/sdb'), { device: 'sdb' });
  t.same(parseDeviceSearch('_fast'), { meta: 'fast' });
  t.same(parseDeviceSearch('d1r1z1-127.0.0.1:6200/sdb_x'), { id: 1, region: 1, zone: 1, ip: '127.0.0.1', port: 6200, device: 'sdb', meta: 'x' });
  t.throws(() => parseDeviceSearch(''), BuilderError);
  const dev = { id: 1, region: 1, zone: 2, ip: '10.0.0.1', port: 6200, device: 'sdb', meta: '' };
  t.ok(matchesSearch(dev, parseDeviceSearch('z2')));
  t.ok(matchesSearch(dev, parseDeviceSearch('10.0.0.1:6200/sdb')));
  t.notOk(matchesSearch(dev, parseDeviceSearch('10.0.0.1:6201')));
  t.notOk(matchesSearch(dev, parseDeviceSearch('d2')));
});
