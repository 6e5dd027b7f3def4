-- The total of a unit's lead list, kept at write time.
--
-- A unit's list of the tasks it leads (role=lead) answers its total, and
-- counted the unit's entries of task_lead at every request: 37 us on the
-- benchmark's plan of 100,110 tasks, ten times the entries at a million,
-- where units lead tens of thousands of tasks each. Now the tasks are
-- counted per lead unit and plan (task_lead_count), as the overdue tasks
-- per plan and date (0022): a unit's total is the sum of its rows, one
-- per plan.
--
-- A write pays only when it changes a task's lead unit or plan, or adds or
-- removes a task that has one: the lead unit is set by the render from the
-- unit assigned first (0007), so that changes when assignments do, never
-- with a progress report. A bulk writer (duban.render_later or
-- duban.sums_later, 0024) leaves the counts to task_render_pending, which
-- counts its plans again once.
CREATE TABLE task_lead_count (
    unit_id bigint NOT NULL,
    plan_id bigint NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (unit_id, plan_id)
);

-- Statement level (INSERT, DELETE): the tasks in `changed` that have a
-- lead unit come or go, counted per unit and plan; rows left at zero by a
-- delete are removed. Row level (UPDATE of the lead unit or plan): the
-- task leaves its old row and joins its new one, in key order.
CREATE FUNCTION task_lead_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('duban.render_later', true) = 'on' OR current_setting('duban.sums_later', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_LEVEL = 'ROW' THEN
        INSERT INTO task_lead_count AS c (unit_id, plan_id, n)
        SELECT k.unit_id, k.plan_id, k.delta
        FROM (VALUES (OLD.lead_unit_id, OLD.plan_id, -1), (NEW.lead_unit_id, NEW.plan_id, 1)) k(unit_id, plan_id, delta)
        WHERE k.unit_id IS NOT NULL
        ORDER BY k.unit_id, k.plan_id
        ON CONFLICT (unit_id, plan_id) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        INSERT INTO task_lead_count AS c (unit_id, plan_id, n)
        SELECT t.lead_unit_id, t.plan_id, CASE TG_OP WHEN 'INSERT' THEN count(*) ELSE -count(*) END
        FROM changed t WHERE t.lead_unit_id IS NOT NULL
        GROUP BY t.lead_unit_id, t.plan_id
        ORDER BY t.lead_unit_id, t.plan_id
        ON CONFLICT (unit_id, plan_id) DO UPDATE SET n = c.n + EXCLUDED.n;
        IF TG_OP = 'DELETE' THEN
            DELETE FROM task_lead_count c USING changed t
            WHERE c.unit_id = t.lead_unit_id AND c.plan_id = t.plan_id AND c.n = 0;
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER lead_inserted AFTER INSERT ON task REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION task_lead_counted();
CREATE TRIGGER lead_deleted AFTER DELETE ON task REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION task_lead_counted();
CREATE TRIGGER lead_updated AFTER UPDATE ON task FOR EACH ROW
    WHEN ((OLD.lead_unit_id, OLD.plan_id) IS DISTINCT FROM (NEW.lead_unit_id, NEW.plan_id))
    EXECUTE FUNCTION task_lead_counted();

-- Counts the tasks of plan `which` again, for a bulk writer.
CREATE FUNCTION task_lead_count_rebuild(which bigint) RETURNS void LANGUAGE sql AS $$
    DELETE FROM task_lead_count WHERE plan_id = which;
    INSERT INTO task_lead_count (unit_id, plan_id, n)
    SELECT lead_unit_id, plan_id, count(*) FROM task WHERE plan_id = which AND lead_unit_id IS NOT NULL
    GROUP BY lead_unit_id, plan_id;
$$;

SELECT task_lead_count_rebuild(id) FROM plan;

-- The tasks an import left pending are rendered as before (0007), their
-- plans' rollup sums (0024) and lead counts built once at the end.
CREATE OR REPLACE FUNCTION task_render_pending() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    plans bigint[] := ARRAY(SELECT DISTINCT t.plan_id FROM task t WHERE t.doc = '');
BEGIN
    PERFORM set_config('duban.render_later', 'off', true);
    PERFORM set_config('duban.sums_later', 'on', true);
    UPDATE task SET doc = NULL WHERE doc = '';
    PERFORM set_config('duban.sums_later', 'off', true);
    PERFORM task_sums_rebuild(p), task_lead_count_rebuild(p) FROM unnest(plans) p;
END $$;
