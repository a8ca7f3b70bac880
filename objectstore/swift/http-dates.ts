/**
 * Time formats Swift uses on the wire: HTTP dates (Last-Modified, rounded up to the second as
 * Swift does), X-Timestamp (`%016.05f` seconds) and the listing `last_modified` field
 * (`YYYY-MM-DDTHH:MM:SS.ffffff`, UTC, no zone suffix).
 */

/** HTTP-date of the second containing `ms`, rounded up (Swift's Last-Modified). */
export function httpDate(ms: number): string {
  return new Date(Math.ceil(ms / 1000) * 1000).toUTCString();
}

/** Swift's X-Timestamp for a time in milliseconds. */
export function xTimestamp(ms: number): string {
  return (ms / 1000).toFixed(5).padStart(16, '0');
}

/** Listing `last_modified`: ISO 8601 with microseconds and no zone. */
export function listingDate(ms: number): string {
  const iso = new Date(Math.floor(ms)).toISOString(); // 2024-01-02T03:04:05.678Z
  const micros = String(Math.floor((ms % 1000) * 1000)).padStart(6, '0').slice(0, 6);
  return `${iso.slice(0, 19)}.${micros}`;
}

/** Parses an HTTP date header into milliseconds, or undefined when it is not a date. */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
