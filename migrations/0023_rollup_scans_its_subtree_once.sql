-- A rollup scans its subtree once.
--
-- The mean progress of a rollup leaves out the parents among the
-- descendants, and task_rollup (0018, 0020) found them with a second scan
-- of the subtree: a hashed NOT IN over the parent_id of every descendant.
-- Now only the descendants marked has_children (0020: set by a first
-- child, never cleared) are asked, each with one probe of task_parent
-- for a child still there; the index the rollup scans carries the mark.
DROP INDEX task_plan_path;
CREATE INDEX task_plan_path ON task (plan_id, path)
    INCLUDE (id, parent_id, status, progress, lead_unit_id, today_on, today_plan, colour, has_children);

CREATE OR REPLACE FUNCTION task_rollup(r task, p plan, day date) RETURNS json LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN (SELECT json_build_object('tasks', count(*), 'done', count(*) FILTER (WHERE d.status = 'done'),
                'progress', round(avg(d.progress) FILTER (
                    WHERE d.lead_unit_id IS NOT NULL
                      AND NOT (d.has_children AND EXISTS (SELECT 1 FROM task c WHERE c.parent_id = d.id))))::integer,
                'warning', (ARRAY['none', 'blue', 'yellow', 'red'])[1 + coalesce(max(array_position(
                    ARRAY['blue', 'yellow', 'red'],
                    CASE WHEN d.today_on = day AND d.today_plan = p.version THEN d.colour
                         ELSE (SELECT s.warning FROM task x, task_signals(x, p, day) s WHERE x.id = d.id) END)), 0)])
            FROM task d
            WHERE d.plan_id = r.plan_id AND d.path > r.path AND d.path < r.path || 2147483647
            HAVING count(*) > 0);
END $$;
