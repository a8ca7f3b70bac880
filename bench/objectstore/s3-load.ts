/**
 * The S3 API for the benchmark's load generator (load.ts): path-style requests signed with AWS
 * Signature V4 in the Authorization header, region us-east-1 by default, body not hashed
 * (`x-amz-content-sha256: UNSIGNED-PAYLOAD`, accepted by ringstack and by Swift's s3api).
 * Signing stays cheap so the client measures the server, not itself: the signing key is derived
 * once a day, the `x-amz-date` string once a second, and each request costs one SHA-256 of its
 * short canonical request and one HMAC. The pieces are the server's own (objectstore/s3/sigv4.ts:
 * `signingKey`, `stringToSign`, `hmac`, `uriEncode`, `formatAmzDate`), so client and server
 * cannot drift apart; only the canonical request, always the same three headers, is built here.
 */
import { send, type StoreClient } from './load.js';
import {
  ALGORITHM, SERVICE, UNSIGNED_PAYLOAD as UNSIGNED, formatAmzDate, hmac, signingKey, stringToSign, uriEncode,
} from '../../objectstore/s3/sigv4.js';

const SIGNED_HEADERS = 'host;x-amz-content-sha256;x-amz-date';
export const DEFAULT_REGION = 'us-east-1';

export interface S3Credentials {
  /** e.g. http://127.0.0.1:8080 */
  endpoint: string;
  accessKey: string;
  secret: string;
  region?: string;
}

/** Signs requests for one endpoint and access key; caches what changes per day and per second. */
export class S3Signer {
  private readonly region: string;
  private readonly host: string;
  private second = -1;
  private amzDate = '';
  private day = '';
  private key: Buffer = Buffer.alloc(0);
  private scope = '';

  constructor(private readonly c: S3Credentials) {
    this.region = c.region ?? DEFAULT_REGION;
    this.host = new URL(c.endpoint).host;
  }

  /** Headers for `method` on `path` (already URI-encoded, no query), body unsigned. */
  headers(method: string, path: string, now = Date.now()): Record<string, string> {
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      this.amzDate = formatAmzDate(second * 1000);
      const day = this.amzDate.slice(0, 8);
      if (day !== this.day) {
        this.day = day;
        this.key = signingKey(this.c.secret, day, this.region, SERVICE);
        this.scope = `${day}/${this.region}/${SERVICE}/aws4_request`;
      }
    }
    const canonical = `${method}\n${path}\n\nhost:${this.host}\nx-amz-content-sha256:${UNSIGNED}\nx-amz-date:${this.amzDate}\n\n${SIGNED_HEADERS}\n${UNSIGNED}`;
    const signature = hmac(this.key, stringToSign(this.amzDate, this.scope, canonical)).toString('hex');
    return {
      host: this.host,
      'x-amz-content-sha256': UNSIGNED,
      'x-amz-date': this.amzDate,
      authorization: `${ALGORITHM} Credential=${this.c.accessKey}/${this.scope}, SignedHeaders=${SIGNED_HEADERS}, Signature=${signature}`,
    };
  }
}

/** The S3 API as a load-generator client: CreateBucket, PutObject, GetObject. */
export function s3Client(c: S3Credentials): StoreClient {
  const signer = new S3Signer(c);
  const url = new URL(c.endpoint);
  const call = (method: string, path: string, body?: Buffer) => {
    // The client sends `host` (the same value) and `content-length` itself.
    const { host: _host, ...headers } = signer.headers(method, path);
    return send(url.hostname, url.port, path, method, headers, body);
  };
  const objectPath = (bucket: string, key: string) => `/${uriEncode(bucket)}/${uriEncode(key)}`;
  return {
    async createContainer(bucket) {
      const r = await call('PUT', `/${uriEncode(bucket)}`);
      if (r.status !== 200) throw new Error(`S3 CreateBucket ${bucket} got ${r.status}`);
    },
    put: async (bucket, key, body) => (await call('PUT', objectPath(bucket, key), body)).status === 200,
    async get(bucket, key) {
      const r = await call('GET', objectPath(bucket, key));
      return r.status === 200 ? r.bytes : -1;
    },
  };
}
