// Property-based requests against a running duban: for every operation of
// openapi.yaml, fast-check (fixed seed) generates valid and invalid path
// ids, query parameters, headers and bodies, and every answer must be
// documented: no 5xx, a status the operation lists, a body matching the
// schema of that status, the required headers, and every 4xx an
// application/problem+json problem. Then the roles: a token whose role an
// operation's x-roles leaves out gets 403, one it lists never gets the
// guard's 403. Then requests to paths and methods no operation has.
//   CONTRACT_SEED (default 20181204) and CONTRACT_RUNS (per operation,
//   default 80) change the run.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Contract, SOURCE_DIR, deref, mediaType } from './lib/spec.mjs';
import { Duban } from './lib/server.mjs';

const SEED = Number(process.env.CONTRACT_SEED || 20181204);
const RUNS = Number(process.env.CONTRACT_RUNS || 80);
const contract = new Contract();
const spec = contract.spec;

// ---- words from the seed plan (青西新办发〔2018〕21号) ----------------------
const SEED_TEXT = readFileSync(join(SOURCE_DIR, 'seed', 'plan-2018.txt'), 'utf8');
const SEED_LINES = SEED_TEXT.split('\n').map((l) => l.trim()).filter(Boolean);
const PHRASES = ['区扶贫办', '李金国', '解宏劲', '摸清摸实精准脱贫底数', '突出重点人群、重点区域', '建立稳定脱贫长效机制',
  '区民政局', '区人社局', '各镇街（管区）', '2018年底前', '每季度', '青西新办发〔2018〕21号', '工作进展顺利', '存在问题：资金到位慢'];
const CHARS = [...'扶贫办区镇街精准脱贫责任单位领导牵头配合一二三（）、。，“”abcXYZ019 -_./\'"\\%&<>?\t', '😀', '\u0000'];

const text = (min = 0, max = 60) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...PHRASES.filter((p) => [...p].length >= min && [...p].length <= max).concat(min === 0 ? [''] : [])) },
    { weight: 2, arbitrary: fc.array(fc.constantFrom(...CHARS), { minLength: min, maxLength: Math.max(min, Math.min(max, min + 24)) }).map((a) => a.join('')) },
  ).filter((s) => [...s].length >= min && [...s].length <= max);

const date = fc.oneof(
  fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  fc.constantFrom('2018-12-04', '2020-12-31', '2020-02-29'),
);
// Reporting periods around the seed plan's years: months, quarters, ISO weeks.
const period = fc.tuple(fc.integer({ min: 2017, max: 2021 }), fc.constantFrom('month', 'quarter', 'week'), fc.integer({ min: 1, max: 53 }))
  .map(([y, kind, n]) => (kind === 'month' ? `${y}-${String(1 + (n % 12)).padStart(2, '0')}` : kind === 'quarter' ? `${y}-Q${1 + (n % 4)}` : `${y}-W${String(n).padStart(2, '0')}`));
const dateTime = fc.date({ min: new Date('2018-01-01T00:00:00Z'), max: new Date('2030-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());

// ---- the rows the requests aim at ----------------------------------------
const pools = { plan: [], task: [], unit: [], leader: [], progress: [], token: [], closure: [], urge: [] };
let adminTokenId = 0;

function poolFor(name) {
  if (/^(plan_id)$/.test(name)) return pools.plan;
  if (/^(parent_id|task_id)$/.test(name)) return pools.task;
  if (/^(unit_id|unit_ids|from)$/.test(name)) return pools.unit;
  if (/^(leader_id|leader_ids)$/.test(name)) return pools.leader;
  return null;
}

function idValue(name) {
  const pool = poolFor(name);
  return fc.oneof(
    { weight: pool && pool.length ? 8 : 0, arbitrary: pool && pool.length ? fc.constantFrom(...pool) : fc.constant(1) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 1000000 }) },
  );
}

// ---- values from schemas -------------------------------------------------
function valueFor(schema, name = '') {
  schema = deref(spec, schema);
  if (!schema || Object.keys(schema).length === 0) return fc.jsonValue({ maxDepth: 1 });
  if ('const' in schema) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.oneOf || schema.anyOf) {
    const choices = (schema.oneOf || schema.anyOf).filter((s) => !(Object.keys(s).length === 1 && s.required));
    if (choices.length) return fc.oneof(...choices.map((s) => valueFor(s, name)));
  }
  if (schema.allOf) return valueFor(schema.allOf[0], name);
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((t) => valueFor({ ...schema, type: t }, name)));
  switch (schema.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      if (/(_id|^id|^from)$/.test(name)) return idValue(name);
      return fc.integer({ min: Math.max(schema.minimum ?? -1000, -1e9), max: Math.min(schema.maximum ?? 1e6, 1e9) });
    case 'string':
      if (schema.format === 'date') return date;
      if (schema.format === 'date-time') return dateTime;
      if (schema.pattern && name === 'sort') return sortValue(schema.pattern);
      if (schema.pattern && name === 'period') return period;
      return text(schema.minLength ?? 0, Math.min(schema.maxLength ?? 80, 80));
    case 'array': {
      const items = schema.items ? valueFor(schema.items, name) : fc.jsonValue({ maxDepth: 0 });
      const opts = { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 4, 4) };
      return schema.uniqueItems ? fc.uniqueArray(items, { ...opts, selector: (v) => JSON.stringify(v) }) : fc.array(items, opts);
    }
    case 'object':
      return objectFor(schema);
    default:
      return fc.jsonValue({ maxDepth: 1 });
  }
}

