/**
 * Plan: compares two compiled desired states and classifies each resource change the way an
 * agent will have to apply it, like `terraform plan`:
 * - create / delete;
 * - update in place (labels, power state, volume attachments, user data, DHCP range...);
 * - update with reboot (vcpus, memory, boot disk size, NICs);
 * - replace (boot image, network addressing, image bytes, shrinking a volume, moving host).
 * Also gives the apply order: deletes first (instances, volumes, images, networks), then
 * creates and updates (networks, images, volumes, instances).
 */
import { canonicalJson } from '../../agents/contract/canonical-json.js';
import { APPLY_ORDER, type DesiredKind, type DesiredState } from '../../agents/contract/desired.js';
import { own, patchOrigin } from './desired-builders.js';

export type Action = 'create' | 'update' | 'reboot' | 'replace' | 'delete';

export interface FieldChange { field: string; from?: unknown; to?: unknown }

export interface Change {
  kind: DesiredKind;
  id: string;
  action: Action;
  /** Changed fields (update, reboot, replace). */
  fields: FieldChange[];
  /** Why a replace or reboot is needed. */
  reason?: string;
  /** Host before and after (instances and volumes). */
  fromHost?: string;
  toHost?: string;
  /** For creates that cannot be placed. */
  unschedulable?: string;
}

export interface PlanStep { kind: DesiredKind; id: string; action: 'create' | 'update' | 'delete' }

export interface Plan {
  changes: Change[];
  /** Apply order; a replace is a delete step then a create step. */
  steps: PlanStep[];
  summary: { create: number; update: number; replace: number; delete: number };
}

const SINGULAR: Record<DesiredKind, string> = { networks: 'network', images: 'image', volumes: 'volume', instances: 'instance' };
const IGNORED = new Set(['revision', 'hash']);
/** Fields whose change forces a replace, per kind. */
const REPLACE: Record<DesiredKind, Set<string>> = {
  networks: new Set(['mode', 'cidr', 'prefixLength', 'gateway', 'bridge', 'uuid']),
  images: new Set(['sha256', 'source', 'format', 'uuid']),
  volumes: new Set(['backingImage', 'format', 'role', 'uuid']),
  instances: new Set(['image', 'uuid']),
};
/** Instance fields that need a reboot. */
const REBOOT = new Set(['vcpus', 'memoryMiB', 'diskGiB', 'nics']);

function placementOf(s: DesiredState | undefined, kind: DesiredKind, id: string): string | undefined {
  if (!s) return undefined;
  if (kind === 'instances') return own(s.placements.instances, id);
  if (kind === 'volumes') return own(s.placements.volumes, id);
  return undefined;
}

function fieldChanges(a: Record<string, unknown>, b: Record<string, unknown>): FieldChange[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !IGNORED.has(k)).sort();
  const out: FieldChange[] = [];
  for (const k of keys) {
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    if (x !== undefined && y !== undefined && typeof x === 'object' && canonicalJson(x) === canonicalJson(y)) continue;
    out.push({ field: k, ...(x !== undefined ? { from: x } : {}), ...(y !== undefined ? { to: y } : {}) });
  }
  return out;
}

function classify(kind: DesiredKind, fields: FieldChange[]): { action: Action; reason?: string } {
  const replace = fields.filter((f) => REPLACE[kind].has(f.field));
  if (replace.length) return { action: 'replace', reason: `${replace.map((f) => f.field).join(', ')} changed` };
  if (kind === 'volumes') {
    const size = fields.find((f) => f.field === 'sizeGiB');
    if (size && (size.to as number) < (size.from as number)) return { action: 'replace', reason: 'a volume cannot shrink' };
  }
  if (kind === 'instances') {
    const reboot = fields.filter((f) => REBOOT.has(f.field));
    if (reboot.length) return { action: 'reboot', reason: `${reboot.map((f) => f.field).join(', ')} changed` };
  }
  return { action: 'update' };
}

