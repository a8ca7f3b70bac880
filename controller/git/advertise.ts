/**
 * The ref advertisement of `GET /git/<repo>.git/info/refs?service=...` (smart HTTP, protocol
 * v0): a `# service=` header, then one pkt-line per ref, the first carrying the capabilities
 * after a NUL byte. An empty repository advertises `capabilities^{}` with the zero id, as Git
 * does. A client asking for protocol v2 (Git-Protocol header) gets v0, which it accepts.
 */

import { FLUSH_PKT, pktLine } from './pkt-line.js';
import type { RefSnapshot } from './refs.js';
import { ZERO_OID } from './types.js';

/** The two services of the smart protocol. */
export type GitService = 'git-upload-pack' | 'git-receive-pack';

/** Agent string sent to clients. */
export const AGENT = 'agent=ringstack/0.1';

/**
 * Capabilities of our receive-pack. `no-thin` makes clients send self-contained packs, so a
 * pack never depends on objects of another push that is still being validated.
 */
export const RECEIVE_CAPS = ['report-status', 'delete-refs', 'side-band-64k', 'ofs-delta', 'no-thin', AGENT];

/** Capabilities of our upload-pack (no shallow, no `ready`: see upload-pack.ts). */
export function uploadCaps(snapshot: RefSnapshot): string[] {
  const caps = ['multi_ack_detailed', 'side-band-64k', 'ofs-delta', 'no-progress'];
  if (snapshot.headOid) caps.push(`symref=HEAD:${snapshot.headTarget}`);
  caps.push(AGENT);
  return caps;
}

/** The full body of the info/refs response for `service`. */
export function advertisement(service: GitService, snapshot: RefSnapshot): Buffer {
  const caps = service === 'git-receive-pack' ? RECEIVE_CAPS : uploadCaps(snapshot);
  const lines: Array<[string, string]> = [];
  if (service === 'git-upload-pack' && snapshot.headOid) lines.push([snapshot.headOid, 'HEAD']);
  for (const ref of snapshot.refs) {
    lines.push([ref.oid, ref.name]);
    if (ref.peeled) lines.push([ref.peeled, `${ref.name}^{}`]);
  }
  if (lines.length === 0) lines.push([ZERO_OID, 'capabilities^{}']);
  const parts: Buffer[] = [pktLine(`# service=${service}\n`), FLUSH_PKT];
  lines.forEach(([oid, name], i) => {
    parts.push(pktLine(i === 0 ? `${oid} ${name}\0${caps.join(' ')}\n` : `${oid} ${name}\n`));
  });
  parts.push(FLUSH_PKT);
  return Buffer.concat(parts);
}
