/**
 * One LevelDB (classic-level) per device, at `<device>/db`, holding the container and account
 * databases whose partitions the ring assigns to this device. Opened lazily on first use and
 * kept open; key spaces are separated by a one-letter tag and NUL separators (names never
 * contain NUL):
 *   C\0a\0c        container record         O\0a\0c\0name  object listing row
 *   D\0a\0c        container stats not yet sent to the account
 *   A\0a           account record           L\0a\0c        container listing row of an account
 */
import { ClassicLevel } from 'classic-level';
import { join } from 'node:path';

export type LevelDb = ClassicLevel<string, any>;

export class DeviceDbs {
  private readonly dbs = new Map<string, Promise<LevelDb>>();
  constructor(private readonly devicesDir: string) {}

  /** The open database of a device (the device folder must exist). */
  get(device: string): Promise<LevelDb> {
    let p = this.dbs.get(device);
    if (!p) {
      p = (async () => {
        const db = new ClassicLevel<string, any>(join(this.devicesDir, device, 'db'), { valueEncoding: 'json' });
        await db.open();
        return db;
      })();
      p.catch(() => this.dbs.delete(device));
      this.dbs.set(device, p);
    }
    return p;
  }

  /** Devices whose database is open. */
  openDevices(): string[] {
    return [...this.dbs.keys()];
  }

  async close(): Promise<void> {
    const all = [...this.dbs.values()];
    this.dbs.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.close()));
  }
}
