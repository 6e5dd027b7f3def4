-- Supervision (督办): the plan's settings, acknowledgements (签收), closure
-- requests and their decisions (办结 → 核查 → 销号), urges and replies (催办),
-- and reporting periods. Every date here is a calendar day in the session's
-- TimeZone, which duban sets to DUBAN_TIMEZONE: current_date is "today".

-- The plan's supervision settings; a task may override the cadence.
ALTER TABLE plan
    ADD COLUMN report_cadence text NOT NULL DEFAULT 'monthly'
        CHECK (report_cadence IN ('none', 'weekly', 'monthly', 'quarterly')),
    ADD COLUMN report_day smallint NOT NULL DEFAULT 28 CHECK (report_day BETWEEN 1 AND 31),
    ADD COLUMN near_due_days smallint NOT NULL DEFAULT 30 CHECK (near_due_days BETWEEN 0 AND 3650),
    ADD COLUMN lag_points smallint NOT NULL DEFAULT 20 CHECK (lag_points BETWEEN 0 AND 100),
    ADD COLUMN requires_verification boolean NOT NULL DEFAULT true,
    ADD CONSTRAINT plan_report_day CHECK (report_cadence <> 'weekly' OR report_day <= 7);

-- Columns of a task kept by triggers, never written by clients:
--   lead_unit_id  the unit at position 1 (task_render, below)
--   closed_on     the day the task became done or cancelled (null while open)
--   today         what it shows that depends on the day, rendered for
--   colour        today_on under its plan's settings as of version
--   today_on      today_plan (task_members, task_today); a read uses them
--   today_plan    while both still hold, and computes them otherwise
ALTER TABLE task
    ADD COLUMN report_cadence text CHECK (report_cadence IN ('none', 'weekly', 'monthly', 'quarterly')),
    ADD COLUMN lead_unit_id bigint,
    ADD COLUMN closed_on date,
    ADD COLUMN today text,
    ADD COLUMN colour text,
    ADD COLUMN today_on date,
    ADD COLUMN today_plan integer;
-- The rows whose day has passed, for the refresher (model/today.c).
CREATE INDEX task_today_on ON task (today_on);
-- A unit's lead tasks in the lists' order: one index scan that stops at
-- the page's end (role=lead).
CREATE INDEX task_lead ON task (lead_unit_id, plan_id, path, id);
UPDATE task SET closed_on = updated_at::date WHERE status IN ('done', 'cancelled');

-- A unit signs for a task it is assigned to; unassigned, its signature goes.
CREATE TABLE acknowledgement (
    task_id         bigint NOT NULL,
    unit_id         bigint NOT NULL,
    acknowledged_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, unit_id),
    FOREIGN KEY (task_id, unit_id) REFERENCES task_unit (task_id, unit_id) ON DELETE CASCADE
);

-- A lead unit asks to close a task; an editor verifies (accept) or rejects.
-- At most one request of a task waits for a decision.
CREATE TABLE closure_request (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id         bigint NOT NULL REFERENCES task ON DELETE CASCADE,
    unit_id         bigint NOT NULL REFERENCES unit,
    summary         text NOT NULL CHECK (length(summary) BETWEEN 1 AND 10000),
    evidence        text CHECK (length(evidence) <= 10000),
    state           text NOT NULL DEFAULT 'requested' CHECK (state IN ('requested', 'rejected', 'verified')),
    progress_log_id bigint REFERENCES progress_log ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz,
    decided_by      text CHECK (length(decided_by) <= 200),
    comment         text CHECK (length(comment) <= 10000),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1 CHECK (version > 0),
    CHECK ((state = 'requested') = (decided_at IS NULL))
);
CREATE UNIQUE INDEX closure_request_waiting ON closure_request (task_id) WHERE state = 'requested';
CREATE INDEX closure_request_task ON closure_request (task_id, id);
CREATE INDEX closure_request_unit ON closure_request (unit_id, id);

-- The office urges a unit about a task; the unit replies once.
CREATE TABLE urge (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id    bigint NOT NULL REFERENCES task ON DELETE CASCADE,
    unit_id    bigint NOT NULL REFERENCES unit,
    message    text NOT NULL CHECK (length(message) BETWEEN 1 AND 10000),
    reply_by   date NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    reply      text CHECK (length(reply) BETWEEN 1 AND 10000),
    replied_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1 CHECK (version > 0),
    CHECK ((reply IS NULL) = (replied_at IS NULL))
);
CREATE INDEX urge_task ON urge (task_id, id);
CREATE INDEX urge_unit ON urge (unit_id, id);
CREATE INDEX urge_waiting ON urge (task_id, reply_by) WHERE replied_at IS NULL;