/* A valid object; read-only members sometimes added (the server ignores them). */
function objectFor(schema) {
  const props = Object.entries(schema.properties || {});
  const writable = Object.fromEntries(props.filter(([, s]) => !s.readOnly).map(([k, s]) => [k, valueFor(s, k)]));
  const readOnly = props.filter(([, s]) => s.readOnly).map(([k]) => k);
  let arb = fc.record(writable, { requiredKeys: (schema.required || []).filter((k) => k in writable) });
  if (readOnly.length)
    arb = fc.tuple(arb, fc.subarray(readOnly, { maxLength: 2 }), fc.jsonValue({ maxDepth: 1 })).map(([o, keys, v]) => {
      for (const k of keys) o[k] = v;
      return o;
    });
  const alternatives = (schema.anyOf || []).filter((s) => s.required);
  if (alternatives.length) arb = arb.filter((o) => alternatives.some((s) => s.required.every((k) => o[k] != null)));
  return arb;
}

/* A value of a sort parameter from the names its pattern allows. */
function sortValue(pattern) {
  const names = (pattern.match(/\(([a-z_|]+)\)/) || [, 'id'])[1].split('|');
  return fc.uniqueArray(fc.tuple(fc.boolean(), fc.constantFrom(...names)), { minLength: 1, maxLength: 3, selector: ([, n]) => n })
    .map((keys) => keys.map(([desc, n]) => (desc ? '-' : '') + n).join(','));
}

function queryText(v) {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

const BAD_QUERY = fc.constantFrom('', 'abc', '-5', '0', '501', '1000000000000', '1.5', 'true', 'null', '2018-02-30',
  '2018-13-01', '中文', '%', ',', '-', 'id,,', 'x'.repeat(300), 'not_a_value');

// ---- requests --------------------------------------------------------------
function pathIds(path) {
  if (path.startsWith('/api/v1/plans/')) return pools.plan;
  if (path.startsWith('/api/v1/tasks/')) return pools.task;
  if (path.startsWith('/api/v1/units/')) return pools.unit;
  if (path.startsWith('/api/v1/leaders/')) return pools.leader;
  if (path.startsWith('/api/v1/progress-logs/')) return pools.progress;
  if (path.startsWith('/api/v1/tokens/')) return pools.token;
  if (path.startsWith('/api/v1/closure-requests/')) return pools.closure;
  if (path.startsWith('/api/v1/urges/')) return pools.urge;
  return [];
}

const BAD_IDS = ['0', '-1', 'abc', '1.5', '007', '99999999999999999999', '9223372036854775808', '1e3', '%20', '%E4%B8%AD', '+1'];

function idSegment(o, valid) {
  const pool = pathIds(o.path);
  // Never the admin token of this run: revoking it would end the run.
  const safe = (n) => !(o.path.startsWith('/api/v1/tokens/') && n === adminTokenId);
  const good = fc.oneof(
    { weight: pool.length ? 6 : 0, arbitrary: pool.length ? fc.constantFrom(...pool).map(String) : fc.constant('1') },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 1000000 }).filter(safe).map(String) },
  );
  return valid ? good : fc.oneof(good, fc.constantFrom(...BAD_IDS));
}

