/**
 * `POST /git/<repo>.git/git-upload-pack`: serves clone and fetch (protocol v0, stateless HTTP).
 *
 * Negotiation uses multi_ack_detailed, as stateless HTTP needs: each request carries the
 * wants, the haves found common so far and a new round of haves; we acknowledge the haves we
 * hold (`ACK <oid> common`) and end the round with NAK. The request with `done` gets the pack.
 * We never say `ready`: the client stops when it runs out of haves to send (it skips the
 * ancestors of common commits).
 * The pack holds the commits reachable from the wants but not from the common haves, with
 * their trees and blobs minus those of the common commits' trees (objects of older history
 * may be sent again; that is correct, only larger). It is built by isomorphic-git's
 * packObjects without deltas, in memory: fine for manifest repositories, which are small.
 * Shallow clones are not offered.
 */

import * as fs from 'node:fs';
import type { Writable } from 'node:stream';
import git from 'isomorphic-git';
import { CHANNEL_DATA, CHANNEL_PROGRESS, FLUSH_PKT, parseAllPkts, pktLine, pktText, sideBand } from './pkt-line.js';
import { readRefs } from './refs.js';
import { ProtocolError } from './errors.js';

/** An object id as sent on the wire. */
const OID_RE = /^[0-9a-f]{40}$/;

/** A parsed upload-pack request. */
export interface UploadRequest {
  wants: string[];
  haves: string[];
  caps: Set<string>;
  done: boolean;
}

/** Parses the pkt-lines of an upload-pack request body. */
export function parseUploadRequest(body: Buffer): UploadRequest {
  const req: UploadRequest = { wants: [], haves: [], caps: new Set(), done: false };
  for (const pkt of parseAllPkts(body)) {
    if (pkt.kind !== 'data') continue;
    let line = pktText(pkt.data);
    if (line.startsWith('want ')) {
      const [oid, ...caps] = line.slice(5).split(' ');
      if (req.wants.length === 0) for (const c of caps) if (c) req.caps.add(c);
      if (!OID_RE.test(oid)) throw new ProtocolError(`bad want line ${JSON.stringify(line)}`);
      req.wants.push(oid);
    } else if (line.startsWith('have ')) {
      line = line.slice(5).trim();
      if (!OID_RE.test(line)) throw new ProtocolError(`bad have line ${JSON.stringify(line)}`);
      req.haves.push(line);
    } else if (line === 'done') {
      req.done = true;
    } else if (line.startsWith('shallow ') || line.startsWith('deepen')) {
      throw new ProtocolError('shallow fetches are not supported by this server');
    }
  }
  return req;
}

/** True when the object exists in the repository. */
async function hasObject(gitdir: string, oid: string, cache: object): Promise<boolean> {
  try {
    await git.readObject({ fs, gitdir, oid, cache, format: 'deflated' });
    return true;
  } catch {
    return false;
  }
}

/** Parsed commit fields we need for the walk. */
async function commitOf(gitdir: string, oid: string, cache: object): Promise<{ tree: string; parent: string[] }> {
  const { commit } = await git.readCommit({ fs, gitdir, oid, cache });
  return commit;
}

/** Adds `tree` and every tree and blob below it to `into`, skipping those in `skip`. */
async function addTree(gitdir: string, tree: string, into: Set<string>, skip: Set<string>, cache: object): Promise<void> {
  const stack = [tree];
  while (stack.length) {
    const oid = stack.pop()!;
    if (into.has(oid) || skip.has(oid)) continue;
    into.add(oid);
    for (const e of (await git.readTree({ fs, gitdir, oid, cache })).tree) {
      if (e.type === 'tree') stack.push(e.oid);
      else if (e.type === 'blob' && !skip.has(e.oid)) into.add(e.oid);
    }
  }
}

/** All commits reachable from `starts`. */
async function ancestors(gitdir: string, starts: string[], cache: object): Promise<Set<string>> {
  const seen = new Set<string>();
  const stack = [...starts];
  while (stack.length) {
    const oid = stack.pop()!;
    if (seen.has(oid)) continue;
    seen.add(oid);
    stack.push(...(await commitOf(gitdir, oid, cache)).parent);
  }
  return seen;
}

