/**
 * A fast parser for the plain subset of YAML that manifests are written in: block mappings and
 * sequences, single-line plain and quoted scalars, single-line flow collections, literal block
 * scalars (`|`, `|-`), comments and `---` between documents. It builds the same node tree the
 * `yaml` package would (nodes carry the package's node-type symbols, so `isMap`, `isScalar`,
 * `isSeq` and `isPair` recognise them; same scalar values under the YAML 1.2 core schema; same
 * start offsets), at a fraction of the cost: the `yaml` package's lexer, CST parser and
 * composer are most of the time of validating a large repository.
 *
 * It never reports errors. Anything outside the subset, or anything the full parser might
 * treat differently (anchors, aliases, tags, directives, folded or indented block scalars,
 * multi-line plain or quoted scalars, empty values, duplicate keys, tabs, CR, control
 * characters, floats, hex and octal numbers, a missing final newline…), makes it give up and
 * return undefined, and the caller parses the file with the full `yaml` parser. So error
 * messages and unusual YAML always come from the `yaml` package; this only speeds up the files
 * that are plainly valid. plain-yaml.test.ts compares both parsers on a corpus and on
 * thousands of mutations of it.
 */

const NODE_TYPE = Symbol.for('yaml.node.type');
const MAP = Symbol.for('yaml.map');
const PAIR = Symbol.for('yaml.pair');
const SCALAR = Symbol.for('yaml.scalar');
const SEQ = Symbol.for('yaml.seq');

/** Nesting deeper than this is left to the full parser. */
const MAX_DEPTH = 64;
/** The `yaml` package refuses implicit keys longer than 1024 characters. */
const MAX_KEY_LENGTH = 1000;

const SPACE = 0x20;
const HASH = 0x23;
const COLON = 0x3a;
const DASH = 0x2d;
const NL = 0x0a;

const INT = /^[-+]?[0-9]+$/;
/** Plain scalars the core schema reads as numbers other than decimal integers. */
const OTHER_NUMBER = /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|0o[0-7]+|0x[0-9a-fA-F]+)$/;

/** A node as the `yaml` package's type guards see it (only what walk.ts reads). */
export interface PlainNode {
  range: [number, number, number];
  value?: unknown;
  items?: unknown[];
}

export interface PlainParse {
  /** One entry per document, as `parseAllDocuments` would give; null for an empty document. */
  docs: Array<PlainNode | null>;
  /** Start offset of every line, as a `yaml` LineCounter would hold them. */
  lineStarts: number[];
}

/** Thrown inside the parser when the text leaves the subset; caught by `parsePlainYaml`. */
class OutsideSubset extends Error {}
const OUTSIDE = new OutsideSubset('outside the plain YAML subset');

function scalar(value: unknown, start: number, end: number): PlainNode {
  return { [NODE_TYPE]: SCALAR, value, range: [start, end, end] } as PlainNode;
}

function pair(key: PlainNode, value: PlainNode): unknown {
  return { [NODE_TYPE]: PAIR, key, value };
}

function collection(type: symbol, start: number): PlainNode {
  return { [NODE_TYPE]: type, items: [], range: [start, start, start] } as PlainNode;
}

/** The value of a plain scalar under the YAML 1.2 core schema (gives up on non-integers). */
function resolvePlain(s: string): unknown {
  const c = s.charCodeAt(0);
  if ((c >= 0x30 && c <= 0x39) || c === DASH || c === 0x2b || c === 0x2e) {
    if (INT.test(s)) return parseInt(s, 10);
    if (OTHER_NUMBER.test(s)) throw OUTSIDE;
    return s;
  }
  switch (s) {
    case '~': case 'null': case 'Null': case 'NULL': return null;
    case 'true': case 'True': case 'TRUE': return true;
    case 'false': case 'False': case 'FALSE': return false;
    default: return s;
  }
}

/** True for characters that may not start a plain scalar here (or that the subset leaves out). */
function badPlainStart(c: number): boolean {
  // - ? : , [ ] { } # & * ! | > ' " % @ `
  return c === DASH || c === 0x3f || c === COLON || c === 0x2c || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d ||
    c === HASH || c === 0x26 || c === 0x2a || c === 0x21 || c === 0x7c || c === 0x3e || c === 0x27 || c === 0x22 ||
    c === 0x25 || c === 0x40 || c === 0x60 || c === 0x3c;
}

