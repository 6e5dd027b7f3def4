// The statements of the peer, as named prepared statements for pg
// ({name, text, values}). Every representation is built by PostgreSQL
// (json_build_object, json_agg over joins) and comes back as text, which the
// server sends as it is: the members and their order are duban's.

// A task `t` with its leaders, units and latest closure request, by lateral joins.
const TASK_JOINS = `
  LEFT JOIN LATERAL (
    SELECT json_agg(tl.leader_id ORDER BY tl.position) AS ids,
           json_agg(json_build_object('id', l.id, 'name', l.name) ORDER BY tl.position) AS items
    FROM task_leader tl JOIN leader l ON l.id = tl.leader_id
    WHERE tl.task_id = t.id) ld ON true
  LEFT JOIN LATERAL (
    SELECT json_agg(tu.unit_id ORDER BY tu.position) AS ids,
           json_agg(json_build_object('id', u.id, 'name', u.name,
                    'role', CASE WHEN tu.position = 1 THEN 'lead' ELSE 'partner' END,
                    'acknowledged_at', rfc3339(a.acknowledged_at)) ORDER BY tu.position) AS items
    FROM task_unit tu JOIN unit u ON u.id = tu.unit_id
    LEFT JOIN acknowledgement a ON a.task_id = tu.task_id AND a.unit_id = tu.unit_id
    WHERE tu.task_id = t.id) un ON true
  LEFT JOIN LATERAL (
    SELECT json_build_object('state', c.state, 'request_id', c.id, 'requested_at', rfc3339(c.created_at),
                             'decided_at', rfc3339(c.decided_at), 'comment', c.comment) AS closure
    FROM closure_request c WHERE c.task_id = t.id ORDER BY c.id DESC LIMIT 1) cl ON true`;

// What depends on today (the colour, its reasons, the expected progress, the
// next report due, a parent's rollup) comes from duban's SQL function
// task_today, spliced where "warning" : null stands, as duban's render does.
const TASK_JSON = `replace(json_build_object(
  'id', t.id, 'plan_id', t.plan_id, 'parent_id', t.parent_id, 'level', t.level, 'outline', t.outline,
  'position', t.position, 'path', array_to_string(t.path, '.'), 'title', t.title, 'body', t.body,
  'status', t.status, 'due_on', t.due_on, 'due_text', t.due_text, 'recurrence', t.recurrence,
  'report_cadence', t.report_cadence, 'progress', t.progress, 'warning', NULL,
  'closure', coalesce(cl.closure, json_build_object('state', 'none', 'request_id', NULL, 'requested_at', NULL,
                                                    'decided_at', NULL, 'comment', NULL)),
  'leader_ids', coalesce(ld.ids, '[]'), 'leaders', coalesce(ld.items, '[]'),
  'unit_ids', coalesce(un.ids, '[]'), 'units', coalesce(un.items, '[]'),
  'created_at', rfc3339(t.created_at), 'updated_at', rfc3339(t.updated_at), 'version', t.version)::text,
  '"warning" : null', (SELECT m FROM task_today(t) m))`;

/** One task: its version (for the ETag) and its representation. */
export function taskById(id) {
  return {
    name: 'task-by-id',
    text: `SELECT t.version, ${TASK_JSON} AS body FROM task t ${TASK_JOINS} WHERE t.id = $1`,
    values: [id],
  };
}

// The unit filters of the list: $3 is the unit when there is one.
const UNIT_FILTERS = {
  all: 'TRUE',
  any: 't.id IN (SELECT tu.task_id FROM task_unit tu WHERE tu.unit_id = $3)',
  lead: 't.id IN (SELECT tu.task_id FROM task_unit tu WHERE tu.unit_id = $3 AND tu.position = 1)',
  partner: 't.id IN (SELECT tu.task_id FROM task_unit tu WHERE tu.unit_id = $3 AND tu.position > 1)',
};
const ORDER = 't.plan_id, t.path, t.id';

