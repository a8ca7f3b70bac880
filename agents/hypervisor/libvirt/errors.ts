/**
 * Errors of the libvirt RPC client, decoded from libvirt's remote_error structure.
 *
 * libvirt reports failures as (code, domain, message). Callers must never look at the message
 * to decide what happened, so the codes that matter to ringstack have their own classes
 * (LibvirtNotFoundError, LibvirtAlreadyExistsError, LibvirtOperationInvalidError,
 * LibvirtUnsupportedError) and every LibvirtError carries the numeric code (see ErrorCode).
 * Transport failures are RpcConnectionClosedError and RpcProtocolError, which are not
 * LibvirtErrors: libvirt never said anything, the connection did.
 */

/** virErrorNumber values that ringstack tells apart (from virterror.h). */
export const ErrorCode = {
  OK: 0,
  INTERNAL_ERROR: 1,
  NO_SUPPORT: 3,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  XML_ERROR: 27,
  DOM_EXIST: 28,
  OPERATION_DENIED: 29,
  NETWORK_EXIST: 37,
  SYSTEM_ERROR: 38,
  RPC: 39,
  NO_DOMAIN: 42,
  NO_NETWORK: 43,
  AUTH_FAILED: 45,
  NO_STORAGE_POOL: 49,
  NO_STORAGE_VOL: 50,
  OPERATION_INVALID: 55,
  CONFIG_UNSUPPORTED: 67,
  OPERATION_TIMEOUT: 68,
  ARGUMENT_UNSUPPORTED: 74,
  STORAGE_POOL_BUILT: 76,
  OPERATION_UNSUPPORTED: 84,
  RESOURCE_BUSY: 87,
  ACCESS_DENIED: 88,
  STORAGE_VOL_EXIST: 90,
  XML_INVALID_SCHEMA: 92,
} as const;

/** What libvirt sent in a remote_error. */
export interface RemoteErrorFields {
  code: number;
  domain: number;
  message: string;
  level: number;
}

/** An error reported by libvirt (a REPLY or STREAM packet with status ERROR). */
export class LibvirtError extends Error {
  override name = 'LibvirtError';
  /** virErrorNumber (see ErrorCode). */
  readonly code: number;
  /** virErrorDomain: which part of libvirt raised it. */
  readonly domain: number;
  readonly level: number;

  constructor(fields: RemoteErrorFields) {
    super(fields.message || `libvirt error code ${fields.code}`);
    this.code = fields.code;
    this.domain = fields.domain;
    this.level = fields.level;
  }
}

/** No such domain, network, storage pool or storage volume. */
export class LibvirtNotFoundError extends LibvirtError {
  override name = 'LibvirtNotFoundError';
}

/** The object (domain, network, volume, built pool) already exists. */
export class LibvirtAlreadyExistsError extends LibvirtError {
  override name = 'LibvirtAlreadyExistsError';
}

/** The operation does not apply in the object's current state (e.g. start a running domain). */
export class LibvirtOperationInvalidError extends LibvirtError {
  override name = 'LibvirtOperationInvalidError';
}

/** The driver behind the connection does not implement the procedure. */
export class LibvirtUnsupportedError extends LibvirtError {
  override name = 'LibvirtUnsupportedError';
}

const NOT_FOUND_CODES: ReadonlySet<number> = new Set([
  ErrorCode.NO_DOMAIN,
  ErrorCode.NO_NETWORK,
  ErrorCode.NO_STORAGE_POOL,
  ErrorCode.NO_STORAGE_VOL,
]);
const ALREADY_EXISTS_CODES: ReadonlySet<number> = new Set([
  ErrorCode.DOM_EXIST,
  ErrorCode.NETWORK_EXIST,
  ErrorCode.STORAGE_VOL_EXIST,
  ErrorCode.STORAGE_POOL_BUILT,
]);
const UNSUPPORTED_CODES: ReadonlySet<number> = new Set([
  ErrorCode.NO_SUPPORT,
  ErrorCode.OPERATION_UNSUPPORTED,
  ErrorCode.ARGUMENT_UNSUPPORTED,
]);

/** Builds the most specific LibvirtError subclass for a remote_error. */
export function libvirtErrorFrom(fields: RemoteErrorFields): LibvirtError {
  if (NOT_FOUND_CODES.has(fields.code)) return new LibvirtNotFoundError(fields);
  if (ALREADY_EXISTS_CODES.has(fields.code)) return new LibvirtAlreadyExistsError(fields);
  if (fields.code === ErrorCode.OPERATION_INVALID) return new LibvirtOperationInvalidError(fields);
  if (UNSUPPORTED_CODES.has(fields.code)) return new LibvirtUnsupportedError(fields);
  return new LibvirtError(fields);
}

/** The connection to libvirtd closed (or was closed) before the call completed. */
export class RpcConnectionClosedError extends Error {
  override name = 'RpcConnectionClosedError';
  constructor(message = 'connection to libvirtd closed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** libvirtd sent something this client cannot understand (bad length, unknown program). */
export class RpcProtocolError extends Error {
  override name = 'RpcProtocolError';
}
