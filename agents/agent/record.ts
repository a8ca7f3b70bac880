/**
 * The agent's local record, kept durably in its data dir (`agent-record.json`): what it must
 * still know about libvirt objects after their resource left the desired state, across
 * restarts. Today: for every volume it created, the owning resource id and whether it is
 * retained on delete (libvirt volumes carry no metadata to hold that). A volume of ours that the
 * record does not know is retained: never delete data the agent cannot account for.
 *
 * Written with temp file + fsync + rename + fsync of the directory.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

export const RECORD_FILE = 'agent-record.json';
const RECORD_VERSION = 1;

export interface VolumeRecord {
  id: string;
  retainOnDelete: boolean;
}

interface RecordDoc {
  formatVersion: number;
  /** libvirt volume name -> what it is. */
  volumes: Record<string, VolumeRecord>;
  /** libvirt network/domain name -> resource id (for events and DELETED reports). */
  names: Record<string, string>;
}

export class CorruptRecordError extends Error {
  override name = 'CorruptRecordError';
}

export class LocalRecord {
  private doc: RecordDoc = { formatVersion: RECORD_VERSION, volumes: {}, names: {} };
  private saved = '';

  private constructor(private readonly dir: string) {}

  /** Loads the record from `dir` (an empty one when the file does not exist yet). */
  static async load(dir: string): Promise<LocalRecord> {
    const rec = new LocalRecord(dir);
    await mkdir(dir, { recursive: true });
    let text: string | undefined;
    try {
      text = await readFile(join(dir, RECORD_FILE), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text !== undefined) {
      try {
        const doc = JSON.parse(text) as RecordDoc;
        rec.doc = { formatVersion: RECORD_VERSION, volumes: doc.volumes ?? {}, names: doc.names ?? {} };
      } catch (e) {
        throw new CorruptRecordError(`${join(dir, RECORD_FILE)} is not valid JSON: ${(e as Error).message}`);
      }
      rec.saved = JSON.stringify(rec.doc);
    }
    return rec;
  }

  volume(name: string): VolumeRecord | undefined {
    return this.doc.volumes[name];
  }

  setVolume(name: string, value: VolumeRecord): void {
    this.doc.volumes[name] = { ...value };
  }

  forgetVolume(name: string): void {
    delete this.doc.volumes[name];
  }

  idOf(name: string): string | undefined {
    return this.doc.names[name];
  }

  setName(name: string, id: string): void {
    this.doc.names[name] = id;
  }

  forgetName(name: string): void {
    delete this.doc.names[name];
  }

  /** Writes the record if it changed since the last save. */
  async save(): Promise<void> {
    const text = JSON.stringify(this.doc);
    if (text === this.saved) return;
    const path = join(this.dir, RECORD_FILE);
    const tmp = `${path}.tmp-${process.pid}`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(`${JSON.stringify(this.doc, null, 1)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const dh = await open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
    this.saved = text;
  }
}