function listText(where) {
  return `WITH page AS (
      SELECT t.id, row_number() OVER (ORDER BY ${ORDER}) AS n FROM task t WHERE ${where}
      ORDER BY ${ORDER} LIMIT $1::int OFFSET $2::int),
    total AS (SELECT count(*) AS n FROM task t WHERE ${where})
    SELECT json_build_object(
      'items', (SELECT coalesce(json_agg(${TASK_JSON}::json ORDER BY page.n), '[]')
                FROM page JOIN task t ON t.id = page.id ${TASK_JOINS}),
      'total', total.n, 'limit', $1::int, 'offset', $2::int)::text AS body, total.n AS total
    FROM total`;
}
const LIST_TEXTS = Object.fromEntries(Object.entries(UNIT_FILTERS).map(([k, where]) => [k, listText(where)]));

/** A page of tasks, optionally of one unit (role: any, lead or partner),
 * in plan and outline order, in the envelope {items, total, limit, offset}. */
export function taskList({ unit, role, limit, offset }) {
  const kind = unit ? role || 'any' : 'all';
  return {
    name: `task-list-${kind}`,
    text: LIST_TEXTS[kind],
    values: unit ? [limit, offset, unit] : [limit, offset],
  };
}

/** Tells the audit triggers who is acting, for this transaction. */
export function auditActor(tokenId, tokenName, requestId) {
  return {
    name: 'audit-actor',
    text: `SELECT set_config('duban.token_id', $1, true), set_config('duban.token_name', $2, true),
                  set_config('duban.request_id', $3, true)`,
    values: [String(tokenId), tokenName, requestId],
  };
}

/** Locks the task and says whether the unit is one of its units; no row
 * when the task does not exist. */
export function lockTask(taskId, unitId) {
  return {
    name: 'task-lock',
    text: `SELECT EXISTS (SELECT 1 FROM task_unit tu WHERE tu.task_id = t.id AND tu.unit_id = $2) AS assigned
           FROM task t WHERE t.id = $1 FOR UPDATE`,
    values: [taskId, unitId],
  };
}

const LOG_COLUMNS = ['task_id', 'unit_id', 'reported_on', 'percent', 'status', 'summary', 'problems', 'next_steps',
  'reporter'];

/** Inserts a progress log; returns its id, version and representation. */
export function insertLog(log) {
  return {
    name: 'log-insert',
    text: `INSERT INTO progress_log (${LOG_COLUMNS.join(', ')})
           VALUES ($1, $2, coalesce($3::date, current_date), $4, $5, $6, $7, $8, $9)
           RETURNING id, version, json_build_object(
             'id', id, 'task_id', task_id, 'unit_id', unit_id, 'reported_on', reported_on, 'percent', percent,
             'status', status, 'summary', summary, 'problems', problems, 'next_steps', next_steps,
             'reporter', reporter, 'created_at', rfc3339(created_at), 'updated_at', rfc3339(updated_at),
             'version', version)::text AS body`,
    values: LOG_COLUMNS.map((c) => log[c] ?? null),
  };
}

/** Sets the task's progress to its latest log's percent (and its status,
 * when given); the version grows only when something changed. */
export function updateTaskProgress(taskId, status) {
  return {
    name: 'task-progress',
    text: `WITH latest AS (SELECT coalesce((SELECT percent FROM progress_log WHERE task_id = $1
             ORDER BY reported_on DESC, id DESC LIMIT 1), 0) AS percent)
           UPDATE task SET progress = latest.percent, status = coalesce($2, task.status),
             version = version + 1, updated_at = now()
           FROM latest WHERE task.id = $1
             AND (task.progress <> latest.percent OR task.status <> coalesce($2, task.status))`,
    values: [taskId, status ?? null],
  };
}

/** The token whose secret this is, when valid; notes its use at most once
 * a minute (as duban does). */
export function tokenBySecret(secret) {
  return {
    name: 'token-check',
    text: `WITH t AS (SELECT id, name, role, unit_id, last_used_at, expires_at FROM api_token
             WHERE hash = sha256(convert_to($1, 'UTF8')) AND revoked_at IS NULL
               AND (expires_at IS NULL OR expires_at > now())),
           used AS (UPDATE api_token a SET last_used_at = now() FROM t WHERE a.id = t.id
             AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute'))
           SELECT id, name, role, coalesce(unit_id, 0) AS unit_id,
                  coalesce(extract(epoch FROM expires_at)::bigint, 0) AS expires_at FROM t`,
    values: [secret],
  };
}
