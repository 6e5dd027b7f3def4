-- A task read prepares only what it runs.
--
-- task_today (0008) is inlined into every reading statement, and with it
-- the whole computation of a stale task's members (task_members, then
-- task_watch, then task_signals). PostgreSQL builds the executor state of
-- every branch of a statement before it runs any, so each read of a task
-- rendered today paid for building that computation and then skipped it:
-- more than half of PostgreSQL's CPU in a run of task GETs (perf,
-- ExecutorStart). The stale branch is now a PL/pgSQL call, built only when
-- a read takes it, and its plan is kept by the connection.
--
-- A section's rollup (task_rollup) worked out the colour of every task
-- below it with task_signals: 10 ms for a subsection of 100 tasks, 40 % of
-- PostgreSQL's time in the same run though 1 % of the reads. It now takes
-- each descendant's colour as rendered today when it is of today and of the
-- plan's settings (task_colour's rule), and computes only the others.

-- The members of task r (of plan p) that depend on today, computed.
CREATE FUNCTION task_members_now(r task, p plan) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT m.members FROM task_members(r, p, current_date) m);
END $$;

CREATE OR REPLACE FUNCTION task_today(r task) RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN r.today_on = current_date AND r.today_plan = p.version THEN r.today
                ELSE task_members_now(r, p) END
           || CASE WHEN EXISTS (SELECT 1 FROM task c WHERE c.parent_id = r.id)
                   THEN ', "rollup" : ' || task_rollup(r, p, current_date) ELSE '' END
    FROM plan p WHERE p.id = r.plan_id
$$;

CREATE OR REPLACE FUNCTION task_rollup(r task, p plan, day date) RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT json_build_object('tasks', count(*), 'done', count(*) FILTER (WHERE d.status = 'done'),
                'progress', round(avg(d.progress) FILTER (
                    WHERE d.lead_unit_id IS NOT NULL
                      AND d.id NOT IN (SELECT c.parent_id FROM task c
                                       WHERE c.plan_id = r.plan_id AND c.path > r.path
                                         AND c.path < r.path || 2147483647 AND c.parent_id IS NOT NULL)))::integer,
                'warning', (ARRAY['none', 'blue', 'yellow', 'red'])[1 + coalesce(max(array_position(
                    ARRAY['blue', 'yellow', 'red'],
                    CASE WHEN d.today_on = day AND d.today_plan = p.version THEN d.colour
                         ELSE (SELECT s.warning FROM task_signals(d, p, day) s) END)), 0)])
            FROM task d
            WHERE d.plan_id = r.plan_id AND d.path > r.path AND d.path < r.path || 2147483647);
END $$;

-- Only the old rollup used it.
DROP FUNCTION worst_warning(text[]);