function queryFor(o, valid) {
  const params = o.params.filter((p) => p.in === 'query');
  const entries = params.map((p) => {
    const good = valueFor(p.schema, p.name).map(queryText);
    const value = valid ? good : fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: BAD_QUERY });
    // A valid request has every required parameter.
    if (valid && p.required) return value.map((v) => [p.name, v]);
    return fc.option(value.map((v) => [p.name, v]), { freq: valid ? 1 : 2 });
  });
  const unknown = valid ? fc.constant(null)
    : fc.option(fc.tuple(fc.constantFrom('foo', 'LIMIT', 'limit[]', 'id', '中', 'offset2'), fc.constantFrom('1', 'x')), { freq: 2 });
  return fc.tuple(fc.tuple(...entries), unknown).map(([chosen, extra]) => {
    const q = new URLSearchParams();
    for (const e of chosen) if (e) q.append(e[0], e[1]);
    if (extra) q.append(extra[0], extra[1]);
    const s = q.toString();
    return s ? '?' + s : '';
  });
}

/* 1 when the operation answers 200 in more than one media type (then Accept chooses). */
function alternatives(o) {
  const ok = o.op.responses?.['200'] && deref(spec, o.op.responses['200']);
  return Object.keys(ok?.content || {}).length > 1;
}

function headerFor(o, valid) {
  const names = new Set(o.params.filter((p) => p.in === 'header').map((p) => p.name));
  const pick = (name, good, bad) => (names.has(name) ? fc.option(valid ? good : fc.oneof(good, bad), { freq: 2 }) : fc.constant(null));
  return fc.record({
    auth: valid ? fc.constant('valid') : fc.oneof(
      { weight: 4, arbitrary: fc.constant('valid') },
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constantFrom('Bearer nope', 'Basic YWRtaW46YWRtaW4=', 'Bearer dbn_' + 'A'.repeat(43), 'bearer', 'Bearer ' + 'x'.repeat(200)) },
    ),
    ifMatch: pick('If-Match', fc.constantFrom('*', '"1"', '"2"', 'W/"1"', '"999"'), fc.constantFrom('garbage', '"0"', '1', '"1", "2"', '"abc"')),
    ifNoneMatch: pick('If-None-Match', fc.constantFrom('*', '"1"', '"2"', 'W/"1"', '"1", "2"'), fc.constantFrom('garbage', '""')),
    idemKey: pick('Idempotency-Key', fc.oneof(fc.uuid(), fc.constant('same-key-every-time')), fc.constantFrom('', 'k'.repeat(201))),
    accept: alternatives(o) ? fc.option(valid ? fc.constantFrom('text/plain', 'text/csv', '*/*', 'text/*', 'text/csv, text/plain;q=0.5')
      : fc.constantFrom('text/csv', 'application/json', 'image/png'), { freq: 2 }) : fc.constant(null),
    requestId: fc.option(valid ? fc.constantFrom('req-20181204-001', 'a.b_c-d') : fc.constantFrom('bad id', 'x'.repeat(65), 'req-1'), { freq: 4 }),
  });
}

const HUGE = '{"title":"' + '扶'.repeat(400000) + '"}';  // over the 1 MiB limit

/* A JSON body (valid, or broken in one of many ways) for a JSON operation. */
function jsonBodyFor(schema, types, valid) {
  const good = valueFor(schema);
  const fields = Object.keys(deref(spec, schema).properties || {});
  const goodType = fc.constantFrom(...types);
  if (valid) return fc.tuple(good.map((v) => JSON.stringify(v)), fc.oneof(goodType, fc.constant('application/json; charset=utf-8')));
  const mutated = fc.oneof(
    good.chain((v) => fc.constantFrom('x_unknown', 'Title', 'id2').map((k) => JSON.stringify({ ...v, [k]: 1 }))),
    fields.length
      ? fc.tuple(good, fc.constantFrom(...fields), fc.constantFrom({}, [], 12.5, 'text', true, -1, 1e12, 'x'.repeat(20001), [0], ['a', 'a']))
        .map(([v, k, bad]) => JSON.stringify({ ...v, [k]: bad }))
      : fc.constant('{}'),
    fc.constantFrom('[]', '42', '"x"', 'null', 'true', '{', '{"a":}', '', ' ', '{"title":"a","title":"b"}',
      '{"percent": 1e400}', '{"percent": 99999999999999999999999}', '{"unit_id": 4294967297}', '{"name": "\\ud800"}',
      '{"title": "x"} trailing'),
    fc.constant(Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(mutated, goodType) },
    { weight: 2, arbitrary: fc.tuple(good.map((v) => JSON.stringify(v)),
      fc.constantFrom('APPLICATION/JSON', 'text/plain', 'application/xml', 'application/x-www-form-urlencoded', null)) },
    { weight: 1, arbitrary: fc.tuple(fc.constant(HUGE), goodType) },
  );
}

