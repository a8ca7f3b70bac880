/**
 * A minimal raw HTTP client for the Swift tests: any method (COPY too), exact headers, a body
 * sent with Content-Length or chunked, and the full response (status, headers, bytes).
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked (in `chunks` pieces). */
  chunked?: boolean;
}

export function raw(url: string, req: RawRequest = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    if (body && !req.chunked && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
    if (req.chunked) headers['transfer-encoding'] = 'chunked';
    const r = httpRequest(url, { method: req.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, text: b.toString('utf8') });
      });
      res.on('error', reject);
    });
    r.on('error', reject);
    if (body && req.chunked) {
      const half = Math.floor(body.length / 2);
      r.write(body.subarray(0, half));
      r.write(body.subarray(half));
    } else if (body) {
      r.write(body);
    }
    r.end();
  });
}

/** Logs in and returns the storage URL and token. */
export async function swiftLogin(base: string, user: string, key: string): Promise<{ storageUrl: string; token: string }> {
  const res = await raw(`${base}/auth/v1.0`, { headers: { 'x-auth-user': user, 'x-auth-key': key } });
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
  return { storageUrl: String(res.headers['x-storage-url']), token: String(res.headers['x-auth-token']) };
}

/** Sends bytes verbatim over TCP and returns the status line's code (for requests Node's client would fix up). */
export function rawExchange(url: string, request: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
  });
}
