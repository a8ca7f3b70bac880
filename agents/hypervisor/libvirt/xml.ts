/**
 * Just enough XML for libvirt's documents: a builder that escapes text and attributes, and a
 * small parser for the well-formed XML libvirtd returns (elements, attributes, text, comments,
 * CDATA, the five predefined entities and numeric character references; no DTDs).
 *
 * The hypervisor layer renders specs into libvirt XML and reads the state back from the XML
 * that libvirt dumps, so it needs both directions but none of XML's exotic corners.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}
export type XmlNode = XmlElement | string;

/** Thrown for XML this parser cannot read. */
export class XmlParseError extends Error {
  override name = 'XmlParseError';
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function unescapeXml(value: string): string {
  return value.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    const ch = ENTITIES[ref];
    if (ch === undefined) throw new XmlParseError(`unknown entity ${whole}`);
    return ch;
  });
}

/** Builds an element; attributes with undefined values are left out. */
export function el(
  name: string,
  attrs: Record<string, string | number | undefined> = {},
  ...children: (XmlNode | null | undefined | false)[]
): XmlElement {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) clean[k] = String(v);
  return { name, attrs: clean, children: children.filter((c): c is XmlNode => c !== null && c !== undefined && c !== false) };
}

/** Serialises an element tree with two-space indentation. */
export function renderXml(node: XmlElement, indent = ''): string {
  const attrs = Object.entries(node.attrs).map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
  if (node.children.length === 0) return `${indent}<${node.name}${attrs}/>`;
  if (node.children.every((c) => typeof c === 'string')) {
    return `${indent}<${node.name}${attrs}>${escapeXml(node.children.join(''))}</${node.name}>`;
  }
  const inner = node.children
    .map((c) => (typeof c === 'string' ? indent + '  ' + escapeXml(c) : renderXml(c, indent + '  ')))
    .join('\n');
  return `${indent}<${node.name}${attrs}>\n${inner}\n${indent}</${node.name}>`;
}

/** Parses a document and returns its root element. */
export function parseXml(text: string): XmlElement {
  let pos = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const fail = (msg: string): never => {
    throw new XmlParseError(`${msg} at offset ${pos}`);
  };
  while (pos < text.length) {
    const lt = text.indexOf('<', pos);
    const textEnd = lt < 0 ? text.length : lt;
    if (textEnd > pos) {
      const chunk = text.slice(pos, textEnd);
      if (stack.length > 0) stack[stack.length - 1].children.push(unescapeXml(chunk));
      else if (chunk.trim() !== '') fail('text outside the root element');
      pos = textEnd;
      continue;
    }
    if (text.startsWith('<!--', pos)) {
      const end = text.indexOf('-->', pos);
      if (end < 0) fail('unterminated comment');
      pos = end + 3;
    } else if (text.startsWith('<![CDATA[', pos)) {
      const end = text.indexOf(']]>', pos);
      if (end < 0) fail('unterminated CDATA');
      if (stack.length === 0) fail('CDATA outside the root element');
      stack[stack.length - 1].children.push(text.slice(pos + 9, end));
      pos = end + 3;
    } else if (text.startsWith('<?', pos) || text.startsWith('<!', pos)) {
      const end = text.indexOf('>', pos);
      if (end < 0) fail('unterminated declaration');
      pos = end + 1;
    } else if (text.startsWith('</', pos)) {
      const end = text.indexOf('>', pos);
      if (end < 0) fail('unterminated end tag');
      const name = text.slice(pos + 2, end).trim();
      const open = stack.pop();
      if (!open || open.name !== name) fail(`unexpected </${name}>`);
      pos = end + 1;
    } else {
      const m = /^<([A-Za-z_][\w.:-]*)/.exec(text.slice(pos, pos + 200));
      if (!m) fail('invalid tag');
      const node: XmlElement = { name: m![1], attrs: {}, children: [] };
      pos += m![0].length;
      const attrRe = /\s*([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')|\s*(\/?>)/y;
      for (;;) {
        attrRe.lastIndex = pos;
        const a = attrRe.exec(text);
        if (!a) fail(`malformed tag <${node.name}>`);
        pos = attrRe.lastIndex;
        if (a![5]) {
          if (stack.length > 0) stack[stack.length - 1].children.push(node);
          else if (root) fail('more than one root element');
          else root = node;
          if (a![5] === '>') stack.push(node);
          break;
        }
        node.attrs[a![1]] = unescapeXml(a![3] ?? a![4]);
      }
    }
  }
  if (stack.length > 0) fail(`unclosed <${stack[stack.length - 1].name}>`);
  if (!root) fail('no root element');
  return root!;
}

/** Child elements named `name` (all children if no name). */
export function children(node: XmlElement, name?: string): XmlElement[] {
  return node.children.filter((c): c is XmlElement => typeof c !== 'string' && (name === undefined || c.name === name));
}

/** First element found by following a path of names ("devices/disk"), or undefined. */
export function find(node: XmlElement | undefined, path: string): XmlElement | undefined {
  let cur = node;
  for (const part of path.split('/')) {
    if (!cur) return undefined;
    cur = children(cur, part)[0];
  }
  return cur;
}

/** The concatenated text of an element (trimmed), or undefined if it is absent. */
export function textOf(node: XmlElement | undefined): string | undefined {
  if (!node) return undefined;
  return node.children.filter((c): c is string => typeof c === 'string').join('').trim();
}
