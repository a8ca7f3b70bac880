import t from 'tap';
import { LocalNode } from './local-node.js';

t.test('a node on one address owns only that address and port', async (t) => {
  const n = new LocalNode('10.0.0.5', 6200);
  t.ok(n.owns({ ip: '10.0.0.5', port: 6200 }));
  t.notOk(n.owns({ ip: '10.0.0.5', port: 6201 }), 'another port is another node');
  t.notOk(n.owns({ ip: '127.0.0.1', port: 6200 }));
});

t.test('a node on a wildcard owns loopback and its interfaces', async (t) => {
  const n = new LocalNode('0.0.0.0', 6200);
  t.ok(n.owns({ ip: '127.0.0.1', port: 6200 }));
  t.notOk(n.owns({ ip: '192.0.2.99', port: 6200 }), 'a documentation address is no interface of this machine');
});
