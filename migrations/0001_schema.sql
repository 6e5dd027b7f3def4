-- The plan, its task tree, the units and leaders it assigns, and the
-- progress the units report. Every row carries created_at, updated_at and a
-- version that grows by one on each change of its representation.

CREATE FUNCTION rfc3339(ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

CREATE TABLE plan (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_number    text UNIQUE CHECK (length(doc_number) BETWEEN 1 AND 200),
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    issuer        text CHECK (length(issuer) <= 500),
    issued_on     date,
    basis         text CHECK (length(basis) <= 1000),
    starts_on     date,
    ends_on       date,
    source_sha256 text UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    version       integer NOT NULL DEFAULT 1 CHECK (version > 0),
    CHECK (ends_on >= starts_on)
);

CREATE TABLE unit (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    kind       text NOT NULL DEFAULT 'department'
               CHECK (kind IN ('department', 'township', 'enterprise', 'group', 'other')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1 CHECK (version > 0)
);

-- Every name a unit answers to, its own and its aliases: one namespace, so
-- no alias can equal another unit's name or alias.
CREATE TABLE unit_name (
    name     text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 200),
    unit_id  bigint NOT NULL REFERENCES unit ON DELETE CASCADE,
    is_alias boolean NOT NULL
);
CREATE INDEX unit_name_unit ON unit_name (unit_id);

-- Keeps the unit's own name in unit_name whatever writes the unit.
CREATE FUNCTION unit_name_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM unit_name WHERE unit_id = NEW.id AND NOT is_alias;
    INSERT INTO unit_name (name, unit_id, is_alias) VALUES (NEW.name, NEW.id, false);
    RETURN NULL;
END $$;
CREATE TRIGGER unit_name_sync AFTER INSERT OR UPDATE OF name ON unit
    FOR EACH ROW EXECUTE FUNCTION unit_name_sync();

CREATE TABLE leader (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    title      text CHECK (length(title) <= 200),
    contact    text CHECK (length(contact) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1 CHECK (version > 0)
);

CREATE TABLE task (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id    bigint NOT NULL REFERENCES plan ON DELETE CASCADE,
    parent_id  bigint REFERENCES task ON DELETE CASCADE,
    level      smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    outline    text CHECK (length(outline) <= 20),
    position   integer NOT NULL CHECK (position > 0),
    path       integer[] NOT NULL DEFAULT '{}',
    title      text CHECK (length(title) <= 500),
    body       text CHECK (length(body) <= 20000),
    status     text NOT NULL DEFAULT 'not_started'
               CHECK (status IN ('not_started', 'in_progress', 'done', 'cancelled')),
    due_on     date,
    due_text   text CHECK (length(due_text) <= 200),
    recurrence text CHECK (recurrence IN ('monthly', 'bimonthly', 'quarterly', 'semiannual', 'yearly')),
    progress   smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1 CHECK (version > 0),
    CHECK (title IS NOT NULL OR body IS NOT NULL),
    CONSTRAINT task_sibling_position UNIQUE NULLS NOT DISTINCT (plan_id, parent_id, position)
        DEFERRABLE INITIALLY DEFERRED
);
-- none, near_due (due within duban.near_due_days, a session setting) or
-- overdue; done and cancelled tasks never warn.
CREATE FUNCTION task_warning(status text, due_on date) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN due_on IS NULL OR status IN ('done', 'cancelled') THEN 'none'
        WHEN due_on < current_date THEN 'overdue'
        WHEN due_on <= current_date
             + coalesce(nullif(current_setting('duban.near_due_days', true), ''), '30')::int THEN 'near_due'
        ELSE 'none'
    END
$$;

CREATE INDEX task_plan_path ON task (plan_id, path);
CREATE INDEX task_path ON task (path, id);
CREATE INDEX task_parent ON task (parent_id, position);
CREATE INDEX task_open_due ON task (due_on) WHERE status IN ('not_started', 'in_progress');
CREATE INDEX task_status ON task (status);
CREATE INDEX task_level ON task (level);

CREATE TABLE task_leader (
    task_id   bigint NOT NULL REFERENCES task ON DELETE CASCADE,
    leader_id bigint NOT NULL REFERENCES leader,
    position  integer NOT NULL CHECK (position > 0),
    PRIMARY KEY (task_id, leader_id),
    UNIQUE (task_id, position)
);
CREATE INDEX task_leader_leader ON task_leader (leader_id, task_id);

-- The first unit (position 1) of a task is its lead unit; the others cooperate.
CREATE TABLE task_unit (
    task_id  bigint NOT NULL REFERENCES task ON DELETE CASCADE,
    unit_id  bigint NOT NULL REFERENCES unit,
    position integer NOT NULL CHECK (position > 0),
    PRIMARY KEY (task_id, unit_id),
    UNIQUE (task_id, position)
);
CREATE INDEX task_unit_unit ON task_unit (unit_id, position, task_id);

CREATE TABLE progress_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id     bigint NOT NULL REFERENCES task ON DELETE CASCADE,
    unit_id     bigint NOT NULL REFERENCES unit,
    reported_on date NOT NULL DEFAULT current_date,
    percent     smallint NOT NULL CHECK (percent BETWEEN 0 AND 100),
    status      text CHECK (status IN ('not_started', 'in_progress', 'done', 'cancelled')),
    summary     text NOT NULL CHECK (length(summary) BETWEEN 1 AND 10000),
    problems    text CHECK (length(problems) <= 10000),
    next_steps  text CHECK (length(next_steps) <= 10000),
    reporter    text CHECK (length(reporter) <= 100),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1 CHECK (version > 0)
);
CREATE INDEX progress_log_task ON progress_log (task_id, reported_on DESC, id DESC);
CREATE INDEX progress_log_unit ON progress_log (unit_id, reported_on);
CREATE INDEX progress_log_reported ON progress_log (reported_on);

-- The first answer to a POST carrying an Idempotency-Key, replayed to retries.
CREATE TABLE idempotency_key (
    scope        text NOT NULL,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    request_hash text NOT NULL,
    status       smallint NOT NULL,
    location     text,
    body         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_key_created ON idempotency_key (created_at);
