/**
 * The schema of every kind, as data: field types, required fields, enums, patterns, bounds,
 * defaults. `walk.ts` checks a YAML node against a `Field` and builds the plain value;
 * checks that relate several fields of one document live in `document-checks.ts`, checks
 * across documents in `references.ts` and `quotas.ts`. controller/README.md documents it.
 */
import { parseCidr, parseIPv4, parseMac, isMulticastMac } from './net.js';
import { API_VERSION, type Kind, type Quotas } from './types.js';

/** Returns why a string value is invalid, or undefined. */
export type Check = (value: string) => string | undefined;

export type Field =
  | { t: 'string'; required?: boolean; enum?: readonly string[]; check?: Check; maxLength?: number; default?: string }
  | { t: 'int'; required?: boolean; min?: number; max?: number; default?: number }
  | { t: 'bool'; required?: boolean; default?: boolean }
  | { t: 'object'; required?: boolean; fields: Record<string, Field> }
  | { t: 'array'; required?: boolean; items: Field; maxItems?: number; unique?: boolean }
  | { t: 'map'; required?: boolean; values: Field; keyCheck?: Check; maxEntries?: number };

/** Largest cloud-init user-data accepted (Nova's limit is 64 KiB). */
export const MAX_USER_DATA_BYTES = 65535;
/** Nova's default quotas (volumeGiB and networks from Cinder/Neutron defaults). */
export const DEFAULT_QUOTAS: Quotas = { instances: 10, vcpus: 20, memoryMiB: 51200, volumeGiB: 1000, networks: 10 };

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,252})$/;
const LABEL_KEY = /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const SHA256 = /^[0-9a-f]{64}$/;
const SSH_KEY = /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$/;
const BRIDGE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export const checkName: Check = (v) =>
  DNS_LABEL.test(v) ? undefined : 'must be a DNS label: lowercase letters, digits and "-", 1-63 characters, starting and ending with a letter or digit';
const checkHost: Check = (v) => (HOST_NAME.test(v) ? undefined : 'must be a host name (letters, digits, ".", "_", "-")');
const checkLabelKey: Check = (v) => (LABEL_KEY.test(v) ? undefined : 'is not a valid label key (like "tier" or "example.com/tier")');
const checkSha256: Check = (v) => (SHA256.test(v) ? undefined : 'must be 64 lowercase hex digits');
const checkSshKey: Check = (v) => (SSH_KEY.test(v.trim()) ? undefined : 'is not an SSH public key (expected "ssh-ed25519 AAAA... comment")');
const checkBridge: Check = (v) => (BRIDGE.test(v) ? undefined : 'must be a Linux interface name of at most 15 characters');
const checkBucket: Check = (v) => (BUCKET.test(v) ? undefined : 'must be a bucket name (3-63 lowercase letters, digits, ".", "-")');
const checkKey: Check = (v) => (v.length > 0 && v.length <= 1024 && !v.startsWith('/') ? undefined : 'must be an object key of 1-1024 characters not starting with "/"');
const checkIPv4: Check = (v) => (parseIPv4(v) !== undefined ? undefined : v.includes(':') ? 'only IPv4 addresses are supported' : 'must be an IPv4 address like 10.0.0.5');
const checkCidr: Check = (v) => { const c = parseCidr(v); return typeof c === 'string' ? c : undefined; };
const checkMac: Check = (v) => {
  const mac = parseMac(v);
  if (mac === undefined) return 'must be a MAC address like 52:54:00:12:34:56';
  return isMulticastMac(mac) ? 'is a multicast MAC address; a NIC needs a unicast one' : undefined;
};
const checkUserData: Check = (v) =>
  Buffer.byteLength(v) > MAX_USER_DATA_BYTES ? `is ${Buffer.byteLength(v)} bytes, over the ${MAX_USER_DATA_BYTES}-byte limit` : undefined;

const str = (extra: Omit<Extract<Field, { t: 'string' }>, 't'> = {}): Field => ({ t: 'string', ...extra });
const int = (min: number, extra: Omit<Extract<Field, { t: 'int' }>, 't' | 'min'> = {}): Field => ({ t: 'int', min, ...extra });
const MAX_GIB = 1 << 20;
const MAX_MIB = 1 << 30;

function metadata(project: 'required' | 'optional' | 'forbidden'): Field {
  const fields: Record<string, Field> = {
    name: str({ required: true, check: checkName }),
    labels: { t: 'map', values: str({ maxLength: 256 }), keyCheck: checkLabelKey, maxEntries: 64 },
  };
  if (project !== 'forbidden') fields.project = str({ required: project === 'required', check: checkName });
  return { t: 'object', required: true, fields };
}