class Parser {
  private readonly starts: number[] = [0];
  /** Line after the current document. */
  private end = 0;
  /** Next line to look at, set by each block parse. */
  private next = 0;

  constructor(private readonly text: string) {}

  run(): PlainParse {
    const t = this.text;
    const n = t.length;
    if (n > 0 && t.charCodeAt(n - 1) !== NL) throw OUTSIDE;
    for (let i = 0; i < n; i++) {
      const c = t.charCodeAt(i);
      if (c < SPACE) {
        if (c === NL) this.starts.push(i + 1);
        else throw OUTSIDE; // tab, CR, control characters
      } else if (c >= 0x7f && (c <= 0x9f || c === 0xfeff || c === 0x2028 || c === 0x2029)) {
        throw OUTSIDE;
      }
    }
    // The last "line" after the final newline is empty: lines are 0 .. lineCount-1.
    const lineCount = this.starts.length - 1;
    const docs: Array<PlainNode | null> = [];
    let from = 0;
    let marked = false;
    const finish = (to: number) => {
      const first = this.nextContent(from, to);
      if (first < to) docs.push(this.document(first, to));
      else if (marked) docs.push(null);
    };
    for (let i = 0; i < lineCount; i++) {
      const s = this.starts[i]!;
      const c = t.charCodeAt(s);
      if (c === 0x25) throw OUTSIDE; // %directive
      if ((c === DASH || c === 0x2e) && t.charCodeAt(s + 1) === c && t.charCodeAt(s + 2) === c) {
        const after = t.charCodeAt(s + 3);
        if (after !== SPACE && after !== NL) continue; // "---x" is content
        if (c === 0x2e) throw OUTSIDE; // "..." document end
        if (!this.restIsBlank(s + 3, this.lineEnd(i), true)) throw OUTSIDE; // content after ---
        finish(i);
        from = i + 1;
        marked = true;
      }
    }
    finish(lineCount);
    return { docs, lineStarts: this.starts.slice(0, lineCount + 1) };
  }

  private lineEnd(i: number): number {
    return this.starts[i + 1]! - 1;
  }

  private indentOf(i: number): number {
    const t = this.text;
    const s = this.starts[i]!;
    let p = s;
    while (t.charCodeAt(p) === SPACE) p++;
    return p - s;
  }

  /** True when line i holds nothing but spaces and maybe a comment. */
  private isBlank(i: number): boolean {
    const t = this.text;
    let p = this.starts[i]!;
    while (t.charCodeAt(p) === SPACE) p++;
    const c = t.charCodeAt(p);
    return c === NL || c === HASH;
  }

  /** First line in [i, to) that is not blank, or `to`. */
  private nextContent(i: number, to = this.end): number {
    while (i < to && this.isBlank(i)) i++;
    return i;
  }

  /** True when text[p, e) is spaces and maybe a comment (which needs a space before it unless `spaced`). */
  private restIsBlank(p: number, e: number, spaced = false): boolean {
    const t = this.text;
    const p0 = p;
    while (p < e && t.charCodeAt(p) === SPACE) p++;
    if (p === e) return true;
    return t.charCodeAt(p) === HASH && (p > p0 || spaced);
  }

  private document(first: number, to: number): PlainNode {
    this.end = to;
    if (this.indentOf(first) !== 0) throw OUTSIDE;
    const root = this.blockMap(first, 0, 0);
    if (this.nextContent(this.next) < to) throw OUTSIDE;
    return root;
  }

  /** A block node starting on line i at its indentation (a map or a sequence). */
  private blockNode(i: number, depth: number): PlainNode {
    const ind = this.indentOf(i);
    return this.isSeqItem(i, ind) ? this.blockSeq(i, ind, depth) : this.blockMap(i, ind, ind, depth);
  }

  private isSeqItem(i: number, ind: number): boolean {
    const p = this.starts[i]! + ind;
    if (this.text.charCodeAt(p) !== DASH) return false;
    const c = this.text.charCodeAt(p + 1);
    return c === SPACE || c === NL;
  }