-- A lead unit's reports in a period: one index range scan.
CREATE INDEX progress_log_task_unit ON progress_log (task_id, unit_id, reported_on);

CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON acknowledgement FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON closure_request FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON urge FOR EACH ROW EXECUTE FUNCTION audit_row();

-- Reporting periods: ISO weeks (from Monday), months, quarters. A period
-- is named by its cadence and its first day. Plain expressions of
-- immutable parts, so that PostgreSQL inlines them where they are used.
CREATE FUNCTION period_start(cadence text, d date) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE cadence WHEN 'weekly' THEN date_trunc('week', d::timestamp)::date
                        WHEN 'monthly' THEN date_trunc('month', d::timestamp)::date
                        WHEN 'quarterly' THEN date_trunc('quarter', d::timestamp)::date END
$$;

CREATE FUNCTION period_length(cadence text) RETURNS interval LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE cadence WHEN 'weekly' THEN interval '1 week' WHEN 'monthly' THEN interval '1 month'
                        WHEN 'quarterly' THEN interval '3 months' END
$$;

-- The last day of the period starting on `start`.
CREATE FUNCTION period_end(cadence text, start date) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (start + period_length(cadence))::date - 1
$$;

-- The report day of the period starting on `start`: weekday report_day
-- (1 = Monday) of a week, day report_day of a month or of a quarter's last
-- month, never past the period's end (day 31 of June is June 30).
CREATE FUNCTION period_due(cadence text, report_day integer, start date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT least(CASE cadence WHEN 'quarterly' THEN (start + interval '2 months')::date + report_day - 1
                              ELSE start + report_day - 1 END,
                 period_end(cadence, start))
$$;

-- The period's name: 2019-W23, 2019-06, 2019-Q2.
CREATE FUNCTION period_label(cadence text, start date) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE cadence WHEN 'weekly' THEN to_char(start, 'IYYY-"W"IW')
                        WHEN 'monthly' THEN to_char(start, 'YYYY-MM')
                        WHEN 'quarterly' THEN to_char(start, 'YYYY-"Q"Q') END
$$;

-- The day from which a task of plan p counts as assigned: the plan's start,
-- else its issue, else the day the task was created.
CREATE FUNCTION task_assigned_on(p plan, r task) RETURNS date LANGUAGE sql STABLE AS $$
    SELECT coalesce(p.starts_on, p.issued_on, r.created_at::date)
$$;

-- Every write of a task row also keeps its lead unit, the day it was
-- closed (today when its status becomes done or cancelled, unless the
-- statement sets closed_on itself; null again when it reopens) and what
-- it shows today (task_members, below).
CREATE OR REPLACE FUNCTION task_render() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.lead_unit_id := (SELECT unit_id FROM task_unit WHERE task_id = NEW.id AND position = 1);
    IF NEW.status NOT IN ('done', 'cancelled') THEN
        NEW.closed_on := NULL;
    ELSIF TG_OP = 'INSERT' THEN
        NEW.closed_on := coalesce(NEW.closed_on, current_date);
    ELSIF OLD.status NOT IN ('done', 'cancelled') AND NEW.closed_on IS NOT DISTINCT FROM OLD.closed_on THEN
        NEW.closed_on := current_date;
    END IF;
    IF current_setting('duban.render_later', true) = 'on' THEN
        NEW.doc := '';
        NEW.today_on := NULL;
    ELSE
        NEW.doc := task_doc(NEW);
        SELECT m.members, m.warning, current_date, p.version INTO NEW.today, NEW.colour, NEW.today_on, NEW.today_plan
        FROM plan p, LATERAL task_members(NEW, p, current_date) m WHERE p.id = NEW.plan_id;
    END IF;
    RETURN NEW;
END $$;

-- A report written, changed or deleted changes what its task shows today
-- (a period reported, a rejection followed by a report), whether or not
-- it moves the task's progress: the task is rendered again.
CREATE FUNCTION task_render_reported() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE task SET doc = NULL WHERE id IN (SELECT DISTINCT task_id FROM came) AND doc <> '';
    RETURN NULL;
END $$;
CREATE TRIGGER render_task_insert AFTER INSERT ON progress_log REFERENCING NEW TABLE AS came
    FOR EACH STATEMENT EXECUTE FUNCTION task_render_reported();
CREATE TRIGGER render_task_update AFTER UPDATE ON progress_log REFERENCING NEW TABLE AS came
    FOR EACH STATEMENT EXECUTE FUNCTION task_render_reported();
CREATE TRIGGER render_task_delete AFTER DELETE ON progress_log REFERENCING OLD TABLE AS came
    FOR EACH STATEMENT EXECUTE FUNCTION task_render_reported();

-- The columns the triggers keep are derived, like path and progress: an
-- UPDATE that changes only them writes no journal row (see 0005). A task's
-- lead unit and what it shows today are left out of its rows like its
-- doc: they follow from what is journaled, and are set by writes that are
-- not (assignments, reports, the day turning).
CREATE OR REPLACE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) - ARRAY['hash', 'doc', 'lead_unit_id', 'today',
                                                                              'colour', 'today_on', 'today_plan'] END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) - ARRAY['hash', 'doc', 'lead_unit_id', 'today',
                                                                              'colour', 'today_on', 'today_plan'] END;
    row jsonb := coalesce(new_row, old_row);
    derived text[] := ARRAY['version', 'updated_at']
        || CASE TG_TABLE_NAME WHEN 'task' THEN ARRAY['path', 'progress', 'closed_on']
                              WHEN 'api_token' THEN ARRAY['last_used_at']
                              ELSE ARRAY[]::text[] END;
