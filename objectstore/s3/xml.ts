/**
 * The little XML S3 needs, without a dependency: a safe writer for responses (every text is
 * escaped; characters XML 1.0 cannot carry become numeric references) and a minimal parser for
 * the few request bodies S3 has (Delete, CompleteMultipartUpload, CreateBucketConfiguration).
 * The parser refuses DOCTYPE and processing instructions other than the XML declaration, so
 * entity expansion attacks cannot happen; namespaces prefixes are dropped.
 */

/** S3's response namespace. */
export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** Largest request body the parser accepts (10,000 parts of a CompleteMultipartUpload fit). */
export const MAX_XML_BODY_BYTES = 4 * 1024 * 1024;
const MAX_DEPTH = 32;

export interface XmlElement {
  name: string;
  attrs?: Record<string, string>;
  children: XmlNode[];
}
export type XmlNode = XmlElement | string;

/** Builds an element; undefined children are skipped, numbers and booleans become text. */
export function el(name: string, ...children: Array<XmlNode | number | boolean | undefined | null | XmlNode[]>): XmlElement {
  const out: XmlNode[] = [];
  for (const c of children) {
    if (c === undefined || c === null) continue;
    if (Array.isArray(c)) out.push(...c);
    else out.push(typeof c === 'object' ? c : String(c));
  }
  return { name, children: out };
}

/** Escapes text for element content or attribute values. */
export function escapeXml(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === '&') out += '&amp;';
    else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '"') out += '&quot;';
    else if (ch === "'") out += '&apos;';
    else if ((cp < 0x20 && cp !== 0x9 && cp !== 0xa) || cp === 0xd || (cp >= 0xfffe && cp <= 0xffff)) out += `&#x${cp.toString(16)};`;
    else out += ch;
  }
  return out;
}

function renderNode(node: XmlNode): string {
  if (typeof node === 'string') return escapeXml(node);
  const attrs = Object.entries(node.attrs ?? {}).map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
  if (node.children.length === 0) return `<${node.name}${attrs}/>`;
  return `<${node.name}${attrs}>${node.children.map(renderNode).join('')}</${node.name}>`;
}

/** Renders a document with the XML declaration; `xmlns` is set on the root when given. */
export function renderXml(root: XmlElement, xmlns: string | null = S3_XMLNS): string {
  const withNs = xmlns ? { ...root, attrs: { xmlns, ...(root.attrs ?? {}) } } : root;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${renderNode(withNs)}`;
}

/** A body that is not well-formed XML (S3's MalformedXML). */
export class XmlSyntaxError extends Error {
  override name = 'XmlSyntaxError';
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);|&/g, (m, ent: string | undefined) => {
    if (ent === undefined) throw new XmlSyntaxError('bare & in text');
    if (ent.startsWith('#x')) return String.fromCodePoint(parseInt(ent.slice(2), 16));
    if (ent.startsWith('#')) return String.fromCodePoint(parseInt(ent.slice(1), 10));
    const v = ENTITIES[ent];
    if (v === undefined) throw new XmlSyntaxError(`unknown entity ${m}`);
    return v;
  });
}

const localName = (qname: string) => qname.slice(qname.indexOf(':') + 1);

/** Parses a document into elements and text; throws XmlSyntaxError when not well-formed. */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const fail = (what: string): never => { throw new XmlSyntaxError(`${what} at offset ${i}`); };
  while (i < text.length) {
    if (text[i] !== '<') {
      const next = text.indexOf('<', i);
      const end = next < 0 ? text.length : next;
      const chunk = text.slice(i, end);
      if (stack.length > 0) stack[stack.length - 1]!.children.push(decodeEntities(chunk));
      else if (chunk.trim() !== '') fail('text outside the root element');
      i = end;
      continue;
    }
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i);
      if (end < 0 || root || stack.length > 0 || !/^<\?xml[\s?]/.test(text.slice(i, i + 6))) fail('unexpected processing instruction');
      i = end + 2;
    } else if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i);
      if (end < 0) fail('unterminated comment');
      i = end + 3;
    } else if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i);
      if (end < 0 || stack.length === 0) fail('bad CDATA');
      stack[stack.length - 1]!.children.push(text.slice(i + 9, end));
      i = end + 3;
    } else if (text.startsWith('<!', i)) {
      fail('DOCTYPE and declarations are not accepted');
    } else if (text.startsWith('</', i)) {
      const end = text.indexOf('>', i);
      if (end < 0) fail('unterminated end tag');
      const name = localName(text.slice(i + 2, end).trim());
      const open = stack.pop();
      if (!open || open.name !== name) fail(`mismatched end tag </${name}>`);
      i = end + 1;
    } else {
      const m = /^<([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(text.slice(i, i + 4096));
      if (!m) fail('bad start tag');
      const attrs: Record<string, string> = {};
      for (const a of m![2]!.matchAll(/([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs[a[1]!] = decodeEntities(a[2] ?? a[3] ?? '');
      const elem: XmlElement = { name: localName(m![1]!), attrs, children: [] };
      if (stack.length > 0) stack[stack.length - 1]!.children.push(elem);
      else if (root) fail('second root element');
      else root = elem;
      if (m![3] !== '/') {
        stack.push(elem);
        if (stack.length > MAX_DEPTH) fail('nesting too deep');
      }
      i += m![0].length;
    }
  }
  if (!root || stack.length > 0) throw new XmlSyntaxError('document is empty or not closed');
  return root;
}

/** The child elements named `name`. */
export function children(node: XmlElement, name: string): XmlElement[] {
  return node.children.filter((c): c is XmlElement => typeof c !== 'string' && c.name === name);
}

/** The first child element named `name`, if any. */
export function child(node: XmlElement, name: string): XmlElement | undefined {
  return children(node, name)[0];
}

/** The text content of an element (concatenated text children). */
export function textOf(node: XmlElement | undefined): string | undefined {
  if (!node) return undefined;
  return node.children.filter((c): c is string => typeof c === 'string').join('');
}
