// The peer of scripts/bench: what a team might write instead of duban for
// three of its routes, in Node with Fastify 5 and pg 8, on duban's own
// database (migrated by duban, so its triggers write the audit rows):
//
//   GET  /api/v1/tasks/{id}
//   GET  /api/v1/tasks?unit_id=U&role=lead|partner&limit=N&offset=M
//   POST /api/v1/tasks/{id}/progress-logs
//   GET  /healthz
//
// Same representations (built by PostgreSQL, sent as text), same bearer
// tokens (api_token, SHA-256 of the secret, cached like duban's), same
// validation and RFC 9457 problems, the same transaction for a progress log
// (lock the task, insert, update the task's progress, with the acting token
// handed to the audit triggers). No rate limit, no Idempotency-Key.
//
// Environment: PEER_DATABASE_URL (else DUBAN_DATABASE_URL), PEER_PORT
// (8090), PEER_HOST (127.0.0.1), PEER_POOL_SIZE (8), PEER_LOG_LEVEL (info:
// one access line per request on stdout), PEER_TIMEZONE (Asia/Shanghai:
// the days the colours are computed in, as DUBAN_TIMEZONE).
import { randomBytes } from 'node:crypto';
import Fastify, { LogController } from 'fastify';
import pg from 'pg';
import { Tokens } from './auth.mjs';
import { auditActor, insertLog, lockTask, taskById, taskList, updateTaskProgress } from './sql.mjs';
import { checkListQuery, checkLog } from './validate.mjs';

const env = process.env;
const url = env.PEER_DATABASE_URL || env.DUBAN_DATABASE_URL;
if (!url) {
  console.error('bench/peer/server.mjs: set PEER_DATABASE_URL (or DUBAN_DATABASE_URL)');
  process.exit(2);
}
const TIMEOUT_MS = 2000;
const connection = {
  connectionString: url,
  application_name: 'duban-bench-peer',
  options: `-c statement_timeout=${TIMEOUT_MS} -c lock_timeout=${(TIMEOUT_MS * 3) / 4} ` +
    `-c idle_in_transaction_session_timeout=${4 * TIMEOUT_MS} -c TimeZone=${env.PEER_TIMEZONE || 'Asia/Shanghai'}`,
};
const pool = new pg.Pool({ ...connection, max: Number(env.PEER_POOL_SIZE || 8) });

const TITLES = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 413: 'Content Too Large',
  415: 'Unsupported Media Type', 422: 'Unprocessable Content', 503: 'Service Unavailable' };

/** Answers with an RFC 9457 problem. */
function problem(request, reply, status, detail, errors) {
  const title = TITLES[status] || 'Internal Server Error';
  const body = { type: 'about:blank', title, status, detail: detail || title, instance: request.url.split('?')[0] };
  if (errors && errors.length) body.errors = errors;
  if (status === 503) reply.header('Retry-After', '2');
  return reply.code(status).type('application/problem+json').send(JSON.stringify(body));
}

const UNAVAILABLE = new Set(['57014', '55P03', '57P01', '57P03', '53300', 'ECONNREFUSED', 'ECONNRESET']);

/** A database failure as a problem: 503 when the database is unreachable
 * or too slow, 422 for a rejected value, else 500. */
function dbProblem(request, reply, err) {
  const code = String(err.code || '');
  if (UNAVAILABLE.has(code) || code.startsWith('08') || /timeout|terminat/i.test(err.message))
    return problem(request, reply, 503, 'the database is unavailable; try again shortly');
  if (code === '23514' || code === '23503' || code === '22P02' || code === '22008')
    return problem(request, reply, 422, err.message);
  request.log.error({ err }, 'database error');
  return problem(request, reply, 500);
}

const ID = /^[1-9][0-9]{0,17}$/;

/** The id of an item's path, with no query parameters; else answers with
 * the problem and returns null. */
function pathId(request, reply) {
  const { id } = request.params;
  const unknown = Object.keys(request.query)[0];
  if (!ID.test(id)) problem(request, reply, 404, 'no resource at this path: the id is not a positive integer');
  else if (unknown !== undefined) problem(request, reply, 400, `unknown query parameter '${unknown}'`);
  else return id;
  return null;
}

/** A client's X-Request-Id when it is 1-64 of [A-Za-z0-9._-], else a fresh one. */
function requestId(req) {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomBytes(16).toString('hex');
}

/** One access line per request, when it is answered (as duban logs them). */
class AccessLog extends LogController {
  incomingRequest() {}

  requestCompleted(error, request, reply) {
    const line = { method: request.method, path: request.url, status: reply.statusCode,
      ms: Number(reply.elapsedTime.toFixed(3)) };
    if (error) reply.log.error({ ...line, err: error }, 'access');
    else reply.log.info(line, 'access');
  }
}

const app = Fastify({
  logger: { level: env.PEER_LOG_LEVEL || 'info' },
  logController: new AccessLog(),
  genReqId: requestId,
});
const tokens = new Tokens(pool, connection, app.log);

app.addHook('onRequest', async (request, reply) => {
  reply.header('X-Request-Id', request.id);
  reply.header('X-Content-Type-Options', 'nosniff');
  reply.header('Cache-Control', 'no-store');
});