BEGIN
    IF TG_OP = 'UPDATE' AND (old_row - derived) = (new_row - derived) THEN
        RETURN NULL;
    END IF;
    INSERT INTO audit_log (token_id, token_name, request_id, action, entity, entity_id, before, after)
    VALUES (nullif(nullif(current_setting('duban.token_id', true), ''), '0')::bigint,
            nullif(current_setting('duban.token_name', true), ''),
            nullif(current_setting('duban.request_id', true), ''),
            lower(TG_OP), TG_TABLE_NAME,
            coalesce(row ->> 'id', row ->> 'task_id', row ->> 'unit_id')::bigint,
            old_row, new_row);
    RETURN NULL;
END $$;

-- The representation (0007) gains the task's cadence, its closure (from
-- its latest closure request) and each unit's acknowledgement. What
-- depends on the day is spliced in where "warning" : null stands (task_today).
CREATE OR REPLACE FUNCTION task_doc(r task) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', r.id, 'plan_id', r.plan_id, 'parent_id', r.parent_id, 'level', r.level,
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
        'created_at', rfc3339(r.created_at), 'updated_at', rfc3339(r.updated_at), 'version', r.version)::text
$$;

-- An acknowledgement, a closure request or an urge written changes what
-- its task shows (its units, its closure, its colour): the task gets a new
-- version and is rendered again. (An acknowledgement goes only with its
-- assignment, whose write renders.)
CREATE FUNCTION task_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE task SET version = version + 1, updated_at = now() WHERE id = NEW.task_id;
    RETURN NULL;
END $$;
CREATE TRIGGER touch_task AFTER INSERT OR UPDATE ON acknowledgement FOR EACH ROW EXECUTE FUNCTION task_touch();
CREATE TRIGGER touch_task AFTER INSERT OR UPDATE ON closure_request FOR EACH ROW EXECUTE FUNCTION task_touch();
CREATE TRIGGER touch_task AFTER INSERT OR UPDATE ON urge FOR EACH ROW EXECUTE FUNCTION task_touch();

-- Whether unit reported on task with a progress log dated first..last and
-- written by the end of `day`.
CREATE FUNCTION task_reported(task bigint, unit bigint, first date, last date, day date) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM progress_log l WHERE l.task_id = task AND l.unit_id = unit
                   AND l.reported_on BETWEEN first AND last AND l.created_at::date <= day)
$$;

-- What supervision.md's colours are made of, for task r of plan p at the
-- end of `day`, from what was written by then (reports, urges, closure
-- requests; status, progress and due date as they are now, a task closed
-- after `day` counting as open). One row: whether the task is open, its
-- expected progress, each signal (overdue; behind schedule; the period
-- whose report is missing; the reply_by of the earliest urge left
-- unanswered past it; the day its last closure request was rejected when
-- no report came after; due soon), the next report due, and the colour.
-- A set-returning SQL function, so that PostgreSQL inlines it into the
-- query that calls it; each signal is computed once (OFFSET 0 keeps them
-- from being copied into every expression that uses them), and the probes
-- of a task that is closed never run.
CREATE FUNCTION task_signals(r task, p plan, day date)
RETURNS TABLE (open boolean, expected_progress integer, overdue boolean, behind boolean, missing_period date,
               urged_by date, rejected_on date, due_soon boolean, next_report_due date, warning text)
