// openapi.yaml as the checks use it: the operations, matching a request to
// its operation the way duban's router does, and validating an answer
// (status, content type, body, headers) against what the contract says.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export const SOURCE_DIR = process.env.DUBAN_SOURCE_DIR || join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const SPEC_PATH = join(SOURCE_DIR, 'openapi.yaml');
export const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];
const SPEC_ID = 'https://duban.invalid/openapi.json';

export function loadSpec(path = SPEC_PATH) {
  return parse(readFileSync(path, 'utf8'), { uniqueKeys: true });
}

/* The object a local "#/a/b" reference points to. */
export function pointer(spec, ref) {
  if (!ref.startsWith('#/')) throw new Error(`only local references are supported: ${ref}`);
  return ref.slice(2).split('/').reduce((node, part) => {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node == null || !(key in node)) throw new Error(`unresolvable reference ${ref}`);
    return node[key];
  }, spec);
}

/* Follows $ref until a non-reference object. */
export function deref(spec, node) {
  let seen = 0;
  while (node && typeof node === 'object' && typeof node.$ref === 'string') {
    if (++seen > 20) throw new Error(`reference loop at ${node.$ref}`);
    node = pointer(spec, node.$ref);
  }
  return node;
}

/* Every operation: {method, path, op, params} with path-level and
 * operation-level parameters merged (the latter win). */
export function operations(spec) {
  const out = [];
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const params = new Map();
      for (const p of [...(item.parameters || []), ...(op.parameters || [])]) {
        const param = deref(spec, p);
        params.set(`${param.in}:${param.name}`, param);
      }
      out.push({ method: method.toUpperCase(), path, op, params: [...params.values()] });
    }
  }
  return out;
}

/* "/api/v1/tasks/:_id" and "/api/v1/tasks/{id}" both become "/api/v1/tasks/{}". */
export function normalisePattern(pattern) {
  return pattern.replace(/:[A-Za-z_][A-Za-z0-9_]*/g, '{}').replace(/\{[^}/]*\}/g, '{}');
}

function segments(path) {
  return path.split('/').filter((s) => s.length > 0);
}

/* The router's rule: a "{x}" segment stands for any one non-empty segment;
 * empty segments ("//", a trailing "/") are ignored. */
export function pathMatches(template, path) {
  const t = segments(template), p = segments(path);
  return t.length === p.length && t.every((s, i) => (s.startsWith('{') && s.endsWith('}')) || s === p[i]);
}

/* What a request meets: {kind: 'operation', op…}, {kind: 'method'} when the
 * path is served with other methods (405, or 204 for OPTIONS), or
 * {kind: 'path'} when no operation has the path (404). HEAD is GET. */
export function route(ops, method, rawPath) {
  const path = rawPath.split('?')[0];
  const want = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  const candidates = ops.filter((o) => pathMatches(o.path, path));
  if (candidates.length === 0) return { kind: 'path' };
  // Literal segments win over templated ones, as in the server.
  const literal = (o) => segments(o.path).filter((s) => !s.startsWith('{')).length;
  const found = candidates.filter((o) => o.method === want).sort((a, b) => literal(b) - literal(a))[0];
  if (found) return { kind: 'operation', ...found };
  const allow = [...new Set(candidates.map((o) => o.method))];
  return { kind: 'method', allow };
}

/* Replaces local references with references into the registered document,
 * so that a schema taken out of the document compiles on its own. */
function anchored(node) {
  if (Array.isArray(node)) return node.map(anchored);
  if (node && typeof node === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(node)) out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? SPEC_ID + v : anchored(v);
    return out;
  }
  return node;
}

export function mediaType(contentType) {
  return (contentType || '').split(';')[0].trim().toLowerCase();
}

function isJson(media) {
  return media === 'application/json' || media.endsWith('+json');
}

export class Contract {
  constructor(spec = loadSpec()) {
    this.spec = spec;
    this.ops = operations(spec);
    this.ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictTuples: false, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addFormat('int64', { type: 'number', validate: (n) => Number.isInteger(n) });
    this.ajv.addVocabulary(['example', 'components', 'discriminator', 'xml', 'externalDocs']);
    this.ajv.addSchema({ $id: SPEC_ID, components: { schemas: anchored(spec.components?.schemas || {}) } });
    this.compiled = new Map();
  }