  /** A block mapping whose first key is on line i at column `col`; its keys are at column `indent`. */
  private blockMap(i: number, col: number, indent: number, depth = 0): PlainNode {
    if (depth > MAX_DEPTH) throw OUTSIDE;
    const t = this.text;
    const map = collection(MAP, this.starts[i]! + col);
    const items = map.items!;
    const seen = new Set<unknown>();
    let line = i;
    let p = this.starts[i]! + col;
    for (;;) {
      const e = this.lineEnd(line);
      const key = this.key(p, e);
      if (seen.has(key.node.value)) throw OUTSIDE; // duplicate key: the full parser reports it
      seen.add(key.node.value);
      let q = key.after;
      while (q < e && t.charCodeAt(q) === SPACE) q++;
      let value: PlainNode;
      if (q === e || t.charCodeAt(q) === HASH) {
        const j = this.nextContent(line + 1);
        if (j >= this.end) throw OUTSIDE; // empty value
        const ind = this.indentOf(j);
        if (ind > indent) value = this.blockNode(j, depth + 1);
        else if (ind === indent && this.isSeqItem(j, ind)) value = this.blockSeq(j, ind, depth + 1);
        else throw OUTSIDE; // empty value
      } else {
        value = this.inlineValue(line, q, e, indent, true, depth);
      }
      items.push(pair(key.node, value));
      const j = this.nextContent(this.next);
      if (j >= this.end) { this.next = j; break; }
      const ind = this.indentOf(j);
      if (ind < indent) { this.next = j; break; }
      if (ind > indent || this.isSeqItem(j, ind)) throw OUTSIDE;
      line = j;
      p = this.starts[j]! + indent;
    }
    return map;
  }

  /** A block sequence whose first `-` is on line i at column `indent`. */
  private blockSeq(i: number, indent: number, depth: number): PlainNode {
    if (depth > MAX_DEPTH) throw OUTSIDE;
    const t = this.text;
    const seq = collection(SEQ, this.starts[i]! + indent);
    const items = seq.items!;
    let line = i;
    for (;;) {
      const s = this.starts[line]!;
      const e = this.lineEnd(line);
      let q = s + indent + 1;
      while (q < e && t.charCodeAt(q) === SPACE) q++;
      if (q === e || t.charCodeAt(q) === HASH) throw OUTSIDE; // item on the next lines, or empty
      const c = t.charCodeAt(q);
      if (c === DASH && (q + 1 === e || t.charCodeAt(q + 1) === SPACE)) throw OUTSIDE; // "- - x"
      if (this.looksLikeKey(q, e)) items.push(this.blockMap(line, q - s, q - s, depth + 1));
      else items.push(this.inlineValue(line, q, e, indent, false, depth));
      const j = this.nextContent(this.next);
      if (j >= this.end) { this.next = j; break; }
      const ind = this.indentOf(j);
      if (ind < indent) { this.next = j; break; }
      if (ind > indent) throw OUTSIDE;
      if (!this.isSeqItem(j, ind)) { this.next = j; break; }
      line = j;
    }
    return seq;
  }

  /** Whether text at q (block context) is an implicit key: a scalar followed by ": " or ":" at the end. */
  private looksLikeKey(q: number, e: number): boolean {
    const t = this.text;
    const c = t.charCodeAt(q);
    if (c === 0x5b || c === 0x7b) return false;
    let p = q;
    if (c === 0x22 || c === 0x27) {
      p = this.quoted(q, e).after;
      while (p < e && t.charCodeAt(p) === SPACE) p++;
      return p < e && t.charCodeAt(p) === COLON;
    }
    for (; p < e; p++) {
      const ch = t.charCodeAt(p);
      if (ch === COLON && (p + 1 === e || t.charCodeAt(p + 1) === SPACE)) return true;
      if (ch === HASH && t.charCodeAt(p - 1) === SPACE) return false;
    }
    return false;
  }

  /** An implicit key at p and the position after its ":". */
  private key(p: number, e: number): { node: PlainNode; after: number } {
    const t = this.text;
    const c = t.charCodeAt(p);
    if (c === 0x22 || c === 0x27) {
      const q = this.quoted(p, e);
      let k = q.after;
      while (k < e && t.charCodeAt(k) === SPACE) k++;
      if (k >= e || t.charCodeAt(k) !== COLON || (k + 1 < e && t.charCodeAt(k + 1) !== SPACE)) throw OUTSIDE;
      return { node: q.node, after: k + 1 };
    }
    if (badPlainStart(c)) throw OUTSIDE;
    for (let k = p; k < e; k++) {
      const ch = t.charCodeAt(k);
      if (ch === COLON && (k + 1 === e || t.charCodeAt(k + 1) === SPACE)) {
        let end = k;
        while (t.charCodeAt(end - 1) === SPACE) end--;
        if (end - p > MAX_KEY_LENGTH) throw OUTSIDE;
        const text = t.slice(p, end);
        return { node: scalar(resolvePlain(text), p, end), after: k + 1 };
      }
      if (ch === 0x5b || ch === 0x5d || ch === 0x7b || ch === 0x7d || (ch === HASH && t.charCodeAt(k - 1) === SPACE)) throw OUTSIDE;
    }
    throw OUTSIDE; // not a key
  }

