import t from 'tap';
import { child, children, el, escapeXml, parseXml, renderXml, textOf, XmlSyntaxError } from './xml.js';

t.test('writer escapes everything', async (t) => {
  t.equal(escapeXml(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
  t.equal(escapeXml('tab\tnl\nbell\u0007'), 'tab\tnl\nbell&#x7;');
  const doc = renderXml(el('Root', el('Key', 'a<b'), el('Count', 3), el('Flag', false), undefined, el('Empty')));
  t.equal(doc, '<?xml version="1.0" encoding="UTF-8"?>\n<Root xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Key>a&lt;b</Key><Count>3</Count><Flag>false</Flag><Empty/></Root>');
  t.equal(renderXml(el('E', 'x'), null), '<?xml version="1.0" encoding="UTF-8"?>\n<E>x</E>');
});

t.test('parser reads S3 request bodies', async (t) => {
  const doc = parseXml(`<?xml version="1.0" encoding="UTF-8"?>
    <!-- a comment -->
    <Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
      <Quiet>true</Quiet>
      <Object><Key>a &amp; b &lt;c&gt; &#233;&#x263A;</Key></Object>
      <Object><Key><![CDATA[<raw>]]></Key><VersionId/></Object>
    </Delete>`);
  t.equal(doc.name, 'Delete');
  t.equal(textOf(child(doc, 'Quiet')), 'true');
  t.same(children(doc, 'Object').map((o) => textOf(child(o, 'Key'))), ['a & b <c> é☺', '<raw>']);
  t.equal(parseXml("<s3:A xmlns:s3='x'><s3:B>1</s3:B></s3:A>").name, 'A', 'prefixes are dropped');
  for (const bad of ['', '<a>', '<a></b>', '<a/><b/>', 'text', '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', '<a>&bogus;</a>', '<a>&</a>',
    '<a><?php ?></a>', '<a>' + '<b>'.repeat(40) + '</b>'.repeat(40) + '</a>']) {
    t.throws(() => parseXml(bad), XmlSyntaxError, JSON.stringify(bad.slice(0, 30)));
  }
});
