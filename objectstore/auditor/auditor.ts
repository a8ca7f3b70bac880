/**
 * The auditor of a storage node (Swift's object auditor): walks every `.data` file of every
 * local device at no more than `filesPerSecond` and `bytesPerSecond`, re-reads it and checks it
 * (check-object.ts); a damaged object's hash folder is quarantined (quarantine.ts) so the
 * replicator restores a good copy from a peer. After a pass it pauses `intervalMs`.
 * Stats go to `<devicesDir>/.recon/audit.json` (node/recon.ts) after each pass.
 */
import { logToStderr } from '../common/log.js';
import { PassLoop } from '../common/pass-loop.js';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { HashConfig } from '../ring/hash.js';
import { AUDIT_RECON_FILE, emptyAuditRecon, writeRecon, type AuditRecon } from '../node/recon.js';
import { checkDataFile } from './check-object.js';
import { Pacer } from './pacer.js';
import { quarantineHashDir, quarantinedTotal } from './quarantine.js';


export interface AuditorOptions {
  devicesDir: string;
  hash: HashConfig;
  intervalMs: number;
  filesPerSecond: number;
  bytesPerSecond: number;
  log?: (m: string) => void;
}

async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

export class Auditor {
  recon: AuditRecon = emptyAuditRecon();
  private readonly abort = new AbortController();
  private readonly loop: PassLoop;

  constructor(private readonly opts: AuditorOptions) {
    this.loop = new PassLoop('auditor', opts.intervalMs, () => this.runPass(), (m) => this.log(m));
  }

  private log(m: string): void {
    (this.opts.log ?? logToStderr)(m);
  }

  start(): void {
    this.loop.start();
  }

  /** Stops the loop; the running pass ends at its next file (the pacer's waits are cut too). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop.stop();
  }

  /** One pass over every `.data` file; returns its stats. */
  async runPass(): Promise<AuditRecon> {
    const started = Date.now();
    const pacer = new Pacer(this.opts.filesPerSecond, this.opts.bytesPerSecond, this.abort.signal);
    let files = 0;
    let bytes = 0;
    let quarantined = 0;
    const stopped = () => this.abort.signal.aborted;
    for (const device of await names(this.opts.devicesDir)) {
      if (device.startsWith('.')) continue;
      const objects = join(this.opts.devicesDir, device, 'objects');
      for (const part of await names(objects)) {
        for (const suffix of await names(join(objects, part))) {
          for (const hash of await names(join(objects, part, suffix))) {
            const dir = join(objects, part, suffix, hash);
            for (const f of await names(dir)) {
              if (stopped()) return this.recon;
              if (!f.endsWith('.data')) continue;
              await pacer.file();
              const r = await checkDataFile(join(dir, f), this.opts.hash, pacer);
              if (r.kind === 'gone') continue;
              files++;
              bytes += r.bytes;
              if (r.kind === 'bad') {
                const to = await quarantineHashDir(join(this.opts.devicesDir, device), dir);
                if (to) {
                  quarantined++;
                  this.log(`auditor: ${join(dir, f)}: ${r.reason}; quarantined to ${to}`);
                }
                break; // the folder is gone
              }
            }
          }
        }
      }
    }
    const ended = Date.now();
    this.recon = {
      lastPassCompleted: ended, lastPassSeconds: (ended - started) / 1000, filesChecked: files, bytesChecked: bytes,
      quarantined, quarantinedTotal: quarantinedTotal(), passes: this.recon.passes + 1,
    };
    await writeRecon(this.opts.devicesDir, AUDIT_RECON_FILE, this.recon)
      .catch((e: Error) => this.log(`auditor: cannot write recon: ${e.message}`));
    return this.recon;
  }
}
