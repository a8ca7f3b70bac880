/**
 * Typed manifests: what a YAML document becomes once its schema is valid. Each manifest keeps
 * where it came from (`src`) so that later checks (references, quotas) can point at the exact
 * line and column of any of its fields.
 */

export const API_VERSION = 'ringstack.dev/v1';
export const KINDS = ['Instance', 'Network', 'Volume', 'Image', 'Flavor', 'Project'] as const;
export type Kind = (typeof KINDS)[number];

/** Source offsets by field path (a Map, or the leaner Positions of positions.ts). */
export interface PositionMap {
  get(path: string): number | undefined;
  has(path: string): boolean;
  set(path: string, offset: number): unknown;
}

/** Where a manifest is: file, document index, and the source offset of each field path. */
export interface SourceRef {
  file: string;
  /** 0-based index of the document in its file. */
  doc: number;
  /** Offset of each visited value by dotted path (`spec.networks[0].ip`); `^path` holds key offsets. */
  pos: PositionMap;
}

interface Base<K extends Kind> {
  kind: K;
  name: string;
  /** Absent for shared Image/Flavor/Network and for Project. */
  project?: string;
  labels: Record<string, string>;
  src: SourceRef;
}

export interface NicSpec { network: string; ip?: string; mac?: string }

export interface InstanceSpec {
  image: string;
  flavor?: string;
  vcpus?: number;
  memoryMiB?: number;
  diskGiB?: number;
  powerState: 'Running' | 'Stopped';
  networks: NicSpec[];
  volumes: string[];
  userData?: string;
  sshAuthorizedKeys: string[];
  /** `antiAffinityPolicy` absent means `Strict`. */
  placement: { zone?: string; host?: string; antiAffinityGroup?: string; antiAffinityPolicy?: 'Strict' | 'Soft' };
}

export interface NetworkSpec {
  mode: 'nat' | 'isolated' | 'bridge';
  cidr?: string;
  gateway?: string;
  dhcp?: { start: string; end: string };
  bridge?: string;
  zones?: string[];
}

export interface VolumeSpec { sizeGiB: number; sourceImage?: string; retainOnDelete: boolean }

export interface ImageSpec {
  source: { bucket: string; key: string };
  format: 'qcow2' | 'raw';
  sha256: string;
  minDiskGiB: number;
  minMemoryMiB: number;
}

export interface FlavorSpec { vcpus: number; memoryMiB: number; diskGiB: number }

export interface Quotas { instances: number; vcpus: number; memoryMiB: number; volumeGiB: number; networks: number }
export interface ProjectSpec { quotas: Quotas }

export interface InstanceManifest extends Base<'Instance'> { spec: InstanceSpec }
export interface NetworkManifest extends Base<'Network'> { spec: NetworkSpec }
export interface VolumeManifest extends Base<'Volume'> { spec: VolumeSpec }
export interface ImageManifest extends Base<'Image'> { spec: ImageSpec }
export interface FlavorManifest extends Base<'Flavor'> { spec: FlavorSpec }
export interface ProjectManifest extends Base<'Project'> { spec: ProjectSpec }

export type Manifest =
  | InstanceManifest | NetworkManifest | VolumeManifest | ImageManifest | FlavorManifest | ProjectManifest;

/** An instance with its references resolved (filled in by the reference checks). */
export interface ResolvedInstance {
  manifest: InstanceManifest;
  image: ImageManifest;
  flavor?: FlavorManifest;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  networks: NetworkManifest[];
  volumes: VolumeManifest[];
}

/** All manifests of a valid commit, sorted by id within each kind, references resolved. */
export interface Catalog {
  instances: ResolvedInstance[];
  networks: NetworkManifest[];
  volumes: Array<{ manifest: VolumeManifest; sourceImage?: ImageManifest }>;
  images: ImageManifest[];
  flavors: FlavorManifest[];
  projects: ProjectManifest[];
}

/** `<project>/<name>`, or `<name>` for shared resources. */
export function manifestId(m: { name: string; project?: string }): string {
  return m.project === undefined ? m.name : `${m.project}/${m.name}`;
}
