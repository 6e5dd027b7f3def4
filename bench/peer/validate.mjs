// Input checks with duban's rules and messages: a wrongly typed value or an
// unknown member makes the request malformed (400), a value out of range or
// a missing required member makes it invalid (422). Errors are
// [{field, message}].

const STATUSES = ['not_started', 'in_progress', 'done', 'cancelled'];

// The writable members of a progress log; the read-only ones are ignored.
const LOG_FIELDS = {
  task_id: { type: 'id' },
  unit_id: { type: 'id', required: true },
  reported_on: { type: 'date' },
  percent: { type: 'int', min: 0, max: 100, required: true },
  status: { type: 'enum', choices: STATUSES },
  summary: { type: 'text', min: 1, max: 10000, required: true },
  problems: { type: 'text', min: 0, max: 10000 },
  next_steps: { type: 'text', min: 0, max: 10000 },
  reporter: { type: 'text', min: 0, max: 100 },
};
const READ_ONLY = new Set(['id', 'created_at', 'updated_at', 'version']);

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A calendar date written YYYY-MM-DD, years 1900 to 9999. */
export function isDate(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const y = +m[1], mo = +m[2], d = +m[3];
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return y >= 1900 && mo >= 1 && mo <= 12 && d >= 1 && d <= DAYS[mo - 1] + (mo === 2 && leap ? 1 : 0);
}

/** Characters (code points), as duban counts them. */
function length(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}

function typed(rule, v) {
  switch (rule.type) {
    case 'id':
    case 'int':
      return Number.isInteger(v);
    default:
      return typeof v === 'string';
  }
}

const TYPE_NAMES = { id: 'an integer id', int: 'an integer' };

/** Checks a well-typed value; the message when it is out of bounds. */
function valueProblem(rule, v) {
  switch (rule.type) {
    case 'id':
      return v > 0 ? null : 'must be a positive id';
    case 'int':
      return v >= rule.min && v <= rule.max ? null : `must be from ${rule.min} to ${rule.max}`;
    case 'date':
      return isDate(v) ? null : 'must be a date written YYYY-MM-DD';
    case 'enum':
      return rule.choices.includes(v) ? null : `must be one of: ${rule.choices.join(', ')}`;
    default: {
      // UTF-16 length bounds the character count from above.
      const n = v.length <= rule.max ? v.length : length(v);
      return n >= rule.min && n <= rule.max ? null : `must have ${rule.min} to ${rule.max} characters`;
    }
  }
}

/** Validates a progress-log body: {status: 0 | 400 | 422, errors, log}. */
export function checkLog(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return { status: 400, errors: [], detail: 'the body must be a JSON object' };
  const errors = [];
  const log = {};
  let malformed = false;
  for (const [key, v] of Object.entries(body)) {
    const rule = Object.hasOwn(LOG_FIELDS, key) ? LOG_FIELDS[key] : null;
    if (!rule) {
      if (!READ_ONLY.has(key)) {
        errors.push({ field: key, message: 'is not a field of this resource' });
        malformed = true;
      }
      continue;
    }
    if (v === null) continue;
    if (!typed(rule, v)) {
      errors.push({ field: key, message: `must be ${TYPE_NAMES[rule.type] || 'a string'}` });
      malformed = true;
      continue;
    }
    const problem = valueProblem(rule, v);
    if (problem) errors.push({ field: key, message: problem });
    log[key] = v;
  }
  for (const [key, rule] of Object.entries(LOG_FIELDS))
    if (rule.required && (body[key] === undefined || body[key] === null))
      errors.push({ field: key, message: 'is required' });
  return { status: errors.length ? (malformed ? 400 : 422) : 0, errors, log };
}

const MAX_LIMIT = 500;

function integer(text, min, max) {
  if (typeof text !== 'string' || !/^\d{1,10}$/.test(text)) return null;
  const n = Number(text);
  return n >= min && n <= max ? n : null;
}

/** Reads the query of the task list: {errors, query: {unit, role, limit, offset}}. */
export function checkListQuery(q) {
  const errors = [];
  const query = { unit: null, role: null, limit: 50, offset: 0 };
  for (const [name, v] of Object.entries(q)) {
    if (name === 'limit') {
      query.limit = integer(v, 1, MAX_LIMIT);
      if (query.limit === null) errors.push({ field: name, message: `must be an integer from 1 to ${MAX_LIMIT}` });
    } else if (name === 'offset') {
      query.offset = integer(v, 0, 1_000_000_000);
      if (query.offset === null) errors.push({ field: name, message: 'must be an integer from 0 to 1000000000' });
    } else if (name === 'unit_id') {
      query.unit = typeof v === 'string' && /^[1-9]\d{0,17}$/.test(v) ? v : null;
      if (!query.unit) errors.push({ field: name, message: `'${String(v).slice(0, 60)}' is not a valid value` });
    } else if (name === 'role') {
      query.role = v === 'lead' || v === 'partner' ? v : null;
      if (!query.role) errors.push({ field: name, message: `'${String(v).slice(0, 60)}' is not a valid value` });
    } else {
      errors.push({ field: name, message: 'is not a parameter of this list' });
    }
  }
  if (query.role && !('unit_id' in q)) errors.push({ field: 'role', message: 'needs unit_id as well' });
  return { errors, query };
}