LANGUAGE sql STABLE AS $$
    SELECT s.*, CASE WHEN s.overdue THEN 'red'
                     WHEN s.behind OR s.missing_period IS NOT NULL OR s.urged_by IS NOT NULL
                          OR s.rejected_on IS NOT NULL THEN 'yellow'
                     WHEN s.due_soon THEN 'blue' ELSE 'none' END
    FROM (SELECT o.open, x.expected AS expected_progress, o.open AND r.due_on < day AS overdue,
                 o.open AND r.progress < x.expected - p.lag_points AS behind,
                 CASE WHEN o.open AND c.watched AND c.assigned < c.current
                           AND NOT EXISTS (SELECT 1 FROM progress_log l WHERE l.task_id = r.id
                                           AND l.unit_id = r.lead_unit_id AND l.reported_on BETWEEN c.last AND c.current - 1
                                           AND l.created_at::date <= day)
                      THEN c.last END AS missing_period,
                 CASE WHEN o.open THEN
                     (SELECT min(u.reply_by) FROM urge u
                      WHERE u.task_id = r.id AND u.reply_by < day AND u.created_at::date <= day
                        AND (u.replied_at IS NULL OR u.replied_at::date > day)) END AS urged_by,
                 CASE WHEN o.open THEN
                     (SELECT q.decided_at::date
                      FROM (SELECT cr.state, cr.decided_at FROM closure_request cr
                            WHERE cr.task_id = r.id AND cr.created_at::date <= day ORDER BY cr.id DESC LIMIT 1) q
                      WHERE q.state = 'rejected' AND q.decided_at::date <= day
                        AND NOT EXISTS (SELECT 1 FROM progress_log l WHERE l.task_id = r.id
                                        AND l.created_at > q.decided_at AND l.created_at::date <= day)) END
                     AS rejected_on,
                 o.open AND r.due_on BETWEEN day AND day + p.near_due_days AS due_soon,
                 CASE WHEN o.open AND c.watched THEN
                     period_due(c.cadence, p.report_day,
                                CASE WHEN EXISTS (SELECT 1 FROM progress_log l WHERE l.task_id = r.id
                                                  AND l.unit_id = r.lead_unit_id AND l.reported_on >= c.due_period
                                                  AND l.reported_on <= period_end(c.cadence, c.due_period)
                                                  AND l.created_at::date <= day)
                                     THEN (c.due_period + period_length(c.cadence))::date
                                     ELSE c.due_period END) END AS next_report_due
          FROM (SELECT r.status IN ('not_started', 'in_progress') OR r.closed_on > day AS open) o,
               LATERAL (SELECT CASE WHEN r.due_on IS NULL OR NOT o.open THEN NULL
                                    WHEN day >= r.due_on THEN 100 WHEN day <= t.start THEN 0
                                    ELSE round(100.0 * (day - t.start) / (r.due_on - t.start))::integer END AS expected
                        FROM (SELECT coalesce(p.starts_on, r.created_at::date) AS start) t) x,
               LATERAL (SELECT k.cadence, k.cadence <> 'none' AND r.lead_unit_id IS NOT NULL AS watched,
                               period_start(k.cadence, day) AS current,
                               period_start(k.cadence, period_start(k.cadence, day) - 1) AS last,
                               task_assigned_on(p, r) AS assigned,
                               greatest(period_start(k.cadence, day),
                                        period_start(k.cadence, task_assigned_on(p, r))) AS due_period
                        FROM (SELECT coalesce(r.report_cadence, p.report_cadence) AS cadence) k) c
          OFFSET 0) s
$$;

-- How task r of plan p stands at the end of `day`: its colour, the
-- reasons (worst first, each with a detail in Chinese), the expected
-- progress, the next report due. One row (a set, to be inlined).
CREATE TYPE task_watch AS (warning text, reasons json, expected_progress integer, next_report_due date);

