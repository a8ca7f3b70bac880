/**
 * Finds the front-end plugins (S3, Swift) to mount on the proxy. They are looked up at run
 * time by module path so the proxy builds and runs before they exist; each module must export
 * a fastify plugin `(app, { backend, users, region })` as its default export or as
 * `s3Plugin` / `swiftPlugin`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FrontEnd } from './server.js';

/** Where the front ends live, relative to this file. */
export const FRONT_END_MODULES = ['../s3/plugin.js', '../swift/plugin.js'];

export async function loadFrontEnds(modules = FRONT_END_MODULES): Promise<FrontEnd[]> {
  const out: FrontEnd[] = [];
  for (const m of modules) {
    const url = new URL(m, import.meta.url);
    // Under a TypeScript loader (tests) the source file is .ts.
    const candidates = [url, new URL(url.href.replace(/\.js$/, '.ts'))];
    const found = candidates.find((u) => existsSync(fileURLToPath(u)));
    if (!found) continue;
    const mod = (await import(url.href)) as Record<string, unknown>;
    const plugin = mod.default ?? mod.s3Plugin ?? mod.swiftPlugin ?? mod.plugin;
    if (typeof plugin === 'function') out.push(plugin as FrontEnd);
  }
  return out;
}
