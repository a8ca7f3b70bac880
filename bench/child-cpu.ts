/**
 * A benchmark's server child (forked, IPC channel) tells its parent its CPU time: the parent
 * counts the CPU a workload cost the server beside its own.
 */
import type { ChildProcess } from 'node:child_process';

/** Sends `msg` to the child and resolves with its next message. */
export function askChild<T>(child: ChildProcess, msg: string): Promise<T> {
  return new Promise((res) => {
    child.once('message', (m) => res(m as T));
    child.send(msg);
  });
}

/** In the child: the answer to a CPU question, user + system microseconds of all its threads. */
export function sendCpu(): void {
  const u = process.cpuUsage();
  process.send!({ cpuUs: u.user + u.system });
}

/** In the parent: the child's CPU microseconds so far. */
export async function childCpuUs(child: ChildProcess): Promise<number> {
  return (await askChild<{ cpuUs: number }>(child, 'cpu')).cpuUs;
}
