/** Writing S3 answers: XML documents, empty answers and errors, with S3's request-id headers. */
import type { FastifyReply } from 'fastify';
import { renderXml, type XmlElement } from './xml.js';
import { renderError, type S3Error } from './errors.js';
import type { S3Request } from './request.js';

export function sendXml(req: S3Request, status: number, doc: XmlElement, headers: Record<string, string> = {}): void {
  const body = renderXml(doc);
  req.reply.code(status).headers({ ...headers, 'content-type': 'application/xml' }).send(body);
}

export function sendEmpty(req: S3Request, status: number, headers: Record<string, string> = {}): void {
  req.reply.code(status).headers(headers).send();
}

/** The error document (no body for HEAD, none for 304). */
export function sendError(reply: FastifyReply, method: string, err: S3Error, resource: string, requestId: string): void {
  reply.code(err.status);
  if (method === 'HEAD' || err.status === 304) {
    reply.header('x-amz-error-code', err.code).send();
    return;
  }
  reply.header('content-type', 'application/xml').send(renderError(err, resource, requestId));
}

/** ISO 8601 with milliseconds, as S3 writes dates in XML. */
export const isoDate = (ms: number) => new Date(ms).toISOString();
