/**
 * Deterministic libvirt names for everything the agent creates, derived from the resource id,
 * so a restarted agent finds (adopts) what a previous run made instead of creating duplicates.
 *
 * Every name starts with the agent's name prefix (`rs` by default) and a dash; objects whose
 * name lacks it are never touched. Domains additionally carry metadata tags (TAG_*).
 *
 * - network:   `<prefix>-<hash8>-<name>`
 * - domain:    `<prefix>-<hash8>-<name>`
 * - volume:    `<prefix>-<hash8>-<name>.qcow2` in the volume pool
 * - seed:      `<prefix>-<hash8>-<name>.seed-<digest12>.iso` in the volume pool (the digest of
 *              the seed's content: a changed seed is a new volume, never a half-rewritten one)
 * - image:     `<sha256[0:56]>.<format>` in the image pool, plus the marker `<sha256[0:56]>.ok`
 *              created only after the bytes were verified
 * - pools:     `<prefix>-images`, `<prefix>-volumes`
 *
 * libvirt names here are limited to 64 characters (hypervisor/validate.ts), so the manifest
 * name is cut to fit; the hash keeps names unique.
 */
import { createHash } from 'node:crypto';

/** Default prefix of every object the agent creates. */
export const DEFAULT_NAME_PREFIX = 'rs';
/** Longest name the hypervisor layer accepts. */
export const MAX_NAME_LENGTH = 64;
/** Hex digits of sha256(id) in names. */
const ID_HASH_HEX = 8;
/** Hex digits of the seed digest in seed volume names. */
const SEED_DIGEST_HEX = 12;
/** Hex digits of the image sha256 in image volume names (64 would exceed MAX_NAME_LENGTH). */
export const IMAGE_KEY_HEX = 56;
const PREFIX_RE = /^[a-z][a-z0-9]{0,11}$/;

/** Domain metadata keys (hypervisor DomainSpec.metadata). */
export const TAG_ID = 'id';
export const TAG_PROJECT = 'project';
export const TAG_REVISION = 'revision';
export const TAG_HASH = 'hash';
/** The name prefix of the agent that owns the domain. */
export const TAG_AGENT = 'agent';
export const TAG_SEED = 'seed';

export const VOLUME_SUFFIX = '.qcow2';
export const SEED_RE = /\.seed-[0-9a-f]+\.iso$/;
export const IMAGE_MARKER_SUFFIX = '.ok';

export class InvalidNamePrefixError extends Error {
  override name = 'InvalidNamePrefixError';
  constructor(prefix: string) {
    super(`invalid name prefix ${JSON.stringify(prefix)}: 1-12 lowercase letters and digits, starting with a letter`);
  }
}

function idHash(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, ID_HASH_HEX);
}

/** A manifest name made safe for libvirt and cut so `head + name + tail` fits. */
function fit(head: string, name: string, tail: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '-');
  const room = MAX_NAME_LENGTH - head.length - tail.length;
  return `${head}${safe.slice(0, Math.max(0, room))}${tail}`;
}

export class Naming {
  readonly prefix: string;

  constructor(prefix = DEFAULT_NAME_PREFIX) {
    if (!PREFIX_RE.test(prefix)) throw new InvalidNamePrefixError(prefix);
    this.prefix = prefix;
  }

  /** Does a network, domain or volume name belong to this agent? */
  owns(name: string): boolean {
    return name.startsWith(`${this.prefix}-`);
  }

  private base(id: string, name: string, tail = ''): string {
    return fit(`${this.prefix}-${idHash(id)}-`, name, tail);
  }

  network(id: string, name: string): string {
    return this.base(id, name);
  }

  domain(id: string, name: string): string {
    return this.base(id, name);
  }

  volume(id: string, name: string): string {
    return this.base(id, name, VOLUME_SUFFIX);
  }

  /** Seed ISO of an instance for one seed content digest. */
  seed(id: string, name: string, digest: string): string {
    return this.base(id, name, `.seed-${digest.slice(0, SEED_DIGEST_HEX)}.iso`);
  }

  isSeed(name: string): boolean {
    return this.owns(name) && SEED_RE.test(name);
  }

  isVolume(name: string): boolean {
    return this.owns(name) && name.endsWith(VOLUME_SUFFIX) && !SEED_RE.test(name);
  }

  get imagePool(): string {
    return `${this.prefix}-images`;
  }

  get volumePool(): string {
    return `${this.prefix}-volumes`;
  }

  /** Image volume of a verified image. */
  image(sha256: string, format: string): string {
    return `${sha256.slice(0, IMAGE_KEY_HEX)}.${format}`;
  }

  /** Marker volume created once the image's bytes were verified. */
  imageMarker(sha256: string): string {
    return `${sha256.slice(0, IMAGE_KEY_HEX)}${IMAGE_MARKER_SUFFIX}`;
  }

  /** The image key (sha256 prefix) of an image or marker volume name, or undefined. */
  imageKeyOf(volume: string): string | undefined {
    const m = /^([0-9a-f]{56})\.[a-z0-9]+$/.exec(volume);
    return m?.[1];
  }
}
