/**
 * V8 flags for the processes on the object store's data path: the proxy (bin/ringstack passes
 * them to every ringstack process, as a literal there) and the storage nodes it starts.
 *
 * Why: node:http hands every body chunk over as a new 64 KiB ArrayBuffer, and V8 counts those
 * bytes against its global allocation limit. With a heap as small as ours (13-15 MB live) that
 * limit sits ~24 MB above the live size, so a proxy streaming 150 MB/s of uploads started a full
 * mark-compact every 24 MB: 35-48 of them in a 48-PUT phase of 16 MiB objects, ~18 % of the
 * proxy's CPU. A larger initial heap raises the limit; the chunks still die young and are freed
 * by scavenges. Measured (16 clients, 16 MiB S3 PUTs): no mark-compact in the phase, proxy CPU
 * per PUT 80-83 -> 57-64 ms, peak RSS 126 -> 129 MB.
 */
export const DATA_PATH_V8_FLAGS: readonly string[] = ['--initial-heap-size=256'];
