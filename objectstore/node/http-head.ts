/**
 * HTTP/1.1 heads as the project's own node clients and the raw-body PUT write and read them
 * (lean-http.ts, proxy/raw-put-client.ts, raw-put.ts): the request head, a check of what goes
 * into it, and the parsing of a response head or a trailer block.
 */

/** The empty line that ends a head. */
export const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

const BAD_HEADER_CHAR = /[\r\n\0]/;
const BAD_PATH_CHAR = /[\s\0]/;

/** Throws a TypeError when the path or a header would break the head's framing. */
export function checkRequestHead(path: string, headers: Record<string, string> | undefined): void {
  if (BAD_PATH_CHAR.test(path) || !path.startsWith('/')) throw new TypeError(`invalid request path ${JSON.stringify(path)}`);
  for (const name in headers) {
    if (BAD_HEADER_CHAR.test(name) || BAD_HEADER_CHAR.test(headers[name]!)) throw new TypeError(`invalid header ${name}`);
  }
}

/** A request head, up to and with its empty line (checked first by checkRequestHead). */
export function requestHead(method: string, path: string, host: string, port: number,
  headers: Record<string, string> | undefined, extra = ''): string {
  let text = `${method} ${path} HTTP/1.1\r\nhost: ${host}:${port}\r\n`;
  for (const name in headers) text += `${name}: ${headers[name]}\r\n`;
  return `${text}${extra}\r\n`;
}

/**
 * `name: value` lines (a head's after its first line, or a trailer block) as lower-case names;
 * a repeated name gets its values joined with ", ". Throws an Error naming a bad line.
 */
export function parseHeaderLines(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const c = line.indexOf(':');
    if (c <= 0) throw new Error(`bad header line ${JSON.stringify(line.slice(0, 60))}`);
    const name = line.slice(0, c).trim().toLowerCase();
    const value = line.slice(c + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return headers;
}

/** A response head's text (without its empty line). Throws an Error when it is not one. */
export function parseResponseHead(text: string): { minor: '0' | '1'; status: number; headers: Record<string, string> } {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]!);
  if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0]!.slice(0, 60))}`);
  return { minor: m[1] as '0' | '1', status: Number(m[2]), headers: parseHeaderLines(lines.slice(1)) };
}
