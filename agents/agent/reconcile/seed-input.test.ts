/** What an instance's cloud-init seed says about its network, per network mode. */
import t from 'tap';
import { seedInput } from './instances.js';
import { fakeQcow2, image, instance, network } from '../test-fixtures.js';
import type { DesiredNetwork } from '../../../agents/contract/desired.js';

function nicsFor(mode: DesiredNetwork['mode'], ip?: string) {
  const net = network({ mode });
  const { instance: inst } = instance({ name: 'vm', ...(ip ? { ip } : {}) }, net, image(fakeQcow2(1 << 20)));
  const ctx = { desired: { networks: { [net.id]: net } } } as unknown as Parameters<typeof seedInput>[0];
  return seedInput(ctx, inst).nics;
}

t.test('a fixed address gets the default route where the network has a router', async (t) => {
  t.same(nicsFor('nat', '10.77.1.10'), [{ mac: nicsFor('nat', '10.77.1.10')[0]!.mac, address: '10.77.1.10/24', gateway: '10.77.1.1' }]);
  t.equal(nicsFor('bridge', '10.77.1.10')[0]!.gateway, '10.77.1.1', 'bridge: the LAN router is the gateway');
  t.equal(nicsFor('isolated', '10.77.1.10')[0]!.gateway, undefined, 'isolated: no route out');
  t.same(Object.keys(nicsFor('nat')[0]!), ['mac'], 'without a fixed address: DHCP');
});