  /** A value that starts on line i at q, after a key's ":" or a sequence's "-". Sets `next`. */
  private inlineValue(line: number, q: number, e: number, indent: number, blockScalarOk: boolean, depth: number): PlainNode {
    const t = this.text;
    const c = t.charCodeAt(q);
    let node: PlainNode;
    let after: number;
    if (c === 0x7c) {
      if (!blockScalarOk) throw OUTSIDE;
      return this.blockScalar(line, q, e, indent);
    } else if (c === 0x22 || c === 0x27) {
      ({ node, after } = this.quoted(q, e));
    } else if (c === 0x5b || c === 0x7b) {
      ({ node, after } = this.flow(q, e, depth + 1));
    } else {
      if (badPlainStart(c)) throw OUTSIDE;
      let end = q;
      for (; end < e; end++) {
        const ch = t.charCodeAt(end);
        if (ch === HASH && t.charCodeAt(end - 1) === SPACE) break;
        if (ch === COLON && (end + 1 === e || t.charCodeAt(end + 1) === SPACE)) throw OUTSIDE; // nested mapping
      }
      while (t.charCodeAt(end - 1) === SPACE) end--;
      node = scalar(resolvePlain(t.slice(q, end)), q, end);
      after = end;
    }
    if (!this.restIsBlank(after, e)) throw OUTSIDE;
    this.next = line + 1;
    return node;
  }

  /** A single-line quoted scalar at q. */
  private quoted(q: number, e: number): { node: PlainNode; after: number } {
    const t = this.text;
    const quote = t.charCodeAt(q);
    let out = '';
    let from = q + 1;
    for (let p = q + 1; p < e; p++) {
      const ch = t.charCodeAt(p);
      if (ch === quote) {
        if (quote === 0x27 && t.charCodeAt(p + 1) === 0x27) { out += t.slice(from, p + 1); p++; from = p + 1; continue; }
        out += t.slice(from, p);
        return { node: scalar(out, q, p + 1), after: p + 1 };
      }
      if (ch === 0x5c && quote === 0x22) {
        out += t.slice(from, p);
        const esc = t.charCodeAt(p + 1);
        switch (esc) {
          case 0x5c: out += '\\'; break;
          case 0x22: out += '"'; break;
          case 0x2f: out += '/'; break;
          case 0x6e: out += '\n'; break;
          case 0x74: out += '\t'; break;
          default: throw OUTSIDE; // other escapes are left to the full parser
        }
        p++;
        from = p + 1;
      }
    }
    throw OUTSIDE; // multi-line quoted scalar
  }

  /** A literal block scalar (`|` or `|-`) whose header is at q on line i; its parent's keys are at `indent`. */
  private blockScalar(i: number, q: number, e: number, indent: number): PlainNode {
    const t = this.text;
    let p = q + 1;
    let strip = false;
    if (t.charCodeAt(p) === DASH) { strip = true; p++; }
    if (!this.restIsBlank(p, e)) throw OUTSIDE; // keep (+), indentation indicator, other
    const first = i + 1;
    if (first >= this.end) throw OUTSIDE;
    const k = this.indentOf(first);
    if (k <= indent || this.starts[first]! + k === this.lineEnd(first)) throw OUTSIDE; // empty, or leading empty lines
    const lines: string[] = [];
    let j = first;
    let lastContent = first;
    for (; j < this.end; j++) {
      const s = this.starts[j]!;
      const le = this.lineEnd(j);
      const ind = this.indentOf(j);
      if (s + ind === le) {
        if (ind > k) throw OUTSIDE; // spaces beyond the indentation on an empty line
        lines.push('');
        continue;
      }
      if (ind < k) break;
      lines.push(t.slice(s + k, le));
      lastContent = j;
    }
    lines.length = lastContent - first + 1;
    const value = lines.join('\n') + (strip ? '' : '\n');
    this.next = lastContent + 1;
    return scalar(value, q, this.starts[lastContent + 1]!);
  }

