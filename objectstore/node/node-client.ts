/**
 * HTTP client for storage-node traffic (proxy -> node, node -> node): the cluster HMAC on every
 * request and a timeout for the response head. Requests with their body in memory go through
 * lean-http.ts; streamed PUT bodies (`open`) through node:http's keep-alive agent.
 */
import http from 'node:http';
import { signRequest, AUTH_HEADER } from './hmac.js';
import { H_TIMESTAMP } from './protocol.js';
import type { LeanBody } from './lean-body.js';
import { LeanHttp, MAX_CONNECTIONS_PER_NODE } from './lean-http.js';

export { NodeTimeout } from './lean-http.js';

/** Idle keep-alive sockets are closed before the node's own keep-alive timeout (60 s). */
export const FREE_SOCKET_TIMEOUT_MS = 30_000;
export const DEFAULT_NODE_TIMEOUT_MS = 10_000;

export interface NodeRequest {
  host: string;
  port: number;
  method: string;
  path: string;
  /** X-Timestamp of the request ('' when none), covered by the HMAC. */
  timestamp?: string;
  headers?: Record<string, string>;
  /** Time allowed until the response head arrives. */
  timeoutMs?: number;
  body?: Buffer | string;
}

export interface NodeResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Piped into an http.ServerResponse it is relayed without copies (lean-body.ts). */
  body: LeanBody;
}

export class NodeClient {
  readonly agent: http.Agent;
  private readonly lean = new LeanHttp(FREE_SOCKET_TIMEOUT_MS);
  constructor(readonly secret: string) {
    this.agent = new http.Agent({
      keepAlive: true, maxSockets: MAX_CONNECTIONS_PER_NODE, maxFreeSockets: 64, timeout: FREE_SOCKET_TIMEOUT_MS,
      scheduling: 'lifo',
    });
  }

  /** Headers every internal request needs, the signature included. */
  signedHeaders(method: string, path: string, timestamp = ''): Record<string, string> {
    const h: Record<string, string> = { [AUTH_HEADER]: signRequest(this.secret, method, path, timestamp) };
    if (timestamp) h[H_TIMESTAMP] = timestamp;
    return h;
  }

  /** Starts a request whose body the caller writes (for streaming PUTs). */
  open(r: Omit<NodeRequest, 'body'>): http.ClientRequest {
    return http.request({
      host: r.host, port: r.port, method: r.method, path: r.path, agent: this.agent,
      headers: { ...this.signedHeaders(r.method, r.path, r.timestamp), ...r.headers },
    });
  }

  /**
   * A complete request; resolves with the response head (the body is left to read). Signed
   * only until the node trusts the connection it goes on (hmac.ts).
   */
  request(r: NodeRequest): Promise<NodeResponse> {
    const timestamp = r.timestamp ?? '';
    return this.lean.request({
      host: r.host, port: r.port, method: r.method, path: r.path,
      headers: timestamp ? { [H_TIMESTAMP]: timestamp, ...r.headers } : r.headers ?? {},
      auth: { header: AUTH_HEADER, sign: () => signRequest(this.secret, r.method, r.path, timestamp) },
      body: typeof r.body === 'string' ? Buffer.from(r.body) : r.body,
      timeoutMs: r.timeoutMs ?? DEFAULT_NODE_TIMEOUT_MS,
    });
  }

  /** A complete request whose body is read into a string. */
  async fetchText(r: NodeRequest): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
    const res = await this.request(r);
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    return { status: res.status, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') };
  }

  close(): void {
    this.agent.destroy();
    this.lean.close();
  }
}
