-- A task's row says whether it has had children, so that a read does not
-- look for them.
--
-- task_today (0014) probed task_parent for a child of every task it read,
-- to know whether to add a rollup: one index probe beside the task's own,
-- in every GET and in every row of a list. On the benchmark's plan
-- (100,110 tasks, 110 of them with children), the two versions alternating
-- under one duban: the GET's statement alone (pgbench, two clients)
-- 28,906-33,375 -> 31,512-40,727 a second; PostgreSQL per task GET
-- 79-102 -> 71-83 us, per unit list of 50 857-1,021 -> 774-812 us. Now the
-- first child of a task marks it (has_children), and a read asks the rollup
-- only of tasks so marked.
--
-- The mark is set, never cleared: a task whose children are all gone or
-- moved keeps it, and its rollup, finding no descendant, is left out of
-- its representation as before. So the mark needs no lock against a child
-- being added at the moment the last one leaves.
ALTER TABLE task ADD COLUMN has_children boolean NOT NULL DEFAULT false;

-- The mark is derived like the columns 0008 leaves out of journal rows.
CREATE OR REPLACE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    hidden text[] := ARRAY['hash', 'doc', 'lead_unit_id', 'today', 'colour', 'today_on', 'today_plan', 'has_children'];
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) - hidden END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) - hidden END;
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

-- A task placed under a parent marks it, once (its version stays, so no
-- event is written; the render trigger renders the parent again).
CREATE FUNCTION task_mark_parent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE task SET has_children = true WHERE id = NEW.parent_id AND NOT has_children;
    RETURN NULL;
END $$;
CREATE TRIGGER mark_parent AFTER INSERT ON task FOR EACH ROW
    WHEN (NEW.parent_id IS NOT NULL) EXECUTE FUNCTION task_mark_parent();
CREATE TRIGGER mark_new_parent AFTER UPDATE OF parent_id ON task FOR EACH ROW
    WHEN (NEW.parent_id IS DISTINCT FROM OLD.parent_id AND NEW.parent_id IS NOT NULL)
    EXECUTE FUNCTION task_mark_parent();

UPDATE task SET has_children = true WHERE id IN (SELECT parent_id FROM task WHERE parent_id IS NOT NULL);

CREATE OR REPLACE FUNCTION task_today(r task) RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN r.today_on = current_date AND r.today_plan = p.version THEN r.today
                ELSE task_members_now(r, p) END
           || CASE WHEN r.has_children
                   THEN coalesce(', "rollup" : ' || task_rollup(r, p, current_date), '') ELSE '' END
    FROM plan p WHERE p.id = r.plan_id
$$;

-- As in 0018, but NULL for a task with no descendant left.
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
            WHERE d.plan_id = r.plan_id AND d.path > r.path AND d.path < r.path || 2147483647
            HAVING count(*) > 0);
END $$;
