-- The overdue list's total, kept at write time.
--
-- A list answers its total unless asked not to (docs/api.md), and the
-- overdue list (open tasks due before today) counted its rows at every
-- request: on the benchmark's plan of 100,110 tasks, 32,143 entries of
-- task_open_due, 1.95 ms of the list's 2.6 ms in PostgreSQL; at 1,000,000
-- tasks about 300,000 entries and 27 ms. Now the open tasks with a due
-- date are counted per plan and date (task_open_due_count): the total is
-- the sum of the rows dated before today, a few hundred rows whatever
-- the size of the plan, and it moves to the next day by itself.
--
-- A write pays only when it changes what is counted: a task created or
-- deleted with a due date while open, or one whose openness, due date or
-- plan changes. A progress report that leaves its task open does not
-- touch the counts. Inserts and deletes are counted per statement (an
-- import adds each date's tasks once, a cascade removes them once), the
-- rare update per row. Writers that close tasks due the same day of the
-- same plan queue on that row until they commit; rows are upserted in key
-- order, so that two such writers do not deadlock over two dates. (One
-- statement closing many tasks of one date would update that row once per
-- task; duban changes a task's status and due date one task at a time.)
CREATE TABLE task_open_due_count (
    plan_id bigint NOT NULL,
    due_on date NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (plan_id, due_on)
);

-- Statement level (INSERT, DELETE): the open tasks with a due date in
-- `changed` come or go, counted per plan and date; a deleted plan's rows
-- fall to zero and are removed. Row level (UPDATE, when what is counted
-- changes): the task leaves its old place in the counts and takes its new
-- one, one upsert of at most two distinct rows. A row left at zero by an
-- update stays (its date may come back; the sums skip it).
CREATE FUNCTION task_open_due_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        INSERT INTO task_open_due_count AS c (plan_id, due_on, n)
        SELECT k.plan_id, k.due_on, k.delta
        FROM (VALUES (OLD.plan_id, OLD.due_on, -1, OLD.status), (NEW.plan_id, NEW.due_on, 1, NEW.status))
             k(plan_id, due_on, delta, status)
        WHERE k.due_on IS NOT NULL AND k.status IN ('not_started', 'in_progress')
        ORDER BY k.plan_id, k.due_on
        ON CONFLICT (plan_id, due_on) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        INSERT INTO task_open_due_count AS c (plan_id, due_on, n)
        SELECT t.plan_id, t.due_on, CASE TG_OP WHEN 'INSERT' THEN count(*) ELSE -count(*) END
        FROM changed t
        WHERE t.due_on IS NOT NULL AND t.status IN ('not_started', 'in_progress')
        GROUP BY t.plan_id, t.due_on
        ORDER BY t.plan_id, t.due_on
        ON CONFLICT (plan_id, due_on) DO UPDATE SET n = c.n + EXCLUDED.n;
        IF TG_OP = 'DELETE' THEN
            DELETE FROM task_open_due_count c USING changed t
            WHERE c.plan_id = t.plan_id AND c.due_on = t.due_on AND c.n = 0;
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER open_due_inserted AFTER INSERT ON task REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION task_open_due_counted();
CREATE TRIGGER open_due_deleted AFTER DELETE ON task REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION task_open_due_counted();
CREATE TRIGGER open_due_updated AFTER UPDATE ON task FOR EACH ROW
    WHEN ((OLD.status IN ('not_started', 'in_progress'), OLD.due_on, OLD.plan_id)
          IS DISTINCT FROM (NEW.status IN ('not_started', 'in_progress'), NEW.due_on, NEW.plan_id))
    EXECUTE FUNCTION task_open_due_counted();

INSERT INTO task_open_due_count (plan_id, due_on, n)
SELECT plan_id, due_on, count(*) FROM task
WHERE status IN ('not_started', 'in_progress') AND due_on IS NOT NULL
GROUP BY plan_id, due_on;
