/**
 * Socket-to-socket relay inside the kernel (splice(2) through a pipe), for the proxy's large GET
 * bodies: the node's socket pages go to the client's socket by reference instead of being read
 * into JavaScript and written out again. Profiled under 16 concurrent 16 MiB GETs, those two
 * copies were a quarter of the proxy's CPU, and the JavaScript around them most of the rest.
 *
 * Node cannot splice, so this uses the project's Node-API addon (native/page-cache,
 * splice_relay.c), driven by the event loop. Without the addon, or with
 * RINGSTACK_PROXY_SPLICE=0 in the environment (to compare, or to rule it out), bodies are
 * relayed through JavaScript as before (node/lean-body.ts).
 */
import net from 'node:net';
import tls from 'node:tls';
import { handleFd, nativeAddon } from './native-addon.js';

/** A running relay, for spliceCancel. */
export type SpliceHandle = object;

interface SpliceAddon {
  spliceRelay(inFd: number, outFd: number, bytes: number, cb: (err: Error | null, moved: number) => void): SpliceHandle;
  spliceCancel(handle: SpliceHandle): void;
}

const addon = process.env.RINGSTACK_PROXY_SPLICE === '0' ? null : nativeAddon<SpliceAddon>('spliceRelay');

/** True when bodies can be relayed in the kernel (the tests check that `npm ci` built it). */
export const spliceRelayAvailable = addon !== null;

/**
 * Bodies at least this large are spliced: below it, the pause, flush and pipe set-up cost
 * more than the copies they save.
 */
export const SPLICE_MIN_BYTES = 1024 * 1024;

/**
 * The descriptor of a plain TCP socket (never TLS: its bytes must be encrypted in user space),
 * or undefined.
 */
export function plainSocketFd(socket: net.Socket | null | undefined): number | undefined {
  if (!socket || socket instanceof tls.TLSSocket || !(socket instanceof net.Socket) || socket.destroyed) return undefined;
  return handleFd(socket);
}

/**
 * Moves `bytes` from socket `inFd` to socket `outFd` in the kernel. The caller keeps Node from
 * reading `inFd` and writing `outFd` until the callback. The callback gets null, or the Error
 * (with `code` and `syscall`: ECONNRESET when the sender closed early, EPIPE or ECONNRESET
 * when the receiver left, ECANCELED after cancelSplice) and the bytes sent before it.
 * Throws when it cannot start (no addon, or a failed system call).
 */
export function spliceRelay(inFd: number, outFd: number, bytes: number,
  cb: (err: Error | null, moved: number) => void): SpliceHandle {
  if (!addon) throw new Error('spliceRelay: the native addon is not available');
  return addon.spliceRelay(inFd, outFd, bytes, (err, moved) => {
    if (!err) completed++;
    cb(err, moved);
  });
}

let completed = 0;

/** Relays that moved all their bytes since the process started (tests, diagnostics). */
export function completedSplices(): number {
  return completed;
}

/** Stops a relay that is still running; its callback then gets ECANCELED. */
export function cancelSplice(handle: SpliceHandle): void {
  addon?.spliceCancel(handle);
}
