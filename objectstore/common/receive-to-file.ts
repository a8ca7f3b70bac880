/**
 * A request body from a socket into a file outside JavaScript, for the storage node's large
 * PUTs (native/page-cache, receive_file.c): non-blocking reads of up to 256 KiB on the event
 * loop, their CRC-32C, and each read written to the file at once. Profiled under 16
 * concurrent 16 MiB PUTs, node:http's 64 KiB reads, its extra copy and the promise turns
 * around them were half of a node's CPU.
 *
 * Without the addon, or with RINGSTACK_NODE_RECEIVE=0 in the environment (to compare, or to
 * rule it out), the node reads the same bodies through JavaScript (node/raw-put.ts).
 *
 * The addon also starts each body's write-back to the disk every WRITEBACK_BYTES on the way, so
 * the fsync at the end finds little left to write (RINGSTACK_NODE_WRITEBACK=0: only the fsync).
 *
 * And it has the socket wake the node per LOWAT_BYTES of body, not per segment (SO_RCVLOWAT):
 * under 16 concurrent 16 MiB PUTs, 22 % fewer context switches and ~10 % less node CPU per PUT.
 */
import { nativeAddon } from './native-addon.js';

/** A running receive, for cancelReceive. */
export type ReceiveHandle = object;

interface ReceiveAddon {
  receiveToFile(sockFd: number, fileFd: number, bytes: number, crc: number,
    cb: (err: Error | null, written: number, crc: number) => void, writebackBytes?: number, lowatBytes?: number): ReceiveHandle;
  receiveCancel(handle: ReceiveHandle): void;
}

const addon = nativeAddon<ReceiveAddon>('receiveToFile');

/**
 * Bytes of a body after which its write-back is started again (1 MiB; measured in session 11
 * against 2, 4 and 8 MiB and none: the smaller, the shorter the final fsync).
 */
export const WRITEBACK_BYTES = 1024 * 1024;

/**
 * The socket wakes the node once this much of a body has arrived (or the rest of it, when
 * less), not for every segment: SO_RCVLOWAT, as large as one read. RINGSTACK_NODE_RCVLOWAT=0
 * keeps the kernel's default of one byte.
 */
export const LOWAT_BYTES = 256 * 1024;

/** True when the addon can receive bodies (the tests check that `npm ci` built it). */
export const receiveToFileAvailable = addon !== null;

/** True when bodies are to be received outside JavaScript: the addon is there and not turned off. */
export function receiveToFileEnabled(): boolean {
  return addon !== null && process.env.RINGSTACK_NODE_RECEIVE !== '0';
}

/**
 * Reads `bytes` from socket `sockFd` and writes them to `fileFd` at its offset, continuing the
 * CRC-32C `crc` over them. The callback gets null, `bytes` and the CRC, or the Error (`code`:
 * ECONNRESET when the sender closed early, ECANCELED after cancelReceive) and the bytes written
 * before it. The caller keeps Node from reading the socket and writing the file until then.
 * Throws when it cannot start (no addon, or a failed system call).
 */
export function receiveToFile(sockFd: number, fileFd: number, bytes: number, crc: number,
  cb: (err: Error | null, written: number, crc: number) => void): ReceiveHandle {
  if (!addon) throw new Error('receiveToFile: the native addon is not available');
  const writeback = process.env.RINGSTACK_NODE_WRITEBACK === '0' ? 0 : WRITEBACK_BYTES;
  const lowat = process.env.RINGSTACK_NODE_RCVLOWAT === '0' ? 0 : LOWAT_BYTES;
  return addon.receiveToFile(sockFd, fileFd, bytes, crc >>> 0, cb, writeback, lowat);
}

/** Stops a receive still running; its callback then gets ECANCELED. */
export function cancelReceive(handle: ReceiveHandle): void {
  addon?.receiveCancel(handle);
}
