/** Deterministic names: stable, within libvirt's limits, recognisable as the agent's own. */
import t from 'tap';
import { checkName } from '../hypervisor/validate.js';
import { InvalidNamePrefixError, Naming } from './naming.js';

t.test('names are stable, distinct per id, within 64 characters and valid for the hypervisor layer', async (t) => {
  const n = new Naming('rs');
  const long = 'x'.repeat(200);
  const names = [
    n.domain('p/web', 'web'), n.network('p/lan', 'lan'), n.volume('p/web/boot', 'web.boot'), n.seed('p/web', 'web', 'ab'.repeat(32)),
    n.domain(`p/${long}`, long), n.volume(`p/${long}`, long), n.seed(`p/${long}`, long, 'cd'.repeat(32)), n.image('e'.repeat(64), 'qcow2'),
    n.imageMarker('e'.repeat(64)),
  ];
  for (const name of names) {
    t.ok(name.length <= 64, `${name} fits`);
    t.doesNotThrow(() => checkName('volume', name));
  }
  t.equal(n.domain('p/web', 'web'), new Naming('rs').domain('p/web', 'web'), 'stable');
  t.not(n.domain('a/web', 'web'), n.domain('b/web', 'web'), 'same name in two projects: two domains');
  t.ok(n.owns(n.domain('p/web', 'web')));
  t.notOk(n.owns('default'));
  t.notOk(new Naming('rsx').owns(n.domain('p/web', 'web')), 'another prefix is another agent');
  t.ok(n.isSeed(n.seed('p/web', 'web', 'ab'.repeat(32))));
  t.notOk(n.isVolume(n.seed('p/web', 'web', 'ab'.repeat(32))));
  t.ok(n.isVolume(n.volume('p/web/boot', 'web.boot')));
  t.equal(n.imageKeyOf(n.image('e'.repeat(64), 'raw')), 'e'.repeat(56));
  t.equal(n.imageKeyOf(n.imageMarker('e'.repeat(64))), 'e'.repeat(56));
  t.equal(n.imageKeyOf('something-else.qcow2'), undefined);
  t.throws(() => new Naming('Bad-Prefix'), InvalidNamePrefixError);
});
