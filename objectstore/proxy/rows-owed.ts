/**
 * Listing rows a write still owes once it is acknowledged.
 *
 * Each object replica names one container replica (Swift's X-Container-Host spread), so a
 * listing read from any one container replica sees a write only if the object replica that
 * was to name it stored the write. When one did not (it failed, refused with a newer version,
 * or had not answered when a majority had), its container targets are handed before the
 * answer to a node that did store the write: that node sends the rows, or queues them durably
 * where a container node is down, exactly as it does its own (node/server.ts, relayRows). The
 * common case, every replica stored, costs nothing here.
 */
import type { NodeClient } from '../node/node-client.js';
import type { ObjectRow } from '../node/container-db.js';
import { encodeJsonHeader, H_CONTAINER_TARGET, H_ROW } from '../node/protocol.js';

/** A node that stored the version, and the object's path there. */
export interface RelayNode {
  host: string;
  port: number;
  path: string;
}

/**
 * Hands `targets` to the first of `via` that takes them. When none does, the rows reach those
 * container replicas only by container replication (the write itself stands, and its rows are
 * on the replicas whose object replica stored it).
 */
export async function sendRowsOwed(client: NodeClient, via: RelayNode[], targets: string[], row: ObjectRow,
  timeoutMs: number): Promise<void> {
  if (targets.length === 0) return;
  for (const n of via) {
    try {
      const r = await client.request({
        host: n.host, port: n.port, method: 'POST', path: n.path, timestamp: row.ts, timeoutMs,
        headers: { [H_ROW]: encodeJsonHeader(row), [H_CONTAINER_TARGET]: targets.join(',') },
      });
      r.body.resume();
      if (r.status === 204) return;
    } catch {
      // the next node
    }
  }
}
