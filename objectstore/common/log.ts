/** Where a storage-node worker's log lines go when its owner gives no logger: one line to stderr. */
export function logToStderr(line: string): void {
  process.stderr.write(`${line}\n`);
}
