/**
 * User metadata and the other headers Swift keeps with accounts, containers and objects:
 * reading `X-<Type>-Meta-*` / `X-Remove-<Type>-Meta-*` from a request, Swift's size limits on
 * metadata (constraints.py), and writing them back as response headers. The backend keeps
 * meta keys lower-case without prefix.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { PLAIN_TEXT, SwiftError } from './errors.js';

export const MAX_META_NAME_LENGTH = 128;
export const MAX_META_VALUE_LENGTH = 256;
export const MAX_META_COUNT = 90;
export const MAX_META_OVERALL_SIZE = 4096;

export type MetaType = 'account' | 'container' | 'object';

/** Headers a client may set on an object and gets back verbatim (Swift's allowed_headers). */
export const OBJECT_SETTABLE_HEADERS = [
  'content-disposition', 'content-encoding', 'content-language', 'cache-control', 'expires',
  'x-robots-tag', 'x-object-manifest',
] as const;

/** Container settings kept verbatim (ACLs, versioning, sync): stored, returned, not enforced. */
export const CONTAINER_SETTABLE_HEADERS = [
  'x-container-read', 'x-container-write', 'x-versions-location', 'x-history-location',
  'x-container-sync-to', 'x-container-sync-key',
] as const;

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export interface MetaChanges {
  /** Keys to set (value '' means remove, as in Swift). */
  set: Record<string, string>;
  /** Keys named by X-Remove-<Type>-Meta-*. */
  remove: string[];
}

/** Reads the metadata a request sets or removes, and checks Swift's limits (400). */
export function readMeta(headers: IncomingHttpHeaders, type: MetaType): MetaChanges {
  const prefix = `x-${type}-meta-`;
  const removePrefix = `x-remove-${type}-meta-`;
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const [name, raw] of Object.entries(headers)) {
    const value = Array.isArray(raw) ? raw.join(',') : raw ?? '';
    if (name.startsWith(prefix)) {
      const key = name.slice(prefix.length);
      if (!key) throw new SwiftError(400, 'Metadata name cannot be empty', PLAIN_TEXT);
      set[key] = value;
    } else if (name.startsWith(removePrefix)) {
      const key = name.slice(removePrefix.length);
      if (key) remove.push(key);
    }
  }
  checkMetaLimits(set, type);
  return { set, remove };
}

/** Swift's constraints.check_metadata: per-name, per-value, count and overall limits. */
export function checkMetaLimits(meta: Record<string, string>, type: MetaType): void {
  let count = 0;
  let size = 0;
  for (const [key, value] of Object.entries(meta)) {
    if (value === '') continue;
    const keyBytes = Buffer.byteLength(key);
    const valueBytes = Buffer.byteLength(value);
    if (keyBytes > MAX_META_NAME_LENGTH) {
      throw new SwiftError(400, `Metadata name too long: x-${type}-meta-${key}`, PLAIN_TEXT);
    }
    if (valueBytes > MAX_META_VALUE_LENGTH) {
      throw new SwiftError(400, `Metadata value longer than ${MAX_META_VALUE_LENGTH}: x-${type}-meta-${key}`, PLAIN_TEXT);
    }
    count++;
    size += keyBytes + valueBytes;
  }
  if (count > MAX_META_COUNT) throw new SwiftError(400, `Too many metadata items; max ${MAX_META_COUNT}`, PLAIN_TEXT);
  if (size > MAX_META_OVERALL_SIZE) throw new SwiftError(400, `Total metadata too large; max ${MAX_META_OVERALL_SIZE}`, PLAIN_TEXT);
}

/** Applies changes onto existing metadata (account and container POST merge, as Swift does). */
export function mergeMeta(existing: Record<string, string>, changes: MetaChanges, type: MetaType): Record<string, string> {
  const out = { ...existing };
  for (const key of changes.remove) delete out[key];
  for (const [key, value] of Object.entries(changes.set)) {
    if (value === '') delete out[key];
    else out[key] = value;
  }
  checkMetaLimits(out, type);
  return out;
}

/** The metadata set on a write that replaces all of it (object PUT and POST). */
export function replacementMeta(changes: MetaChanges): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(changes.set)) if (value !== '') out[key] = value;
  return out;
}

/** Response headers for stored metadata. */
export function metaHeaders(meta: Record<string, string>, type: MetaType): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta)) out[`x-${type}-meta-${key}`] = value;
  return out;
}

/** The listed headers present on the request, for the backend's verbatim `headers`. */
export function pickHeaders(headers: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = header(headers, name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}