/* A text body for the plan import: the seed plan, pieces of it, or noise. */
function textBody(types, valid) {
  const piece = fc.tuple(fc.nat(SEED_LINES.length - 1), fc.integer({ min: 1, max: 40 }))
    .map(([from, n]) => SEED_LINES.slice(from, from + n).join('\n'));
  const body = fc.oneof(
    { weight: 1, arbitrary: fc.constant(SEED_TEXT) },
    { weight: 4, arbitrary: piece },
    { weight: valid ? 0 : 2, arbitrary: text(0, 200) },
    { weight: valid ? 0 : 1, arbitrary: fc.constant('') },
  );
  const contentType = valid ? fc.constantFrom(...types) : fc.oneof(fc.constantFrom(...types), fc.constantFrom('application/json', 'text/html', null));
  return fc.tuple(body, contentType);
}

function bodyFor(o, valid) {
  const rb = o.op.requestBody && deref(spec, o.op.requestBody);
  if (!rb) return valid ? fc.constant(null) : fc.option(fc.tuple(fc.constantFrom('{}', 'x'), fc.constant('application/json')), { freq: 3 });
  const types = Object.keys(rb.content);
  const jsonType = types.find((t) => t.endsWith('json'));
  if (jsonType) return jsonBodyFor(rb.content[jsonType].schema, types, valid);
  return textBody(types, valid);
}

/* Mostly requests the contract calls valid; the rest break one rule or more. */
function requestFor(o) {
  return fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 2, arbitrary: fc.constant(false) }).chain((valid) =>
    fc.record({
      valid: fc.constant(valid),
      id: o.path.includes('{') ? idSegment(o, valid) : fc.constant(null),
      query: queryFor(o, valid),
      headers: headerFor(o, valid),
      body: bodyFor(o, valid),
      head: o.method === 'GET' ? fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) : fc.constant(false),
    }));
}

// ---- running -------------------------------------------------------------
const stats = new Map();
function tally(key, status) {
  if (!stats.has(key)) stats.set(key, new Map());
  const m = stats.get(key);
  m.set(status, (m.get(status) || 0) + 1);
}

function describe(method, path, headers, body) {
  const shownBody = body === undefined ? '' : ` body=${Buffer.isBuffer(body) ? '<bytes ' + body.toString('hex').slice(0, 40) + '>' : JSON.stringify(String(body).slice(0, 200))}`;
  return `${method} ${path} headers=${JSON.stringify(headers)}${shownBody}`;
}

/* Sends one request and returns the problems with its answer. */
async function exchange(duban, key, method, path, headers, body) {
  const r = await duban.request(method, path, { headers, body });
  tally(key, r.status);
  const problems = contract.check({ method, path, status: r.status, content_type: r.content_type, body: r.body, headers: r.headers });
  if (r.status >= 500) problems.unshift(`answered ${r.status}`);
  if (r.status >= 400 && mediaType(r.content_type) !== 'application/problem+json')
    problems.unshift(`a ${r.status} must be application/problem+json, came as '${r.content_type}'`);
  return { r, problems };
}

