/**
 * Serves the web dashboard (`/dashboard/`): static HTML, CSS and one vanilla JS file read
 * from the `dashboard/` folder beside this module's source, no build step. The files are
 * public (they hold no data); the data comes from the API with the user's read token.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/** The folder with the assets: beside the source, or found from dist/ back in the source tree. */
export function dashboardDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'dashboard'), join(here, '..', '..', '..', 'controller', 'status', 'dashboard')];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[0]!;
}

export function registerDashboard(app: FastifyInstance, dir = dashboardDir()): string[] {
  const urls: string[] = [];
  app.get('/dashboard', async (_req, reply) => reply.redirect('/dashboard/'));
  urls.push('/dashboard');
  for (const [name, type] of Object.entries(FILES)) {
    const url = name === 'index.html' ? '/dashboard/' : `/dashboard/${name}`;
    urls.push(url);
    app.get(url, async (_req, reply) => {
      const body = await readFile(join(dir, name));
      return reply.type(type).header('cache-control', 'no-cache').send(body);
    });
  }
  return urls;
}
