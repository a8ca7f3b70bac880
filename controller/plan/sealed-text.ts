/**
 * Canonical text of a desired-state object plus its content hash, built once: the text without
 * `hash` and `revision` is hashed, then the two members are spliced into it at their sorted
 * places. Compile keeps the stamped text of every resource and host state to serialise the whole
 * state without walking the objects again; splicing a few slices of the hashed (hence flat) text
 * costs far less memory and garbage than building a second text from every member.
 */
import { contentHash } from './identity.js';
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
  let text: string;
  if (entries.length === 0) text = `{${h},${r}}`;
  else if (hashAt === revisionAt) text = hashAt > 1 ? `${body.slice(0, hashAt)},${h},${r}${body.slice(hashAt)}` : `{${h},${r},${body.slice(1)}`;
  else text = (hashAt > 1 ? `${body.slice(0, hashAt)},${h}` : `{${h},`) + body.slice(hashAt, revisionAt) + `,${r}` + body.slice(revisionAt);
  return { hash, revision, text };
}