/** The plan to go from `before` (undefined: nothing deployed) to `after`. */
export function diffStates(before: DesiredState | undefined, after: DesiredState): Plan {
  const changes: Change[] = [];
  for (const kind of APPLY_ORDER) {
    const a = (before?.[kind] ?? {}) as unknown as Record<string, Record<string, unknown> & { hash: string }>;
    const b = after[kind] as unknown as Record<string, Record<string, unknown> & { hash: string }>;
    // Only ids whose content or host may differ are looked at (a one-line change leaves
    // 25,000 resources of a large repository unchanged), then in id order as before.
    // A state patched from `before` names the few it replaced; everything else is shared.
    const patched = before !== undefined ? patchOrigin(after) : undefined;
    const ids: string[] = [];
    if (patched && patched.from === before && before.placements === after.placements) {
      for (const id of patched.changed[kind] ?? []) ids.push(id);
    } else {
      for (const id of Object.keys(b)) {
        const x = own(a, id);
        if (x && x.hash === b[id]!.hash && placementOf(before, kind, id) === placementOf(after, kind, id)) continue;
        ids.push(id);
      }
      for (const id of Object.keys(a)) if (!Object.hasOwn(b, id)) ids.push(id);
    }
    ids.sort();
    for (const id of ids) {
      const x = own(a, id);
      const y = own(b, id);
      const fromHost = placementOf(before, kind, id);
      const toHost = placementOf(after, kind, id);
      const hosts = { ...(fromHost !== undefined ? { fromHost } : {}), ...(toHost !== undefined ? { toHost } : {}) };
      if (!x) {
        const why = kind === 'instances' ? own(after.unschedulable, id)?.message : undefined;
        changes.push({ kind, id, action: 'create', fields: [], ...hosts, ...(why !== undefined ? { unschedulable: why } : {}) });
        continue;
      }
      if (!y) { changes.push({ kind, id, action: 'delete', fields: [], ...hosts }); continue; }
      const moved = fromHost !== undefined && toHost !== undefined && fromHost !== toHost;
      if (x.hash === y.hash && !moved) continue;
      const fields = x.hash === y.hash ? [] : fieldChanges(x, y);
      let c = classify(kind, fields);
      if (moved) c = { action: 'replace', reason: `moves from host ${fromHost} to ${toHost}` };
      if (fields.length === 0 && !moved) continue;
      changes.push({ kind, id, action: c.action, fields, ...hosts, ...(c.reason ? { reason: c.reason } : {}) });
    }
  }
  const summary = { create: 0, update: 0, replace: 0, delete: 0 };
  for (const c of changes) summary[c.action === 'reboot' ? 'update' : c.action]++;
  const steps: PlanStep[] = [];
  for (const kind of [...APPLY_ORDER].reverse()) {
    for (const c of changes) if (c.kind === kind && (c.action === 'delete' || c.action === 'replace')) steps.push({ kind, id: c.id, action: 'delete' });
  }
  for (const kind of APPLY_ORDER) {
    for (const c of changes) {
      if (c.kind !== kind || c.action === 'delete') continue;
      steps.push({ kind, id: c.id, action: c.action === 'create' || c.action === 'replace' ? 'create' : 'update' });
    }
  }
  return { changes, steps, summary };
}

function show(v: unknown): string {
  if (v === undefined) return '(none)';
  const s = typeof v === 'string' ? JSON.stringify(v) : canonicalJson(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

const SIGN: Record<Action, string> = { create: '+', update: '~', reboot: '~', replace: '-/+', delete: '-' };

/** Human plan text, one block per change, ending with the summary line. */
export function formatPlan(plan: Plan): string {
  const lines: string[] = [];
  for (const c of plan.changes) {
    let head = `${SIGN[c.action].padStart(3)} ${SINGULAR[c.kind]} ${c.id}`;
    if (c.action === 'create' && c.toHost) head += ` on ${c.toHost}`;
    if (c.action === 'delete' && c.fromHost) head += ` from ${c.fromHost}`;
    if (c.action === 'reboot') head += ` (update with reboot: ${c.reason})`;
    if (c.action === 'replace') head += ` (replace: ${c.reason})`;
    if (c.unschedulable) head += ` (unschedulable: ${c.unschedulable})`;
    lines.push(head);
    for (const f of c.fields) lines.push(`        ${f.field}: ${show(f.from)} -> ${show(f.to)}`);
  }
  if (plan.changes.length === 0) lines.push('No changes.');
  const s = plan.summary;
  lines.push(`Plan: ${s.create} to create, ${s.update} to update, ${s.replace} to replace, ${s.delete} to delete.`);
  return lines.join('\n') + '\n';
}
