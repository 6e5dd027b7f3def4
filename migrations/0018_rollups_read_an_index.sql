-- A rollup reads an index, not its tasks.
--
-- task_rollup (0014) fetched every descendant's row twice: once for its
-- counts and colour, once for the parents among them (whose progress the
-- mean leaves out). A task's row is about 2 kB with its document, so a
-- section of 10,000 tasks read some 20,000 pages: 35-59 ms, and under 16
-- connections a GET of that section sometimes ran into the 2 s request
-- timeout (a 503 among the benchmark's task GETs). The index the rollup
-- scans now carries what it reads, so both scans are index-only; a
-- descendant not rendered today (its colour computed from its row) is
-- fetched alone. Measured on the benchmark's plan (100,224 tasks): 11-14 ms
-- for that section.
--
-- Its statement is planned once per connection (force_generic_plan): with
-- the colour's computation inlined, planning it took about 60 ms, and
-- PL/pgSQL plans each of a statement's first five runs for their values.
DROP INDEX task_plan_path;
CREATE INDEX task_plan_path ON task (plan_id, path)
    INCLUDE (id, parent_id, status, progress, lead_unit_id, today_on, today_plan, colour);

CREATE OR REPLACE FUNCTION task_rollup(r task, p plan, day date) RETURNS json LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
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
                         ELSE (SELECT s.warning FROM task x, task_signals(x, p, day) s WHERE x.id = d.id) END)), 0)])
            FROM task d
            WHERE d.plan_id = r.plan_id AND d.path > r.path AND d.path < r.path || 2147483647);
END $$;
