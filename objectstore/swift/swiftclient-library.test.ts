/**
 * Runs swiftclient-library.py (python-swiftclient's library API: chunked uploads, ranges,
 * streamed downloads, paged listings, copy, error codes) against the Swift front end.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startTestSwiftServer } from './test-server.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./swiftclient-library.py', import.meta.url));

if (!existsSync('/usr/lib/python3/dist-packages/swiftclient')) {
  t.plan(0, 'python3-swiftclient is not installed');
} else {
  t.test('python-swiftclient library', async (t) => {
    const server = await startTestSwiftServer();
    t.teardown(() => server.close());
    const { code, out, err } = await new Promise<{ code: number; out: string; err: string }>((resolve) => {
      execFile(PYTHON, [SCRIPT, `${server.url}/auth/v1.0`, 'test:tester', 'testing'], { env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } },
        (error, stdout, stderr) => resolve({ code: error ? 1 : 0, out: stdout, err: stderr }));
    });
    t.equal(code, 0, err);
    t.match(out, /ok chunked upload etag\n/);
    t.match(out, /ok full listing pages with marker\n/);
    t.match(out, /ALL OK\n$/);
  });
}
