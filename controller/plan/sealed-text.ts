/**
 * Canonical text of a desired-state object plus its content hash, built once: the text without
 * `hash` and `revision` is hashed, then the two members are spliced into it at their sorted
 * places. Compile keeps the stamped text of every resource and host state to serialise the whole
 * state without walking the objects again; splicing a few slices of the hashed (hence flat) text
 * costs far less memory and garbage than building a second text from every member.
 */
import { createHash } from 'node:crypto';
import { contentHash, CONTENT_HASH_HEX } from './identity.js';
import { quoteKey } from '../../agents/contract/canonical-json.js';

/**
 * The canonical text of an object given as sorted entries (without `hash` and `revision`), its
 * content hash, and its canonical text once `hash` and `revision` (`revisionFor(hash)`) are
 * added. The content text is built once and flattened by hashing; the stamped text splices the
 * two members into it (a few slices of it), instead of building a second rope of every entry.
 */
export function sealText(entries: Array<[string, string]>, revisionFor: (hash: string) => string): { hash: string; revision: string; text: string } {
  let body = '{';
  let hashAt = -1;
  let revisionAt = -1;
  for (let i = 0; i < entries.length; i++) {
    const k = entries[i]![0];
    if (hashAt < 0 && k > 'hash') hashAt = body.length;
    if (revisionAt < 0 && k > 'revision') revisionAt = body.length;
    body += (i ? ',' : '') + quoteKey(k) + ':' + entries[i]![1];
  }
  if (hashAt < 0) hashAt = body.length;
  if (revisionAt < 0) revisionAt = body.length;
  body += '}';
  const hash = contentHash(body);
  const revision = revisionFor(hash);
  // Each member goes after the entry that ends at its position (a position of 1 is just after "{").
  const h = `${quoteKey('hash')}:${JSON.stringify(hash)}`;
  const r = `${quoteKey('revision')}:${JSON.stringify(revision)}`;
  // Joined, hence one flat string: hashing a host state made of these texts (sealPieces) reads
  // them without flattening each (which would keep both the copy and the body its slices hold).
  let text: string;
  if (entries.length === 0) text = `{${h},${r}}`;
  else if (hashAt === revisionAt) text = hashAt > 1 ? [body.slice(0, hashAt), ',', h, ',', r, body.slice(hashAt)].join('') : ['{', h, ',', r, ',', body.slice(1)].join('');
  else text = [hashAt > 1 ? `${body.slice(0, hashAt)},${h}` : `{${h},`, body.slice(hashAt, revisionAt), ',', r, body.slice(revisionAt)].join('');
  return { hash, revision, text };
}

/**
 * sealText for a large object whose members' texts are given as pieces (a host state: its
 * resources' texts with their keys): hashed piece by piece and joined as a rope, so the text
 * shares the resources' texts instead of being a flat copy of them (hashing a string at once
 * flattens it: 14 MB for the 200 host states of a 10,000-instance repository, per state kept).
 * `entries` are sorted `[key, pieces]`; an entry's pieces concatenated are its value's text.
 */
export function sealPieces(entries: Array<[string, string[]]>, revisionFor: (hash: string) => string): { hash: string; revision: string; text: string } {
  let hashAt = entries.length;
  let revisionAt = entries.length;
  for (let i = entries.length - 1; i >= 0; i--) {
    if (entries[i]![0] > 'hash') hashAt = i;
    if (entries[i]![0] > 'revision') revisionAt = i;
  }
  const hasher = createHash('sha256');
  hasher.update('{');
  for (let i = 0; i < entries.length; i++) {
    hasher.update(`${i ? ',' : ''}${quoteKey(entries[i]![0])}:`);
    for (const p of entries[i]![1]) hasher.update(p);
  }
  hasher.update('}');
  const hash = hasher.digest('hex').slice(0, CONTENT_HASH_HEX);
  const revision = revisionFor(hash);
  let text = '{';
  let first = true;
  for (let i = 0; i <= entries.length; i++) {
    if (i === hashAt) { text += `${first ? '' : ','}${quoteKey('hash')}:${JSON.stringify(hash)}`; first = false; }
    if (i === revisionAt) { text += `${first ? '' : ','}${quoteKey('revision')}:${JSON.stringify(revision)}`; first = false; }
    if (i === entries.length) break;
    text += `${first ? '' : ','}${quoteKey(entries[i]![0])}:`;
    first = false;
    for (const p of entries[i]![1]) text += p;
  }
  return { hash, revision, text: `${text}}` };
}