/** The object ids the pack must carry for `wants` given the client holds `common`. */
export async function objectsToSend(gitdir: string, wants: string[], common: string[], cache: object): Promise<string[]> {
  const out = new Set<string>();
  const wantCommits: string[] = [];
  for (let oid of wants) {
    // Annotated tags: send the tag object(s) and walk from what they point at.
    for (;;) {
      const obj = await git.readObject({ fs, gitdir, oid, cache, format: 'parsed' });
      if (obj.type !== 'tag') {
        if (obj.type === 'commit') wantCommits.push(oid);
        else if (obj.type === 'tree') await addTree(gitdir, oid, out, new Set(), cache);
        else out.add(oid);
        break;
      }
      out.add(oid);
      oid = (obj.object as { object: string }).object;
    }
  }
  const commonCommits: string[] = [];
  for (const oid of common) {
    const obj = await git.readObject({ fs, gitdir, oid, cache, format: 'parsed' }).catch(() => undefined);
    if (obj?.type === 'commit') commonCommits.push(oid);
  }
  const uninteresting = await ancestors(gitdir, commonCommits, cache);
  const skipObjects = new Set<string>();
  for (const oid of commonCommits) await addTree(gitdir, (await commitOf(gitdir, oid, cache)).tree, skipObjects, new Set(), cache);

  const stack = wantCommits.filter((c) => !uninteresting.has(c));
  const seen = new Set<string>();
  while (stack.length) {
    const oid = stack.pop()!;
    if (seen.has(oid) || uninteresting.has(oid)) continue;
    seen.add(oid);
    out.add(oid);
    const commit = await commitOf(gitdir, oid, cache);
    await addTree(gitdir, commit.tree, out, skipObjects, cache);
    for (const p of commit.parent) if (!uninteresting.has(p)) stack.push(p);
  }
  return [...out];
}

/**
 * Answers one upload-pack request on `out` (not ended): ACK/NAK, then, when the client said
 * `done`, the packfile over side-band (or raw without side-band), then a flush.
 */
export async function serveUploadPack(gitdir: string, req: UploadRequest, out: Writable): Promise<void> {
  if (req.wants.length === 0) return; // nothing wanted: an empty answer, like git
  const cache = {};
  const snap = await readRefs(gitdir);
  const tips = new Set<string>();
  for (const r of snap.refs) {
    tips.add(r.oid);
    if (r.peeled) tips.add(r.peeled);
  }
  for (const want of req.wants) {
    if (!tips.has(want)) {
      out.write(pktLine(`ERR upload-pack: not our ref ${want}\n`));
      return;
    }
  }
  // Negotiation. With multi_ack_detailed (what git asks for) every have we hold is acknowledged
  // as `common` and a round ends with NAK; the client keeps sending the commons in its later
  // requests, and the request with `done` gets a final plain ACK (or NAK) and the pack.
  // Without it (older clients, one-shot requests), the first common have gets a plain ACK.
  const multiAck = req.caps.has('multi_ack_detailed');
  const common: string[] = [];
  for (const have of req.haves) {
    if (!(await hasObject(gitdir, have, cache))) continue;
    common.push(have);
    if (multiAck) out.write(pktLine(`ACK ${have} common\n`));
    else if (common.length === 1) out.write(pktLine(`ACK ${have}\n`));
  }
  if (!req.done) {
    if (multiAck || common.length === 0) out.write(pktLine('NAK\n'));
    return; // the client comes back with more haves or with done
  }
  if (common.length === 0) out.write(pktLine('NAK\n'));
  else if (multiAck) out.write(pktLine(`ACK ${common[common.length - 1]}\n`));

  const oids = await objectsToSend(gitdir, req.wants, common, cache);
  const { packfile } = await git.packObjects({ fs, dir: gitdir, gitdir, oids, cache });
  const pack = Buffer.from(packfile!);
  const sideband = req.caps.has('side-band-64k');
  if (!sideband) {
    out.write(pack);
    return;
  }
  if (!req.caps.has('no-progress')) out.write(sideBand(CHANNEL_PROGRESS, `ringstack: sending ${oids.length} objects\n`));
  out.write(sideBand(CHANNEL_DATA, pack));
  out.write(FLUSH_PKT);
}