// Every /api/v1 route needs a bearer token; writes need the role for them.
app.addHook('preHandler', async (request, reply) => {
  if (!request.url.startsWith('/api/v1/')) return;
  const m = /^Bearer +(.+)$/i.exec(request.headers.authorization || '');
  if (!m) {
    reply.header('WWW-Authenticate', 'Bearer realm="duban"');
    return problem(request, reply, 401, 'send Authorization: Bearer <token>');
  }
  let actor;
  try {
    actor = await tokens.authenticate(m[1]);
  } catch (err) {
    return dbProblem(request, reply, err);
  }
  if (!actor) {
    reply.header('WWW-Authenticate', 'Bearer realm="duban", error="invalid_token"');
    return problem(request, reply, 401, 'the token is unknown, expired or revoked');
  }
  if (request.method === 'POST' && actor.role !== 'admin' && actor.role !== 'reporter')
    return problem(request, reply, 403, "this token's role does not allow this request");
  request.actor = actor;
});

app.setNotFoundHandler((request, reply) => problem(request, reply, 404, 'no resource at this path'));
app.setErrorHandler((err, request, reply) => {
  const status = err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
  if (status === 500) request.log.error({ err }, 'unexpected error');
  return problem(request, reply, status, status === 500 ? undefined : err.message);
});

app.get('/healthz', async (request, reply) => reply.type('application/json').send('{"status":"ok"}'));

app.get('/api/v1/tasks/:id', async (request, reply) => {
  const id = pathId(request, reply);
  if (!id) return reply;
  let rows;
  try {
    ({ rows } = await pool.query(taskById(id)));
  } catch (err) {
    return dbProblem(request, reply, err);
  }
  if (!rows.length) return problem(request, reply, 404, `task ${id} does not exist`);
  const etag = `"${rows[0].version}"`;
  reply.header('ETag', etag);
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  return reply.type('application/json').send(rows[0].body);
});

/** The Link header of a page: rel="next" and rel="prev" where they exist. */
function links(request, { limit, offset }, total) {
  const at = (o) => {
    const q = new URLSearchParams(request.query);
    q.delete('offset');
    q.set('offset', String(o));
    return `<${request.url.split('?')[0]}?${q}>`;
  };
  const out = [];
  if (offset + limit < total) out.push(`${at(offset + limit)}; rel="next"`);
  if (offset > 0) out.push(`${at(Math.max(offset - limit, 0))}; rel="prev"`);
  return out.join(', ');
}

app.get('/api/v1/tasks', async (request, reply) => {
  const { errors, query } = checkListQuery(request.query);
  if (errors.length) return problem(request, reply, 400, `the query has ${errors.length} bad parameter(s)`, errors);
  let rows;
  try {
    ({ rows } = await pool.query(taskList(query)));
  } catch (err) {
    return dbProblem(request, reply, err);
  }
  const link = links(request, query, Number(rows[0].total));
  if (link) reply.header('Link', link);
  return reply.type('application/json').send(rows[0].body);
});

/** Runs work(client) in a transaction that the audit triggers attribute to
 * the request's token; retried on a deadlock or serialisation failure. */
async function inTransaction(request, work) {
  const client = await pool.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query('BEGIN');
        await client.query(auditActor(request.actor.id, request.actor.name, request.id));
        const result = await work(client);
        await client.query(result.ok ? 'COMMIT' : 'ROLLBACK');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        if (attempt < 3 && (err.code === '40P01' || err.code === '40001')) continue;
        throw err;
      }
    }
  } finally {
    client.release();
  }
}

app.post('/api/v1/tasks/:id/progress-logs', async (request, reply) => {
  const id = pathId(request, reply);
  if (!id) return reply;
  const checked = checkLog(request.body);
  if (checked.status)
    return problem(request, reply, checked.status, checked.detail || `${checked.errors.length} field(s) are not valid`,
      checked.errors);
  const { log } = checked;
  if (log.task_id !== undefined && String(log.task_id) !== id)
    return problem(request, reply, 422, 'task_id is given by the path; leave it out of the body');
  log.task_id = id;
  const actor = request.actor;
  if (actor.role === 'reporter' && log.unit_id !== actor.unitId)
    return problem(request, reply, 403, `this token reports only for unit ${actor.unitId}`);
  let result;
  try {
    result = await inTransaction(request, async (client) => {
      const found = await client.query(lockTask(id, log.unit_id));
      if (!found.rows.length) return { status: 404, detail: `task ${id} does not exist` };
      if (!found.rows[0].assigned)
        return { status: 422, detail: '1 field(s) are not valid', errors: [{ field: 'unit_id',
          message: `unit ${log.unit_id} is not one of the units of task ${id}` }] };
      const inserted = await client.query(insertLog(log));
      await client.query(updateTaskProgress(id, log.status));
      return { ok: true, row: inserted.rows[0] };
    });
  } catch (err) {
    return dbProblem(request, reply, err);
  }
  if (!result.ok) return problem(request, reply, result.status, result.detail, result.errors);
  reply.header('Location', `/api/v1/progress-logs/${result.row.id}`);
  reply.header('ETag', `"${result.row.version}"`);
  return reply.code(201).type('application/json').send(result.row.body);
});

async function shutdown() {
  await app.close();
  await tokens.stop();
  await pool.end();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

pool.on('error', (err) => app.log.warn({ err: err.message }, 'an idle database connection failed'));
await tokens.start();
await app.listen({ host: env.PEER_HOST || '127.0.0.1', port: Number(env.PEER_PORT || 8090) });
