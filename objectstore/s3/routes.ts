/**
 * Which operation a request is: by method, by whether it names a bucket and a key, and by its
 * subresource query parameters. Subresources this front end does not implement answer
 * NotImplemented naming the subresource.
 */
import { S3Error } from './errors.js';
import { header, type S3Request } from './request.js';
import { createBucket, deleteBucket, getBucketLocation, headBucket, listBuckets } from './buckets.js';
import { listObjectsV1, listObjectsV2 } from './listing.js';
import { deleteObject, deleteObjects, getObject, headObject, putObject } from './objects.js';
import { copyObject } from './copy.js';
import { abortUpload, completeUpload, createUpload, listParts, listUploads, uploadPart, uploadPartCopy } from './multipart.js';
import { ADMIN_BUCKET, adminRoute } from './admin.js';

/** Subresources of S3 that are recognised but not implemented here. */
export const UNSUPPORTED_SUBRESOURCES = [
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'encryption', 'intelligent-tiering', 'inventory',
  'legal-hold', 'lifecycle', 'logging', 'metrics', 'notification', 'object-lock', 'ownershipControls', 'policy',
  'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'restore', 'retention', 'select',
  'tagging', 'torrent', 'versioning', 'versions', 'website', 'session', 'renameObject', 'metadataTable',
];

type Handler = (req: S3Request) => Promise<void>;

function unsupported(req: S3Request): void {
  for (const name of UNSUPPORTED_SUBRESOURCES) {
    if (req.query.has(name)) throw new S3Error('NotImplemented', `The "${name}" subresource is not implemented by this store.`);
  }
}

export function route(req: S3Request): Handler {
  const m = req.method;
  if (req.bucket === ADMIN_BUCKET) return adminRoute;
  if (req.bucket === undefined) {
    if (m === 'GET') return listBuckets;
    throw new S3Error('MethodNotAllowed');
  }
  unsupported(req);
  const q = req.query;
  if (req.key === undefined) {
    switch (m) {
      case 'GET':
        if (q.has('location')) return getBucketLocation;
        if (q.has('uploads')) return listUploads;
        if (q.get('list-type') === '2') return listObjectsV2;
        return listObjectsV1;
      case 'HEAD': return headBucket;
      case 'PUT': return createBucket;
      case 'DELETE': return deleteBucket;
      case 'POST':
        if (q.has('delete')) return deleteObjects;
        throw new S3Error('NotImplemented', 'POST on a bucket is only implemented for ?delete (browser POST uploads are not).');
      default: throw new S3Error('MethodNotAllowed');
    }
  }
  switch (m) {
    case 'GET': return q.has('uploadId') ? listParts : getObject;
    case 'HEAD': return headObject;
    case 'PUT':
      if (q.has('uploadId') || q.has('partNumber')) return header(req, 'x-amz-copy-source') !== undefined ? uploadPartCopy : uploadPart;
      return header(req, 'x-amz-copy-source') !== undefined ? copyObject : putObject;
    case 'DELETE': return q.has('uploadId') ? abortUpload : deleteObject;
    case 'POST':
      if (q.has('uploads')) return createUpload;
      if (q.has('uploadId')) return completeUpload;
      throw new S3Error('NotImplemented', 'POST on an object is only implemented for ?uploads and ?uploadId.');
    default: throw new S3Error('MethodNotAllowed');
  }
}