const SPECS: Record<Kind, Field> = {
  Instance: {
    t: 'object', required: true, fields: {
      image: str({ required: true, check: checkName }),
      flavor: str({ check: checkName }),
      vcpus: int(1, { max: 1024 }),
      memoryMiB: int(64, { max: MAX_MIB }),
      diskGiB: int(1, { max: MAX_GIB }),
      powerState: str({ enum: ['Running', 'Stopped'], default: 'Running' }),
      networks: {
        t: 'array', maxItems: 16, items: {
          t: 'object', fields: {
            network: str({ required: true, check: checkName }),
            ip: str({ check: checkIPv4 }),
            mac: str({ check: checkMac }),
          },
        },
      },
      volumes: { t: 'array', maxItems: 24, unique: true, items: str({ check: checkName }) },
      userData: str({ check: checkUserData }),
      sshAuthorizedKeys: { t: 'array', maxItems: 64, items: str({ check: checkSshKey }) },
      placement: {
        t: 'object', fields: {
          zone: str({ check: checkHost }),
          host: str({ check: checkHost }),
          antiAffinityGroup: str({ check: checkName }),
          antiAffinityPolicy: str({ enum: ['Strict', 'Soft'] }),
        },
      },
    },
  },
  Network: {
    t: 'object', required: true, fields: {
      mode: str({ enum: ['nat', 'isolated', 'bridge'], default: 'nat' }),
      cidr: str({ check: checkCidr }),
      gateway: str({ check: checkIPv4 }),
      dhcp: { t: 'object', fields: { start: str({ required: true, check: checkIPv4 }), end: str({ required: true, check: checkIPv4 }) } },
      bridge: str({ check: checkBridge }),
      zones: { t: 'array', unique: true, maxItems: 256, items: str({ check: checkHost }) },
    },
  },
  Volume: {
    t: 'object', required: true, fields: {
      sizeGiB: int(1, { required: true, max: MAX_GIB }),
      sourceImage: str({ check: checkName }),
      retainOnDelete: { t: 'bool', default: false },
    },
  },
  Image: {
    t: 'object', required: true, fields: {
      source: { t: 'object', required: true, fields: { bucket: str({ required: true, check: checkBucket }), key: str({ required: true, check: checkKey }) } },
      format: str({ enum: ['qcow2', 'raw'], required: true }),
      sha256: str({ required: true, check: checkSha256 }),
      minDiskGiB: int(0, { max: MAX_GIB, default: 0 }),
      minMemoryMiB: int(0, { max: MAX_MIB, default: 0 }),
    },
  },
  Flavor: {
    t: 'object', required: true, fields: {
      vcpus: int(1, { required: true, max: 1024 }),
      memoryMiB: int(64, { required: true, max: MAX_MIB }),
      diskGiB: int(1, { required: true, max: MAX_GIB }),
    },
  },
  Project: {
    t: 'object', fields: {
      quotas: {
        t: 'object', fields: {
          instances: int(0, { default: DEFAULT_QUOTAS.instances }),
          vcpus: int(0, { default: DEFAULT_QUOTAS.vcpus }),
          memoryMiB: int(0, { default: DEFAULT_QUOTAS.memoryMiB }),
          volumeGiB: int(0, { default: DEFAULT_QUOTAS.volumeGiB }),
          networks: int(0, { default: DEFAULT_QUOTAS.networks }),
        },
      },
    },
  },
};

const PROJECT_RULE: Record<Kind, 'required' | 'optional' | 'forbidden'> = {
  Instance: 'required', Volume: 'required', Network: 'optional', Image: 'optional', Flavor: 'optional', Project: 'forbidden',
};

/** The schema of a whole document of `kind`. */
export function documentSchema(kind: Kind): Extract<Field, { t: 'object' }> {
  return {
    t: 'object', required: true, fields: {
      apiVersion: str({ required: true, enum: [API_VERSION] }),
      kind: str({ required: true }),
      metadata: metadata(PROJECT_RULE[kind]),
      spec: SPECS[kind],
    },
  };
}

/** Cached per kind: schemas are immutable. */
export const DOCUMENT_SCHEMAS: Record<Kind, Extract<Field, { t: 'object' }>> = Object.fromEntries(
  (Object.keys(SPECS) as Kind[]).map((k) => [k, documentSchema(k)]),
) as Record<Kind, Extract<Field, { t: 'object' }>>;
