/**
 * `/info` (Swift's capabilities document, which python-swiftclient reads to decide on SLO)
 * and `/healthcheck`. The numbers are the limits this front end enforces.
 */
import { MAX_META_COUNT, MAX_META_NAME_LENGTH, MAX_META_OVERALL_SIZE, MAX_META_VALUE_LENGTH } from './metadata.js';
import { LISTING_LIMIT } from './listing-format.js';
import { MAX_ACCOUNT_NAME_LENGTH, MAX_CONTAINER_NAME_LENGTH, MAX_OBJECT_NAME_LENGTH } from './paths.js';
import { MAX_MANIFEST_SEGMENTS, MAX_MANIFEST_SIZE } from './slo.js';
import { MAX_FILE_SIZE } from './object-write.js';
import { MAX_DELETES_PER_REQUEST, MAX_FAILED_DELETES } from './bulk.js';

/** The Swift release whose API this front end follows (Debian 12's swift). */
export const SWIFT_API_VERSION = '2.30.1';

export function capabilities(): Record<string, unknown> {
  return {
    swift: {
      version: SWIFT_API_VERSION,
      max_file_size: MAX_FILE_SIZE,
      max_meta_name_length: MAX_META_NAME_LENGTH,
      max_meta_value_length: MAX_META_VALUE_LENGTH,
      max_meta_count: MAX_META_COUNT,
      max_meta_overall_size: MAX_META_OVERALL_SIZE,
      max_header_size: 8192,
      max_object_name_length: MAX_OBJECT_NAME_LENGTH,
      container_listing_limit: LISTING_LIMIT,
      account_listing_limit: LISTING_LIMIT,
      max_account_name_length: MAX_ACCOUNT_NAME_LENGTH,
      max_container_name_length: MAX_CONTAINER_NAME_LENGTH,
      extra_header_count: 0,
      valid_api_versions: ['v1', 'v1.0'],
      strict_cors_mode: true,
      allow_account_management: false,
      account_autocreate: true,
      policies: [{ name: 'Policy-0', aliases: 'Policy-0', default: true }],
    },
    slo: {
      max_manifest_segments: MAX_MANIFEST_SEGMENTS,
      max_manifest_size: MAX_MANIFEST_SIZE,
      yield_frequency: 10,
      min_segment_size: 1,
      allow_async_delete: false,
    },
    dlo: { max_segments: 10000 },
    tempauth: { account_acls: false },
    bulk_delete: { max_deletes_per_request: MAX_DELETES_PER_REQUEST, max_failed_deletes: MAX_FAILED_DELETES },
  };
}