  validator(schema, key) {
    if (!this.compiled.has(key)) this.compiled.set(key, this.ajv.compile(anchored(schema)));
    return this.compiled.get(key);
  }

  /* The response object documented for status (exact code, then "4XX", then default). */
  documented(responses, status) {
    const code = String(status);
    const entry = responses?.[code] ?? responses?.[`${code[0]}XX`] ?? responses?.default;
    return entry ? deref(this.spec, entry) : null;
  }

  /* The responses that apply to a request that met no operation. */
  unroutedResponses() {
    return this.spec['x-unrouted']?.responses || {};
  }

  /* Checks one exchange; returns a list of problems (empty when it conforms).
   * x = {method, path, status, content_type, body (text), headers? (lowercased names)} */
  check(x) {
    const problems = [];
    const where = route(this.ops, x.method, x.path);
    let responses, label;
    if (where.kind === 'operation') {
      responses = where.op.responses;
      label = `${where.method} ${where.path}`;
    } else {
      responses = this.unroutedResponses();
      label = where.kind === 'path' ? 'a path no operation serves' : `a path served only with ${where.allow.join(', ')}`;
      // 204, 404 and 405 each answer one kind of unrouted request; the guard's
      // answers (401, 403, 429) belong to /api/v1 only.
      const expected = where.kind === 'path' ? 404 : x.method.toUpperCase() === 'OPTIONS' ? 204 : 405;
      if ([204, 404, 405].includes(x.status) && x.status !== expected) problems.push(`expected ${expected} for ${label}, got ${x.status}`);
      if ([401, 403, 429].includes(x.status) && !/^\/api\/v1(\/|$)/.test(x.path)) problems.push(`${x.status} outside /api/v1, for ${label}`);
    }
    const response = this.documented(responses, x.status);
    if (!response) {
      problems.push(`status ${x.status} is not documented for ${label}`);
      return problems;
    }
    const key = `${label}|${x.status}`;
    const head = x.method.toUpperCase() === 'HEAD';
    const content = response.content || {};
    const media = mediaType(x.content_type);
    if (Object.keys(content).length === 0) {
      if (x.body && x.body.length > 0) problems.push(`status ${x.status} of ${label} is documented without a body, but one came (${media || 'no type'})`);
    } else if (!head) {
      const documentedTypes = Object.keys(content);
      const chosen = documentedTypes.find((t) => mediaType(t) === media);
      if (!chosen) {
        problems.push(`content type '${x.content_type}' is not documented for ${x.status} of ${label} (documented: ${documentedTypes.join(', ')})`);
      } else if (content[chosen].schema && isJson(media)) {
        let body;
        try {
          body = JSON.parse(x.body);
        } catch (e) {
          problems.push(`body of ${x.status} is not JSON: ${e.message}`);
        }
        if (body !== undefined) {
          const validate = this.validator(content[chosen].schema, `${key}|${chosen}`);
          if (!validate(body)) {
            for (const e of validate.errors.slice(0, 8))
              problems.push(`body${e.instancePath || ''} ${e.message}${e.params && Object.keys(e.params).length ? ' ' + JSON.stringify(e.params) : ''}`);
          }
          if (media === 'application/problem+json' && body && body.status !== x.status)
            problems.push(`problem status ${body.status} differs from the HTTP status ${x.status}`);
        }
      } else if (content[chosen].schema && content[chosen].schema.type === 'string' && typeof x.body !== 'string') {
        problems.push(`body of ${x.status} is not text`);
      }
    }
    if (x.headers) problems.push(...this.checkHeaders(response, x, label));
    return problems;
  }

  checkHeaders(response, x, label) {
    const problems = [];
    for (const [name, h] of Object.entries(response.headers || {})) {
      const header = deref(this.spec, h);
      const value = x.headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) problems.push(`header ${name} is required on ${x.status} of ${label} but missing`);
        continue;
      }
      if (!header.schema) continue;
      const schema = deref(this.spec, header.schema);
      const typed = schema.type === 'integer' && /^-?[0-9]+$/.test(value) ? Number(value) : value;
      const validate = this.validator(header.schema, `header|${name}|${JSON.stringify(header.schema)}`);
      if (!validate(typed)) problems.push(`header ${name}: '${value}' ${validate.errors.map((e) => e.message).join('; ')}`);
    }
    return problems;
  }
}
