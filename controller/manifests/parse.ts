/**
 * Turns the text of one YAML file into typed manifests: YAML syntax (with positions from a
 * LineCounter; plainly written files through the fast plain-yaml.ts, the rest and every file
 * with a syntax problem through the `yaml` package), then per document the kind, the schema (walk.ts) and the checks that relate
 * fields of one document (document-checks.ts). A document that fails is left out and its
 * identity (kind, project, name) is returned as `broken`, so references to it do not cause
 * a second, misleading "not found" error.
 */
import { isMap, isPair, isScalar, LineCounter, parseAllDocuments, type Node as YamlNode } from 'yaml';
import { checkDocument } from './document-checks.js';
import { parsePlainYaml } from './plain-yaml.js';
import type { Reporter } from './reporter.js';
import { DEFAULT_QUOTAS, DOCUMENT_SCHEMAS } from './schema.js';
import { KINDS, type Kind, type Manifest, type SourceRef } from './types.js';
import { walk } from './walk.js';
import { Positions } from './positions.js';

/** YAML errors reported per document; the rest are counted (a broken file can yield thousands). */
export const MAX_YAML_ERRORS_PER_DOCUMENT = 10;

export interface BrokenRef { kind: Kind; name: string; project?: string }

export interface ParsedFile {
  manifests: Manifest[];
  broken: BrokenRef[];
}

/** Parses `text` (already checked to be UTF-8 without NUL) of `file`; problems go to `reporter`. */
export function parseManifestFile(file: string, text: string, reporter: Reporter): ParsedFile {
  const lineCounter = new LineCounter();
  reporter.setLines(file, lineCounter);
  const out: ParsedFile = { manifests: [], broken: [] };
  const plain = parsePlainYaml(text);
  let list: Array<{ errors: YamlProblem[]; warnings: YamlProblem[]; contents: unknown }>;
  if (plain) {
    lineCounter.lineStarts = plain.lineStarts; // (not push(...): a file may have 500,000 lines)
    // The fast parser's nodes carry the yaml package's node-type symbols (see plain-yaml.ts).
    list = plain.docs.map((contents) => ({ errors: NO_PROBLEMS, warnings: NO_PROBLEMS, contents }));
  } else {
    const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, version: '1.2', strict: true });
    list = Array.isArray(docs) ? docs : [];
  }
  list.forEach((doc, index) => {
    if (doc.errors.length > 0 || doc.warnings.length > 0) {
      const all = [...doc.errors, ...doc.warnings];
      for (const e of all.slice(0, MAX_YAML_ERRORS_PER_DOCUMENT)) {
        reporter.atOffset(file, e.pos[0], '', `YAML: ${firstLine(e.message)}`);
      }
      if (all.length > MAX_YAML_ERRORS_PER_DOCUMENT) {
        const last = all[MAX_YAML_ERRORS_PER_DOCUMENT]!;
        reporter.atOffset(file, last.pos[0], '', `YAML: ${all.length - MAX_YAML_ERRORS_PER_DOCUMENT} more errors in this document`);
      }
      return;
    }
    const root = doc.contents as YamlNode | null;
    if (root === null || (isScalar(root) && root.value === null)) return; // empty document (`---` alone, comments)
    const pos = new Positions();
    const src: SourceRef = { file, doc: index, pos };
    const rootOffset = root.range?.[0] ?? 0;
    pos.set('', rootOffset);
    if (!isMap(root)) {
      reporter.atOffset(file, rootOffset, '', 'a manifest must be a mapping with apiVersion, kind, metadata and spec');
      return;
    }
    const kindNode = mapValue(root, 'kind');
    const kind = isScalar(kindNode) ? kindNode.value : undefined;
    if (kindNode === undefined) {
      reporter.atOffset(file, rootOffset, 'kind', `missing required field "kind" (one of ${KINDS.join(', ')})`);
      return;
    }
    if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) {
      reporter.atOffset(file, kindNode.range?.[0] ?? rootOffset, 'kind',
        `unknown kind ${JSON.stringify(kind)} (expected one of ${KINDS.join(', ')})`);
      return;
    }
    const k = kind as Kind;
    let failed = false;
    const value = walk(root, DOCUMENT_SCHEMAS[k], '', rootOffset, {
      pos,
      report: (field, offset, message, fatal = true) => { failed ||= fatal; reporter.atOffset(file, offset, field, message); },
    }) as Record<string, any> | undefined;
    const identity = brokenIdentity(k, root);
    if (failed || value === undefined) {
      if (identity) out.broken.push(identity);
      return;
    }
    const meta = value.metadata as { name: string; project?: string; labels?: Record<string, string> };
    const spec = value.spec ?? {};
    if (k === 'Project') spec.quotas = { ...DEFAULT_QUOTAS, ...(spec.quotas ?? {}) };
    if (k === 'Instance') {
      spec.networks ??= [];
      spec.volumes ??= [];
      spec.sshAuthorizedKeys ??= [];
      spec.placement ??= {};
    }
    const manifest = { kind: k, name: meta.name, project: meta.project, labels: meta.labels ?? {}, spec, src } as Manifest;
    if (manifest.project === undefined) delete manifest.project;
    if (!checkDocument(manifest, reporter)) {
      if (identity) out.broken.push(identity);
      return;
    }
    pos.compact();
    out.manifests.push(manifest);
  });
  return out;
}

interface YamlProblem { pos: [number, number]; message: string }
const NO_PROBLEMS: YamlProblem[] = [];

/** The value node of `key` in a mapping (works on both parsers' nodes, unlike YAMLMap.get). */
function mapValue(map: { items: unknown[] }, key: string): YamlNode | undefined {
  for (const p of map.items) {
    if (isPair(p) && isScalar(p.key) && p.key.value === key) return (p.value ?? undefined) as YamlNode | undefined;
  }
  return undefined;
}

function firstLine(s: string): string {
  const nl = s.indexOf('\n');
  return (nl < 0 ? s : s.slice(0, nl)).trim();
}

/** kind/project/name of a document whose schema failed, when its metadata is readable. */
function brokenIdentity(kind: Kind, root: YamlNode): BrokenRef | undefined {
  if (!isMap(root)) return undefined;
  const meta = mapValue(root, 'metadata');
  if (!isMap(meta)) return undefined;
  const nameNode = mapValue(meta, 'name');
  const projectNode = mapValue(meta, 'project');
  const name = isScalar(nameNode) ? nameNode.value : undefined;
  const project = isScalar(projectNode) ? projectNode.value : undefined;
  if (typeof name !== 'string') return undefined;
  return typeof project === 'string' ? { kind, name, project } : { kind, name };
}