CREATE FUNCTION task_watch(r task, p plan, day date) RETURNS SETOF task_watch LANGUAGE sql STABLE AS $$
    SELECT s.warning,
           (SELECT coalesce(json_agg(reason), '[]') FROM unnest(ARRAY[
               CASE WHEN s.overdue THEN json_build_object('code', 'overdue',
                   'detail', format('已逾期%s天（期限%s）', day - r.due_on, r.due_on)) END,
               CASE WHEN s.behind THEN json_build_object('code', 'behind_schedule',
                   'detail', format('进度%s%%，按计划应达%s%%', r.progress, s.expected_progress)) END,
               CASE WHEN s.missing_period IS NOT NULL THEN json_build_object('code', 'report_missing',
                   'detail', format('牵头单位%s未报送进展',
                                    period_label(coalesce(r.report_cadence, p.report_cadence), s.missing_period))) END,
               CASE WHEN s.urged_by IS NOT NULL THEN json_build_object('code', 'urge_unanswered',
                   'detail', format('催办逾期未回复（限%s前回复）', s.urged_by)) END,
               CASE WHEN s.rejected_on IS NOT NULL THEN json_build_object('code', 'closure_rejected',
                   'detail', format('办结申请于%s被退回，此后未报送进展', s.rejected_on)) END,
               CASE WHEN s.due_soon THEN json_build_object('code', 'due_soon',
                   'detail', format('距期限还有%s天（%s）', r.due_on - day, r.due_on)) END]) reason
            WHERE reason IS NOT NULL),
           s.expected_progress, s.next_report_due
    FROM task_signals(r, p, day) s
$$;

