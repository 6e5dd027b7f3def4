-- Two functions every write calls, made cheap (measured with
-- pg_stat_user_functions under the benchmark's progress-log POSTs):
--
-- rfc3339 was declared IMMUTABLE around to_char, which is only STABLE, so
-- PostgreSQL could not inline it: each call ran as a function of its own
-- (about 47 µs, ten per POST, and two per row of every list that shows
-- timestamps). STABLE is what it is, and lets it inline.
--
-- change_plan_of_task, a SQL function called from the change trigger,
-- was planned again at every call (0.34 ms per progress log); in PL/pgSQL
-- its two statements are planned once per session.
CREATE OR REPLACE FUNCTION rfc3339(ts timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

CREATE OR REPLACE FUNCTION change_plan_of_task(task_id bigint) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    of_plan bigint;
BEGIN
    SELECT t.plan_id INTO of_plan FROM task t WHERE t.id = task_id;
    IF NOT FOUND THEN   -- the task is being deleted with its rows: its latest event knows
        SELECT e.plan_id INTO of_plan FROM change_event e WHERE e.entity = 'task' AND e.entity_id = task_id
        ORDER BY e.xid DESC, e.seq DESC LIMIT 1;
    END IF;
    RETURN of_plan;
END $$;
