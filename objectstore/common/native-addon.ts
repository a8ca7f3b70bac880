/**
 * The project's Node-API addon (native/page-cache: page-cache control, CRC-32C, SO_RCVBUF,
 * the splice relay), loaded once. It is absent when `npm ci` found no C toolchain, and an addon
 * built from an older source may lack newer functions: each caller asks for the function it
 * needs and keeps its JavaScript fallback when it gets null.
 */
import { createRequire } from 'node:module';

let loaded: Record<string, unknown> | null | undefined;

/** The addon when it exports a function named `needed`, else null. */
export function nativeAddon<T extends object>(needed: keyof T & string): T | null {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@ringstack/page-cache') as Record<string, unknown> | null;
    } catch {
      loaded = null;
    }
  }
  return loaded && typeof loaded[needed] === 'function' ? (loaded as T) : null;
}

/**
 * The file descriptor behind a Node socket or server, for the addon's system calls, or
 * undefined when it has none (closed, not yet open). Node keeps it on the object's
 * undocumented but long-stable `_handle`.
 */
export function handleFd(o: object): number | undefined {
  const fd = (o as { _handle?: { fd?: number } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