-- The worst of the colours, by severity.
CREATE FUNCTION worst_warning(warnings text[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (ARRAY['none', 'blue', 'yellow', 'red'])[1 + coalesce(max(array_position(ARRAY['blue', 'yellow', 'red'], w)), 0)]
    FROM unnest(warnings) w
$$;

-- Over all the descendants of task r (of plan p) on `day`: their number,
-- those done, the mean progress of the assigned leaves, the worst colour.
-- One scan of the subtree (plan_id, path), its leaves found by one hash of
-- the parents in it.
CREATE FUNCTION task_rollup(r task, p plan, day date) RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT json_build_object('tasks', count(*), 'done', count(*) FILTER (WHERE d.status = 'done'),
                'progress', round(avg(d.progress) FILTER (
                    WHERE d.lead_unit_id IS NOT NULL
                      AND d.id NOT IN (SELECT c.parent_id FROM task c
                                       WHERE c.plan_id = r.plan_id AND c.path > r.path
                                         AND c.path < r.path || 2147483647 AND c.parent_id IS NOT NULL)))::integer,
                'warning', worst_warning(array_agg(s.warning)))
            FROM task d, LATERAL task_signals(d, p, day) s
            WHERE d.plan_id = r.plan_id AND d.path > r.path AND d.path < r.path || 2147483647);
END $$;

-- What task r of plan p shows that depends on `day`, as the members that
-- replace "warning" : null in its doc (the colour and its reasons, the
-- expected progress, the next report due), and the colour alone. One row,
-- inlined where it is read.
CREATE FUNCTION task_members(r task, p plan, day date) RETURNS TABLE (members text, warning text)
LANGUAGE sql STABLE AS $$
    SELECT format('"warning" : %s, "warning_reasons" : %s, "expected_progress" : %s, "next_report_due" : %s',
                  to_json(w.warning), w.reasons, coalesce(w.expected_progress::text, 'null'),
                  coalesce(to_json(w.next_report_due)::text, 'null')), w.warning
    FROM task_watch(r, p, day) w
$$;

-- What a task shows today, and on a task with children its rollup. The
-- members rendered with the row serve while they are of today and of the
-- plan's settings as they are (its version); otherwise, until the
-- refresher or a write renders them again, they are computed here. Read as
-- (SELECT m FROM task_today(r) m): inlined into the reading statement, so
-- a read of a task rendered today is its row and one probe of its plan.
CREATE FUNCTION task_today(r task) RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN r.today_on = current_date AND r.today_plan = p.version THEN r.today
                ELSE (SELECT m.members FROM task_members(r, p, current_date) m) END
           || CASE WHEN EXISTS (SELECT 1 FROM task c WHERE c.parent_id = r.id)
                   THEN ', "rollup" : ' || task_rollup(r, p, current_date) ELSE '' END
    FROM plan p WHERE p.id = r.plan_id
$$;

-- A task's colour today (list filters, counts), as task_today finds it;
-- one row, read as (SELECT c FROM task_colour(r) c) to be inlined.
CREATE FUNCTION task_colour(r task) RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN r.today_on = current_date AND r.today_plan = p.version THEN r.colour
                ELSE (SELECT s.warning FROM task_signals(r, p, current_date) s) END
    FROM plan p WHERE p.id = r.plan_id
$$;

-- The old warning (none, near_due, overdue) gives way to task_watch.
DROP FUNCTION task_warning(text, date);

UPDATE task SET doc = NULL;

-- ---------------------------------------------------------------------
-- Supervision reports: missing reports, scorecards, the bulletin.

-- The reporting periods of task r (of plan p) for which its lead unit (the
-- unit at position 1) owed a report, among those whose last day lies in
-- lo..hi and before `day`, each with its report day and how it was met at
-- the end of `day`: on_time (a progress log of the lead unit dated in the
-- period on or before its report day), late (dated in the period, only
-- after the report day), missing (none). Only logs written by the end of
-- `day` count. A period is owed when the task's cadence (its own, else the
-- plan's) is not none, the task was assigned (task_assigned_on) by the
-- period's last day, and it was not closed before the period's first day.
-- The lead unit's logs are read once per task, each mapped to its period
-- (f), so that a state costs no probe of its own.
CREATE FUNCTION task_report_periods(p plan, r task, lo date, hi date, day date)
RETURNS TABLE (period text, starts_on date, ends_on date, due_on date, unit_id bigint, state text)
LANGUAGE sql STABLE AS $$
    SELECT period_label(k.cadence, s.start), s.start, s.last, s.due, lead.unit_id,
           CASE WHEN f.first IS NULL THEN 'missing' WHEN f.first <= s.due THEN 'on_time' ELSE 'late' END
    FROM (SELECT coalesce(r.report_cadence, p.report_cadence) AS cadence,
                 greatest(lo, task_assigned_on(p, r)) AS first, least(hi, day - 1) AS last) k
    JOIN task_unit lead ON lead.task_id = r.id AND lead.position = 1
    CROSS JOIN LATERAL generate_series(period_start(k.cadence, k.first), period_start(k.cadence, k.last),
                                       period_length(k.cadence)) AS g(start)
    CROSS JOIN LATERAL (SELECT g.start::date AS start, period_end(k.cadence, g.start::date) AS last,
                               period_due(k.cadence, p.report_day, g.start::date) AS due) s
    LEFT JOIN LATERAL (SELECT period_start(k.cadence, l.reported_on) AS start, min(l.reported_on) AS first
                       FROM progress_log l
                       WHERE l.task_id = r.id AND l.unit_id = lead.unit_id AND l.created_at::date <= day
                         AND l.reported_on BETWEEN period_start(k.cadence, k.first) AND k.last
                       GROUP BY 1) f ON f.start = s.start
    WHERE k.cadence <> 'none' AND s.last BETWEEN lo AND k.last AND (r.closed_on IS NULL OR r.closed_on >= s.start)
$$;

-- A scorecard's score (supervision.md): 100 × (0.4 × completion + 0.3 ×
-- reporting + 0.2 × punctuality + 0.1 × response) with completion =
-- done_on_time / (done_on_time + done_late + overdue_open), reporting =
-- reports_on_time / reports_expected, punctuality = 1 − overdue_open /
-- open, response = urges_answered_on_time / urges_received, a rate whose
-- denominator is 0 counting as 1; rounded half up to one decimal. It is
-- computed on exact fractions, so that equal records always tie.
CREATE FUNCTION supervision_score(done_on_time bigint, done_late bigint, overdue_open bigint, open bigint,
                                  reports_on_time bigint, reports_expected bigint,
                                  urges_answered_on_time bigint, urges_received bigint)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (div(200 * (4 * n1 * d2 * d3 * d4 + 3 * n2 * d1 * d3 * d4 + 2 * n3 * d1 * d2 * d4 + n4 * d1 * d2 * d3)
                + d1 * d2 * d3 * d4, 2 * d1 * d2 * d3 * d4) / 10)::numeric(4, 1)
    FROM (SELECT CASE WHEN c = 0 THEN 1 ELSE done_on_time END::numeric AS n1, greatest(c, 1)::numeric AS d1,
                 CASE WHEN reports_expected = 0 THEN 1 ELSE reports_on_time END::numeric AS n2,
                 greatest(reports_expected, 1)::numeric AS d2,
                 CASE WHEN open = 0 THEN 1 ELSE open - overdue_open END::numeric AS n3,
                 greatest(open, 1)::numeric AS d3,
                 CASE WHEN urges_received = 0 THEN 1 ELSE urges_answered_on_time END::numeric AS n4,
                 greatest(urges_received, 1)::numeric AS d4
          FROM (SELECT done_on_time + done_late + overdue_open AS c) total) rates
$$;
