/**
 * Typed errors of the agent, each with the machine-readable `reason` that ends up in observed
 * state (lastError, conditions) and whether a retry can fix it. Hypervisor errors are mapped to
 * reasons in one place (reasonOf), never by matching messages.
 */
import {
  AlreadyExistsError, ConnectionLostError, InvalidSpecError, InvalidStateError, NoSpaceError, NotFoundError,
  NotSupportedError, OperationFailedError,
} from '../hypervisor/errors.js';

export class AgentError extends Error {
  override name = 'AgentError';
  /** CamelCase reason for conditions. */
  readonly reason: string = 'AgentError';
  /** True when retrying the same spec cannot help. */
  readonly permanent: boolean = false;
}

/** The downloaded image bytes do not have the declared sha256. */
export class ImageChecksumMismatchError extends AgentError {
  override name = 'ImageChecksumMismatchError';
  override readonly reason = 'ImageChecksumMismatch';
  constructor(readonly image: string, readonly expected: string, readonly actual: string) {
    super(`image ${image}: sha256 of the downloaded bytes is ${actual}, expected ${expected}`);
  }
}

/** The image object is not in the store. */
export class ImageNotFoundError extends AgentError {
  override name = 'ImageNotFoundError';
  override readonly reason = 'ImageNotFound';
  constructor(readonly image: string, bucket: string, key: string) {
    super(`image ${image}: object ${bucket}/${key} not found in the store`);
  }
}

/** libvirt probed a different format than the manifest declares. */
export class ImageFormatMismatchError extends AgentError {
  override name = 'ImageFormatMismatchError';
  override readonly reason = 'ImageFormatMismatch';
  override readonly permanent = true;
  constructor(readonly image: string, declared: string, probed: string) {
    super(`image ${image}: declared format ${declared}, but the bytes are ${probed}`);
  }
}

/** The image is a qcow2 overlay on a file of its own: refused, it could expose host files. */
export class ImageHasBackingFileError extends AgentError {
  override name = 'ImageHasBackingFileError';
  override readonly reason = 'ImageHasBackingFile';
  override readonly permanent = true;
  constructor(readonly image: string, backing: string) {
    super(`image ${image} refers to a backing file (${backing}); images must be self-contained`);
  }
}

/**
 * A resource another one needs is not ready (it failed or waits for a retry). `reason` is the
 * dependency's own reason when it has one worth naming (a network blocked by a device says
 * NetworkDeviceInUse on its instances too), else DependencyNotReady.
 */
export class DependencyNotReadyError extends AgentError {
  override name = 'DependencyNotReadyError';
  override readonly reason: string;
  constructor(readonly dependency: string, detail: string, reason = 'DependencyNotReady') {
    super(`${dependency} is not ready: ${detail}`);
    this.reason = reason;
  }
}

/**
 * libvirt could not start a network because a host device holds its bridge name or routes its
 * subnet, and that device is not a leftover of ours (so the agent leaves it alone).
 */
export class NetworkDeviceInUseError extends AgentError {
  override name = 'NetworkDeviceInUseError';
  override readonly reason = 'NetworkDeviceInUse';
  constructor(readonly network: string, readonly device: string, why: string, cause: Error) {
    super(`network ${network} cannot start: host interface ${device} ${why} and is not a leftover of ringstack's, so it is left alone (libvirt: ${cause.message})`, { cause });
  }
}

/** The desired spec cannot be rendered for this hypervisor layer. */
export class UnsupportedSpecError extends AgentError {
  override name = 'UnsupportedSpecError';
  override readonly permanent = true;
  constructor(override readonly reason: string, message: string) {
    super(message);
  }
}

/** A libvirt object with the agent's name exists but is not the agent's (no tags). */
export class NameTakenError extends AgentError {
  override name = 'NameTakenError';
  override readonly reason = 'NameTaken';
  constructor(kind: string, name: string) {
    super(`a ${kind} named '${name}' exists and is not managed by ringstack; not touching it`);
  }
}

/** The desired state document is in a format this agent does not know. */
export class UnsupportedFormatVersionError extends AgentError {
  override name = 'UnsupportedFormatVersionError';
  override readonly reason = 'UnsupportedFormatVersion';
  override readonly permanent = true;
  constructor(readonly got: unknown, readonly known: number) {
    super(`desired state formatVersion ${JSON.stringify(got)} is not supported by this agent (it knows ${known})`);
  }
}

/** The desired state is for another host. */
export class WrongHostError extends AgentError {
  override name = 'WrongHostError';
  override readonly reason = 'WrongHost';
  override readonly permanent = true;
  constructor(got: unknown, host: string) {
    super(`desired state is for host ${JSON.stringify(got)}, this agent is ${host}`);
  }
}

/** A domain did not start. */
export class StartFailedError extends AgentError {
  override name = 'StartFailedError';
  override readonly reason = 'StartFailed';
  constructor(domain: string, cause: Error) {
    super(`domain ${domain} failed to start: ${cause.message}`, { cause });
  }
}

/** Machine-readable reason and retry-ability of any error met while reconciling. */
export function reasonOf(err: unknown): { reason: string; permanent: boolean } {
  if (err instanceof AgentError) return { reason: err.reason, permanent: err.permanent };
  if (err instanceof NoSpaceError) return { reason: 'NoSpace', permanent: false };
  if (err instanceof ConnectionLostError) return { reason: 'ConnectionLost', permanent: false };
  if (err instanceof NotSupportedError) return { reason: 'NotSupported', permanent: true };
  if (err instanceof InvalidSpecError) return { reason: 'InvalidSpec', permanent: true };
  if (err instanceof AlreadyExistsError) return { reason: 'AlreadyExists', permanent: false };
  if (err instanceof NotFoundError) return { reason: 'NotFound', permanent: false };
  if (err instanceof InvalidStateError) return { reason: 'InvalidState', permanent: false };
  if (err instanceof OperationFailedError) return { reason: 'OperationFailed', permanent: false };
  return { reason: 'InternalError', permanent: false };
}
