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
--   lead_unit_id      the unit at position 1 (task_render, below)
--   closed_on         the day the task became done or cancelled (null while open)
--   open_urge_by      the earliest reply_by of its unanswered urges
--   closure_rejected  its last closure request was rejected and no report came after
ALTER TABLE task
    ADD COLUMN report_cadence text CHECK (report_cadence IN ('none', 'weekly', 'monthly', 'quarterly')),
    ADD COLUMN lead_unit_id bigint,
    ADD COLUMN closed_on date,
    ADD COLUMN open_urge_by date,
    ADD COLUMN closure_rejected boolean NOT NULL DEFAULT false;
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
-- is named by its cadence and its first day.
CREATE FUNCTION period_start(cadence text, d date) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE cadence WHEN 'weekly' THEN date_trunc('week', d)::date
                        WHEN 'monthly' THEN date_trunc('month', d)::date
                        WHEN 'quarterly' THEN date_trunc('quarter', d)::date END
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

-- Every write of a task row also keeps its lead unit and the day it was
-- closed (today when its status becomes done or cancelled, unless the
-- statement sets closed_on itself; null again when it reopens).
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
    NEW.doc := CASE WHEN current_setting('duban.render_later', true) = 'on' THEN '' ELSE task_doc(NEW) END;
    RETURN NEW;
END $$;

-- The columns the triggers keep are derived, like path and progress: an
-- UPDATE that changes only them writes no journal row (see 0005).
CREATE OR REPLACE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) - 'hash' - 'doc' END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) - 'hash' - 'doc' END;
    row jsonb := coalesce(new_row, old_row);
    derived text[] := ARRAY['version', 'updated_at']
        || CASE TG_TABLE_NAME WHEN 'task' THEN ARRAY['path', 'progress', 'lead_unit_id', 'closed_on',
                                                     'open_urge_by', 'closure_rejected']
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

UPDATE task SET doc = NULL;
