/**
 * Generates the OpenAPI 3.0 document of the status API from the JSON schemas its routes were
 * registered with, so the document can never drift from what the server validates and sends.
 */

export interface RouteDoc {
  url: string;
  summary: string;
  schema: { querystring?: any; params?: any; response?: Record<string, any> };
  /** Media type of the 200 reply when not JSON. */
  produces?: string;
}

/** JSON Schema draft-7 `type: [x, 'null']` becomes OpenAPI 3.0 `nullable`. */
function toOpenApi(s: any): any {
  if (Array.isArray(s)) return s.map(toOpenApi);
  if (!s || typeof s !== 'object') return s;
  const out: any = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'type' && Array.isArray(v)) {
      const types = (v as string[]).filter((x) => x !== 'null');
      out.type = types[0];
      if (types.length < (v as string[]).length) out.nullable = true;
    } else if (k === 'properties' || k === 'additionalProperties' || k === 'items') {
      out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([p, ps]) => [p, toOpenApi(ps)])) : toOpenApi(v);
    } else out[k] = v;
  }
  return out;
}

function parameters(r: RouteDoc): any[] {
  const params: any[] = [];
  for (const [name, s] of Object.entries<any>(r.schema.params?.properties ?? {})) {
    params.push({ name: name === '*' ? 'id' : name, in: 'path', required: true, schema: toOpenApi(s), ...(s.description ? { description: s.description } : {}) });
  }
  const required: string[] = r.schema.querystring?.required ?? [];
  for (const [name, s] of Object.entries<any>(r.schema.querystring?.properties ?? {})) {
    params.push({ name, in: 'query', required: required.includes(name), schema: toOpenApi(s), ...(s.description ? { description: s.description } : {}) });
  }
  return params;
}

export function openApiDocument(routes: RouteDoc[], info: { title: string; version: string }): object {
  const paths: Record<string, any> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{id}');
    const responses: Record<string, any> = {};
    for (const [code, s] of Object.entries(r.schema.response ?? {})) {
      responses[code] = { description: code === '200' ? 'OK' : 'error', content: { 'application/json': { schema: toOpenApi(s) } } };
    }
    if (r.produces) responses['200'] = { description: 'OK', content: { [r.produces]: { schema: { type: 'string' } } } };
    responses['401'] ??= { description: 'missing or unknown read token' };
    responses['405'] ??= { description: 'only GET and HEAD are allowed' };
    paths[path] = { get: { summary: r.summary, parameters: parameters(r), responses, security: [{ bearer: [] }, {}] } };
  }
  return {
    openapi: '3.0.3',
    info: { ...info, description: 'Read-only status of a ringstack installation. Every method other than GET and HEAD answers 405; changes happen only through git push.' },
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A read token from statusTokens; a token scoped to a project sees only that project.' } } },
  };
}
