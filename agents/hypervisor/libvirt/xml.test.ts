/**
 * The small XML reader and writer, on libvirt-shaped documents.
 */
import t from 'tap';
import { XmlParseError, children, el, find, parseXml, renderXml, textOf } from './xml.js';

t.test('parses what libvirt prints', async (t) => {
  const root = parseXml(`<?xml version="1.0"?>
<!-- comment -->
<network>
  <name>a &amp; b</name>
  <bridge name='virbr1' stp='on' delay='0'/>
  <ip address="10.0.0.1" prefix="24"><dhcp><host mac='52:54:00:00:00:01' ip='10.0.0.5'/><host mac="52:54:00:00:00:02" ip="10.0.0.6"/></dhcp></ip>
  <description><![CDATA[<raw>]]></description>
</network>`);
  t.equal(root.name, 'network');
  t.equal(textOf(find(root, 'name')), 'a & b');
  t.same(find(root, 'bridge')?.attrs, { name: 'virbr1', stp: 'on', delay: '0' });
  t.same(children(find(root, 'ip/dhcp')!, 'host').map((h) => h.attrs.ip), ['10.0.0.5', '10.0.0.6']);
  t.equal(textOf(find(root, 'description')), '<raw>');
  t.equal(find(root, 'missing/path'), undefined);
});

t.test('render escapes and parse reads it back', async (t) => {
  const doc = el('a', { x: `q"'<&>` }, el('b', {}, 'text <&> "'), el('c', { skip: undefined }));
  const xml = renderXml(doc);
  const back = parseXml(xml);
  t.equal(back.attrs.x, `q"'<&>`);
  t.equal(textOf(find(back, 'b')), 'text <&> "');
  t.same(find(back, 'c')?.attrs, {});
  t.equal(textOf(parseXml('<a>&#65;&#x42;</a>')), 'AB');
});

t.test('malformed documents are XmlParseError', async (t) => {
  t.throws(() => parseXml('<a><b></a>'), XmlParseError);
  t.throws(() => parseXml('<a>'), XmlParseError);
  t.throws(() => parseXml(''), XmlParseError);
  t.throws(() => parseXml('<a/><b/>'), XmlParseError);
  t.throws(() => parseXml('<a x=1/>'), XmlParseError);
  t.throws(() => parseXml('<a>&bogus;</a>'), XmlParseError);
});