  /** A single-line flow sequence or mapping at q. */
  private flow(q: number, e: number, depth: number): { node: PlainNode; after: number } {
    if (depth > MAX_DEPTH) throw OUTSIDE;
    const t = this.text;
    const isMap = t.charCodeAt(q) === 0x7b;
    const close = isMap ? 0x7d : 0x5d;
    const node = collection(isMap ? MAP : SEQ, q);
    const items = node.items!;
    const seen = isMap ? new Set<unknown>() : undefined;
    let p = this.skipSpaces(q + 1, e);
    if (t.charCodeAt(p) === close) return { node, after: p + 1 };
    for (;;) {
      if (isMap) {
        const key = this.flowItem(p, e, depth, true);
        if (seen!.has(key.node.value)) throw OUTSIDE;
        seen!.add(key.node.value);
        if (t.charCodeAt(key.after) !== COLON || t.charCodeAt(key.after + 1) !== SPACE) throw OUTSIDE;
        const value = this.flowItem(this.skipSpaces(key.after + 1, e), e, depth, false);
        items.push(pair(key.node, value.node));
        p = this.skipSpaces(value.after, e);
      } else {
        const item = this.flowItem(p, e, depth, false);
        items.push(item.node);
        p = this.skipSpaces(item.after, e);
      }
      const c = t.charCodeAt(p);
      if (p >= e) throw OUTSIDE;
      if (c === close) return { node, after: p + 1 };
      if (c !== 0x2c) throw OUTSIDE;
      p = this.skipSpaces(p + 1, e);
      if (p >= e || t.charCodeAt(p) === close) throw OUTSIDE; // trailing comma, or continues on the next line
    }
  }

  private skipSpaces(p: number, e: number): number {
    while (p < e && this.text.charCodeAt(p) === SPACE) p++;
    return p;
  }

  /** One entry of a flow collection at p: a nested collection, a quoted or a plain scalar. */
  private flowItem(p: number, e: number, depth: number, isKey: boolean): { node: PlainNode; after: number } {
    const t = this.text;
    if (p >= e) throw OUTSIDE;
    const c = t.charCodeAt(p);
    if (c === 0x5b || c === 0x7b) {
      if (isKey) throw OUTSIDE;
      const r = this.flow(p, e, depth + 1);
      if (t.charCodeAt(this.skipSpaces(r.after, e)) === COLON) throw OUTSIDE;
      return r;
    }
    if (c === 0x22 || c === 0x27) {
      const r = this.quoted(p, e);
      if (!isKey && t.charCodeAt(this.skipSpaces(r.after, e)) === COLON) throw OUTSIDE; // a pair inside a sequence
      if (isKey && t.charCodeAt(r.after) !== COLON) throw OUTSIDE;
      return r;
    }
    if (badPlainStart(c)) throw OUTSIDE;
    let end = p;
    for (; end < e; end++) {
      const ch = t.charCodeAt(end);
      if (ch === 0x2c || ch === 0x5d || ch === 0x7d) break;
      if (ch === 0x5b || ch === 0x7b) throw OUTSIDE;
      if (ch === HASH && t.charCodeAt(end - 1) === SPACE) throw OUTSIDE;
      if (ch === COLON) {
        const next = t.charCodeAt(end + 1);
        if (next === SPACE || next === 0x2c || next === 0x5d || next === 0x7d || end + 1 === e) {
          if (isKey) break;
          throw OUTSIDE; // a pair inside a sequence, or a nested mapping
        }
      }
    }
    if (end >= e) throw OUTSIDE; // continues on the next line
    let last = end;
    while (t.charCodeAt(last - 1) === SPACE) last--;
    if (isKey && last !== end) throw OUTSIDE; // "{a : b}"
    if (last > MAX_KEY_LENGTH + p) throw OUTSIDE;
    return { node: scalar(resolvePlain(t.slice(p, last)), p, last), after: last };
  }
}

/** The documents of `text` when it is within the plain subset, else undefined (use the full parser). */
export function parsePlainYaml(text: string): PlainParse | undefined {
  try {
    return new Parser(text).run();
  } catch (e) {
    if (e === OUTSIDE) return undefined;
    throw e;
  }
}
