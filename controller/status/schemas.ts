/**
 * JSON schemas of every status API route: they validate query strings and serialise replies
 * (fastify's fast-json-stringify), and openapi.ts turns them into the OpenAPI document.
 */

const str = { type: 'string' } as const;
const nstr = { type: ['string', 'null'] } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const bool = { type: 'boolean' } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;
const strMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
const numMap = { type: 'object', additionalProperties: { type: 'number' } } as const;

export const conditionSchema = {
  type: 'object',
  properties: { type: str, status: str, reason: str, message: str, observedRevision: str, lastTransitionTime: str },
} as const;

export const eventSchema = {
  type: 'object',
  properties: {
    key: str, time: str, source: str, host: str, resourceKind: str, resource: str, action: str, reason: str, message: str, result: str, revision: str,
  },
} as const;

const freshness = {
  stale: { ...bool, description: 'true when part of the data comes from an earlier read because the store could not be read now' },
  ageSeconds: { type: ['number', 'null'], description: 'seconds since the oldest read the data comes from' },
  readAt: { ...nstr, description: 'time of the oldest read the data comes from' },
} as const;

export function listOf(item: object) {
  return {
    type: 'object',
    properties: { items: { type: 'array', items: item }, next: { ...nstr, description: 'continuation token for the next page, null on the last page' }, ...freshness },
  } as const;
}

export function one(item: object) {
  return { type: 'object', properties: { item, ...freshness } } as const;
}

export const errorSchema = {
  type: 'object', properties: { statusCode: int, error: str, message: str },
} as const;

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    continue: { ...str, description: 'the `next` token of the previous page' },
    project: str,
    label: { ...str, description: 'key=value, several separated by commas (all must match)' },
    state: { ...str, description: 'resource state (ACTIVE, BUILD, ERROR…), summary (Ready, Degraded…), host health (up, stale, down) or revision status' },
  },
} as const;

export const hostSchema = {
  type: 'object',
  properties: {
    name: str, zone: str, health: str, heartbeat: nstr, heartbeatAgeSeconds: { type: ['integer', 'null'] },
    capacity: { type: 'object', properties: { vcpus: num, memoryMiB: num, diskGiB: num } },
    allocation: { type: 'object', properties: { vcpus: num, memoryMiB: num, diskGiB: num, instances: int } },
    appliedRevision: nstr, seenRevision: nstr, agentVersion: nstr, libvirtVersion: nstr, lastError: nstr, stale: bool,
  },
} as const;

export const resourceSchema = {
  type: 'object',
  properties: {
    id: str, kind: str, name: str, project: nstr, labels: strMap, state: str, summary: str,
    hosts: { type: 'array', items: str }, conditions: { type: 'array', items: conditionSchema },
    desired: { type: ['object', 'null'], additionalProperties: true }, observed: { type: 'object', additionalProperties: anyObject },
    events: { type: 'array', items: eventSchema }, stale: bool,
    host: nstr, ips: { type: 'array', items: { type: 'object', properties: { network: str, mac: str, ip: str } } }, flavor: nstr,
    status: str, sizeBytes: { type: ['integer', 'null'] }, sha256: str,
  },
} as const;

export const projectSchema = {
  type: 'object', properties: { name: str, quotas: numMap, usage: numMap },
} as const;

export const revisionSchema = {
  type: 'object',
  properties: {
    revision: str, ref: str, status: str, errors: { type: 'array', items: str }, summary: { type: 'array', items: str },
    checkedAt: str, appliedAt: nstr, current: bool, converged: { type: ['boolean', 'null'] }, convergedAt: nstr,
  },
} as const;

export const overviewSchema = {
  type: 'object',
  properties: {
    hosts: { type: 'object', properties: { total: int, up: int, stale: int, down: int } },
    instancesByState: numMap,
    instancesBySummary: numMap,
    revision: { type: ['object', 'null'], properties: { revision: str, time: str, converged: bool, convergedAt: nstr } },
    ...freshness,
  },
} as const;

export const healthSchema = {
  type: 'object',
  properties: {
    status: str,
    parts: { type: 'object', additionalProperties: { type: 'object', properties: { stale: bool, readAt: nstr, error: nstr } } },
  },
} as const;

export const usageQuery = {
  type: 'object', additionalProperties: false, required: ['project', 'from', 'to'],
  properties: { project: str, from: { ...str, description: 'ISO 8601 time (inclusive)' }, to: { ...str, description: 'ISO 8601 time (exclusive)' } },
} as const;

export const usageSchema = {
  type: 'object',
  properties: {
    project: str, from: str, to: str, instanceHoursByFlavor: numMap, instanceHours: num, vcpuHours: num, memoryGiBHours: num,
    volumeGiBHours: num, imageGiBHours: num, imageBytesMax: num, imageBytesAtEnd: num, records: int,
  },
} as const;

export const eventsQuery = {
  type: 'object', additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    continue: str, project: str, host: str, resource: str, kind: str,
    since: { ...str, description: 'ISO 8601: only events at or after this time' },
  },
} as const;

export const idParam = {
  type: 'object', properties: { '*': { ...str, description: 'resource id, `<project>/<name>` or `<name>`' } },
} as const;
export const nameParam = { type: 'object', properties: { name: str } } as const;