async function checkOperation(duban, o, index) {
  const key = `${o.method} ${o.path}`;
  const property = fc.asyncProperty(requestFor(o), async (req) => {
    const path = o.path.replace(/\{[^}]+\}/, req.id ?? '') + req.query;
    const headers = {};
    if (req.headers.auth === 'valid') headers.Authorization = 'Bearer ' + duban.token;
    else headers.Authorization = req.headers.auth ?? undefined;
    if (req.headers.ifMatch != null) headers['If-Match'] = req.headers.ifMatch;
    if (req.headers.ifNoneMatch != null) headers['If-None-Match'] = req.headers.ifNoneMatch;
    if (req.headers.idemKey != null) headers['Idempotency-Key'] = req.headers.idemKey;
    if (req.headers.requestId != null) headers['X-Request-Id'] = req.headers.requestId;
    if (req.headers.accept != null) headers.Accept = req.headers.accept;
    let body;
    if (req.body) {
      [body] = req.body;
      if (req.body[1]) headers['Content-Type'] = req.body[1];
    }
    const method = req.head ? 'HEAD' : o.method;
    if (method === 'HEAD') body = undefined;
    const { r, problems } = await exchange(duban, key, method, path, headers, body);
    if (problems.length)
      throw new Error(`${describe(method, path, headers, body)}\n  → ${r.status} ${r.content_type} ${r.body.slice(0, 300)}\n  - ${problems.join('\n  - ')}`);
  });
  await fc.assert(property, { seed: SEED + index, numRuns: RUNS, endOnFailure: true, includeErrorInReport: true });
}

async function setUp(duban) {
  const post = async (path, value) => {
    const r = await duban.json('POST', path, value);
    if (r.status !== 201) throw new Error(`set-up ${path}: ${r.status} ${r.body}`);
    return r.json.id;
  };
  pools.plan.push(await post('/api/v1/plans', { title: '《关于打赢脱贫攻坚战三年行动的意见》责任分解方案', doc_number: '青西新办发〔2018〕21号', issued_on: '2018-12-04' }));
  pools.plan.push(await post('/api/v1/plans', { title: '第二个方案' }));
  for (const name of ['区扶贫办', '区民政局', '区人社局', '各镇街（管区）']) pools.unit.push(await post('/api/v1/units', { name }));
  for (const name of ['解宏劲', '李金国']) pools.leader.push(await post('/api/v1/leaders', { name }));
  const section = await post('/api/v1/tasks', { plan_id: pools.plan[0], outline: '一', title: '巩固提升贫困人口稳定脱贫成果' });
  const sub = await post('/api/v1/tasks', { plan_id: pools.plan[0], parent_id: section, outline: '（一）', title: '坚持把提高脱贫质量放在首位' });
  const task = await post('/api/v1/tasks', {
    plan_id: pools.plan[0], parent_id: sub, outline: '1.', title: '摸清摸实精准脱贫底数', due_on: '2020-12-31',
    leader_ids: pools.leader, unit_ids: pools.unit.slice(0, 3),
  });
  const other = await post('/api/v1/tasks', { plan_id: pools.plan[1], title: '突出重点人群、重点区域', unit_ids: [pools.unit[0]] });
  pools.task.push(section, sub, task, other);
  pools.progress.push(await post(`/api/v1/tasks/${task}/progress-logs`, { unit_id: pools.unit[0], percent: 40, summary: '已完成建档立卡数据核准清洗' }));
  // The supervision loop: a signature, a closure request waiting for a decision, an urge waiting for a reply.
  await post(`/api/v1/tasks/${task}/acknowledgements`, { unit_id: pools.unit[1] });
  pools.closure.push(await post(`/api/v1/tasks/${task}/closure-requests`, { unit_id: pools.unit[0], summary: '建档立卡数据已全面核准' }));
  pools.urge.push(await post(`/api/v1/tasks/${task}/urges`, { unit_id: pools.unit[1], message: '请报送配合工作进展', reply_by: '2019-01-10' }));
  const me = await duban.request('GET', '/api/v1/tokens?limit=500');
  adminTokenId = JSON.parse(me.body).items.find((t) => t.name === 'prop').id;
  pools.token.push(await post('/api/v1/tokens', { name: '督查室', role: 'reader' }));
}

/* x-roles is what the guard enforces: a role left out gets 403; a role
 * listed never gets the guard's 403 (the model may still refuse a reporter
 * acting for another unit, which these requests never do). */
