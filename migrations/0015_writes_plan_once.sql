-- A write plans its rendering once per connection.
--
-- task_doc, the task's representation, was a SQL function called from the
-- render trigger. PostgreSQL plans a SQL function that it does not inline
-- again at every call, and a trigger's call is a new one in every
-- transaction: 1.26 ms of PostgreSQL per progress POST went to planning and
-- running it (pg_stat_user_functions over a run of POSTs), against ~0.3 ms
-- for its statement alone. As PL/pgSQL its statement is planned once per
-- connection and kept.
CREATE OR REPLACE FUNCTION task_doc(r task) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT json_build_object('id', r.id, 'plan_id', r.plan_id, 'parent_id', r.parent_id, 'level', r.level,
        'outline', r.outline, 'position', r.position, 'path', array_to_string(r.path, '.'), 'title', r.title,
        'body', r.body, 'status', r.status, 'due_on', r.due_on, 'due_text', r.due_text,
        'recurrence', r.recurrence, 'report_cadence', r.report_cadence, 'progress', r.progress, 'warning', NULL,
        'closure', coalesce((SELECT json_build_object('state', c.state, 'request_id', c.id,
                                 'requested_at', rfc3339(c.created_at), 'decided_at', rfc3339(c.decided_at),
                                 'comment', c.comment)
                             FROM closure_request c WHERE c.task_id = r.id ORDER BY c.id DESC LIMIT 1),
                            json_build_object('state', 'none', 'request_id', NULL, 'requested_at', NULL,
                                              'decided_at', NULL, 'comment', NULL)),
        'leader_ids', coalesce((SELECT json_agg(tl.leader_id ORDER BY tl.position) FROM task_leader tl
                                WHERE tl.task_id = r.id), '[]'),
        'leaders', coalesce((SELECT json_agg(json_build_object('id', tl.leader_id, 'name',
                                (SELECT l.name FROM leader l WHERE l.id = tl.leader_id)) ORDER BY tl.position)
                             FROM task_leader tl WHERE tl.task_id = r.id), '[]'),
        'unit_ids', coalesce((SELECT json_agg(tu.unit_id ORDER BY tu.position) FROM task_unit tu
                              WHERE tu.task_id = r.id), '[]'),
        'units', coalesce((SELECT json_agg(json_build_object('id', tu.unit_id, 'name',
                              (SELECT u.name FROM unit u WHERE u.id = tu.unit_id),
                              'role', CASE WHEN tu.position = 1 THEN 'lead' ELSE 'partner' END,
                              'acknowledged_at', (SELECT rfc3339(a.acknowledged_at) FROM acknowledgement a
                                                  WHERE a.task_id = tu.task_id AND a.unit_id = tu.unit_id))
                              ORDER BY tu.position)
                           FROM task_unit tu WHERE tu.task_id = r.id), '[]'),
        'created_at', rfc3339(r.created_at), 'updated_at', rfc3339(r.updated_at), 'version', r.version)::text);
END $$;

-- PostgreSQL inlines a SQL function only when that costs nothing extra: no
-- argument that is more than a column or a constant may be used twice, and
-- an IMMUTABLE function may call nothing less than immutable. period_start
-- used its day three times, and is called with a day computed by a CASE,
-- so the task render called it as a function, planned at every call
-- (95 us each); period_label is built on to_char, which is STABLE. Each
-- argument is now used once, and period_label is STABLE: both inline.
CREATE OR REPLACE FUNCTION period_start(cadence text, d date) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_trunc(CASE cadence WHEN 'weekly' THEN 'week' WHEN 'monthly' THEN 'month' WHEN 'quarterly' THEN 'quarter' END,
                      d::timestamp)::date
$$;

CREATE OR REPLACE FUNCTION period_label(cadence text, start date) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(start, CASE cadence WHEN 'weekly' THEN 'IYYY-"W"IW' WHEN 'monthly' THEN 'YYYY-MM'
                                       WHEN 'quarterly' THEN 'YYYY-"Q"Q' END)
$$;
