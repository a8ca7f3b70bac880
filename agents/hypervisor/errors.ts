/**
 * Typed errors of the hypervisor layer. The agent decides what to do from the class alone:
 * NotFoundError (create it), AlreadyExistsError (adopt it), InvalidStateError (already in the
 * wanted state, or must be stopped first), NoSpaceError (report, do not retry), NotSupportedError
 * (the driver cannot do this), ConnectionLostError (reconnect and resync), OperationFailedError
 * (anything else libvirt refused; the cause keeps libvirt's own error).
 * Both implementations (libvirt-hypervisor.ts, fake-hypervisor.ts) throw exactly these.
 */

/** The kinds of object the hypervisor manages. */
export type ResourceKind = 'domain' | 'network' | 'pool' | 'volume' | 'dhcp-host';

export class HypervisorError extends Error {
  override name = 'HypervisorError';
}

/** The named object does not exist. */
export class NotFoundError extends HypervisorError {
  override name = 'NotFoundError';
  constructor(readonly kind: ResourceKind, readonly resource: string, options?: { cause?: unknown }) {
    super(`${kind} '${resource}' not found`, options);
  }
}

/** An object with that name (or UUID) already exists. */
export class AlreadyExistsError extends HypervisorError {
  override name = 'AlreadyExistsError';
  constructor(readonly kind: ResourceKind, readonly resource: string, options?: { cause?: unknown }) {
    super(`${kind} '${resource}' already exists`, options);
  }
}

/** The hypervisor refused or failed the operation. */
export class OperationFailedError extends HypervisorError {
  override name = 'OperationFailedError';
}

/** The operation does not apply in the object's current state (start a running domain…). */
export class InvalidStateError extends OperationFailedError {
  override name = 'InvalidStateError';
  constructor(readonly kind: ResourceKind, readonly resource: string, detail: string, options?: { cause?: unknown }) {
    super(`${kind} '${resource}': ${detail}`, options);
  }
}

/** A spec the hypervisor layer rejects before asking libvirt (bad name, MAC, address…). */
export class InvalidSpecError extends OperationFailedError {
  override name = 'InvalidSpecError';
}

/** The driver behind the connection cannot do this (e.g. uploads on test:///default). */
export class NotSupportedError extends OperationFailedError {
  override name = 'NotSupportedError';
}

/** The storage pool has less free space than the operation needs. */
export class NoSpaceError extends HypervisorError {
  override name = 'NoSpaceError';
  constructor(readonly pool: string, readonly neededBytes: number, readonly availableBytes: number) {
    super(`pool '${pool}' has ${availableBytes} bytes free, ${neededBytes} needed`);
  }
}

/** The connection to the hypervisor is gone; open a new one. */
export class ConnectionLostError extends HypervisorError {
  override name = 'ConnectionLostError';
}
