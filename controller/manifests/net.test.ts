/** parseIPv4: strict dotted quads, checked against a plain reading of the rule. */
import t from 'tap';
import { parseIPv4 } from './net.js';

/** The rule, written the obvious way: four parts of 0 or 1-9 then up to two digits, each <= 255. */
function reference(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

t.test('same answers as the reference on valid, invalid and near-miss addresses', async (t) => {
  const cases = ['0.0.0.0', '10.0.0.5', '255.255.255.255', '192.168.1.1', '1.2.3.4', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4',
    '1.2.3.04', '1..3.4', '.1.2.3', '1.2.3.', '1.2.3.4 ', ' 1.2.3.4', 'a.b.c.d', '1.2.3.4a', '1000.1.1.1', '1.2.3.-4', '', '::1',
    '10.0.0.0/24', '1.2.3.4\n', '00.0.0.0', '0.0.0.00', '249.250.251.252', '٣.1.1.1'];
  for (let i = 0; i < 300; i++) cases.push([i * 7 % 300, i % 256, (i * 13) % 260, i].join('.'));
  for (const c of cases) t.equal(parseIPv4(c), reference(c), JSON.stringify(c));
  t.equal(parseIPv4('10.1.2.3'), 0x0a010203);
});