async function checkRoles(duban, failures) {
  const tokens = {};
  for (const role of ['editor', 'reporter', 'reader'])
    tokens[role] = duban.command('token', 'create', '--role', role, '--name', `prop-${role}`, ...(role === 'reporter' ? ['--unit', String(pools.unit[0])] : [])).trim();
  let checked = 0;
  for (const o of contract.ops) {
    const roles = o.op['x-roles'] || [];
    if (!o.path.startsWith('/api/v1')) continue;
    for (const role of Object.keys(tokens)) {
      const path = o.path.replace(/\{[^}]+\}/, '999999');
      const headers = { Authorization: 'Bearer ' + tokens[role] };
      let body;
      if (o.op.requestBody) {
        const types = Object.keys(deref(spec, o.op.requestBody).content);
        headers['Content-Type'] = types[0];
        body = types[0].endsWith('json') ? '{}' : '';
      }
      const { r, problems } = await exchange(duban, `${o.method} ${o.path}`, o.method, path, headers, body);
      checked++;
      const guardRefused = r.status === 403 && /role does not allow/.test(r.body);
      if (!roles.includes(role) && r.status !== 403) problems.push(`x-roles leaves out ${role}, but it got ${r.status}, not 403`);
      if (roles.includes(role) && guardRefused) problems.push(`x-roles lists ${role}, but the guard refused it`);
      if (problems.length) failures.push(`roles: ${describe(o.method, path, { role }, body)}\n  → ${r.status} ${r.body.slice(0, 200)}\n  - ${problems.join('\n  - ')}`);
    }
  }
  console.log(`roles: ${checked} requests with editor, reporter and reader tokens`);
}

/* Requests that meet no operation: 404, 405 with Allow, or 204 for OPTIONS. */
async function checkUnrouted(duban) {
  const templates = contract.ops.map((o) => o.path);
  const paths = fc.oneof(
    // Ids that exist nowhere: a DELETE here must not revoke this run's token.
    fc.constantFrom(...templates).map((t) => t.replace(/\{[^}]+\}/, '999999')),
    fc.constantFrom('/', '/api', '/api/v1', '/api/v2/tasks', '/docs/missing.js', '/api/v1/tasks/1/2', '/healthz/x', '/api/v1/unknown', '/openapi.yml', '/api/v1/plans/1/tasks'),
  );
  const property = fc.asyncProperty(paths, fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'), async (path, method) => {
    const headers = { Authorization: 'Bearer ' + duban.token };
    const { r, problems } = await exchange(duban, '(unrouted)', method, path, headers, undefined);
    if (problems.length) throw new Error(`${method} ${path}\n  → ${r.status} ${r.body.slice(0, 200)}\n  - ${problems.join('\n  - ')}`);
  });
  await fc.assert(property, { seed: SEED, numRuns: RUNS * 4, endOnFailure: true, includeErrorInReport: true });
}

const duban = await Duban.start({ DUBAN_RATE_LIMIT_PER_MIN: '0' });
const failures = [];
let exitCode = 0;
try {
  await setUp(duban);
  // Reads and creations first, then changes, then deletions and merges:
  // the rows the later ones remove are what the earlier ones aim at.
  const order = { GET: 0, POST: 1, PUT: 2, PATCH: 2, DELETE: 3 };
  const ops = contract.ops
    .map((o, index) => ({ o, index }))
    .sort((a, b) => (order[a.o.method] ?? 1) + (a.o.path.endsWith('/merge') ? 3 : 0) - ((order[b.o.method] ?? 1) + (b.o.path.endsWith('/merge') ? 3 : 0)));
  await checkRoles(duban, failures);
  for (const { o, index } of ops) {
    try {
      await checkOperation(duban, o, index);
    } catch (e) {
      failures.push(`${o.method} ${o.path} (seed ${SEED + index}):\n${e.message}`);
    }
  }
  try {
    await checkUnrouted(duban);
  } catch (e) {
    failures.push(`unrouted requests:\n${e.message}`);
  }
} catch (e) {
  failures.push(`set-up: ${e.stack || e.message}`);
} finally {
  const rc = await duban.stop();
  if (rc !== 0) failures.push(`duban exited with ${rc}:\n${duban.log().slice(-3000)}`);
}

let requests = 0;
for (const [key, m] of [...stats].sort()) {
  requests += [...m.values()].reduce((a, b) => a + b, 0);
  console.log(`  ${[...m].sort().map(([s, n]) => `${s}×${n}`).join(' ').padEnd(48)} ${key}`);
}
console.log(`${requests} requests over ${contract.ops.length} operations, seed ${SEED}, ${RUNS} runs per operation`);
for (const f of failures) console.log('FAIL ' + f + '\n');
if (failures.length) {
  console.log(`${failures.length} operation(s) answered outside openapi.yaml`);
  exitCode = 1;
} else {
  console.log('every answer was documented');
}
process.exit(exitCode);
