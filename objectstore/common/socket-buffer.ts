/**
 * A listening server's receive buffer (SO_RCVBUF), which every accepted connection inherits.
 *
 * The proxy sets it so that concurrent uploads share its time evenly. Left to the kernel's
 * autotuning, each connection's window starts at tcp_rmem's default (128 KiB) and grows with
 * what that connection was read in its last round trip; on a busy host the uploads that got
 * going first keep the large windows and the rest trickle. Measured (16 concurrent 16 MiB PUTs
 * on 2 cores): some uploads received 2 MB/s while others got 20 MB/s, and the slowest PUT took
 * 2.5x the median; with the window fixed at 4 MiB they all progressed alike. nginx's
 * `listen ... rcvbuf=` is the same remedy.
 *
 * Node's net module cannot set it, so this uses the project's Node-API addon
 * (native/page-cache, socket_buffer.c). Without the addon (no C toolchain when `npm ci` ran)
 * the kernel's autotuning stays, which is correct, only less even under load.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { handleFd, nativeAddon } from './native-addon.js';

interface SocketBufferAddon {
  setReceiveBuffer(fd: number, bytes: number, force: boolean): number;
}

const RMEM_MAX_FILE = '/proc/sys/net/core/rmem_max';

const addon = nativeAddon<SocketBufferAddon>('setReceiveBuffer');

/** True when the addon can set socket buffers (the tests check that `npm ci` built it). */
export const socketBufferControl = addon !== null;

export type ReceiveBufferResult =
  /** The size the kernel reports (Linux doubles the request for its bookkeeping). */
  | { set: number }
  /** Left to the kernel's autotuning, and why. */
  | { kept: string };

/**
 * Sets the receive buffer of a listening `server` to `bytes`. A fixed buffer turns the
 * kernel's autotuning off for good, so a size the kernel would cut down (above
 * net.core.rmem_max, as Debian's default 208 KiB is) is forced past that limit when the
 * process may (CAP_NET_ADMIN, e.g. root), and otherwise not set at all: a window locked at
 * 208 KiB would cap every distant client far below what autotuning gives it.
 * Throws the system call's error (with its `code`) when the kernel refuses anything else.
 */
export function setReceiveBuffer(server: Server, bytes: number): ReceiveBufferResult {
  if (!Number.isInteger(bytes) || bytes <= 0 || bytes > 0x7fffffff) throw new RangeError(`receive buffer must be 1..2^31-1 bytes (got ${bytes})`);
  const fd = handleFd(server);
  if (!addon) return { kept: 'the native addon is not built' };
  if (fd === undefined) return { kept: 'the server has no listening socket' };
  try {
    return { set: addon.setReceiveBuffer(fd, bytes, true) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
  }
  const max = rmemMax();
  if (max === undefined || max < bytes) {
    return { kept: `net.core.rmem_max (${max ?? 'unknown'}) is below ${bytes} and the process may not exceed it (no CAP_NET_ADMIN)` };
  }
  return { set: addon.setReceiveBuffer(fd, bytes, false) };
}

function rmemMax(): number | undefined {
  try {
    const n = Number(readFileSync(RMEM_MAX_FILE, 'utf8').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
