-- A task's representation is kept ready at write time, in the same
-- transaction, so that reading a task is one primary-key probe and a list
-- one index scan. task.doc holds the text of the representation (members
-- in the order clients see) with "warning" : null: the warning depends on
-- today and on the session setting duban.near_due_days, so readers splice
-- it in (task_warning). Text rather than jsonb: it is sent as it is, never
-- parsed, and jsonb would reorder the members.
ALTER TABLE task ADD COLUMN doc text;

-- The representation of task row r, warning aside. The names come from
-- scalar subqueries on the primary keys: one index probe per assignment.
CREATE FUNCTION task_doc(r task) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', r.id, 'plan_id', r.plan_id, 'parent_id', r.parent_id, 'level', r.level,
        'outline', r.outline, 'position', r.position, 'path', array_to_string(r.path, '.'), 'title', r.title,
        'body', r.body, 'status', r.status, 'due_on', r.due_on, 'due_text', r.due_text,
        'recurrence', r.recurrence, 'progress', r.progress, 'warning', NULL,
        'leader_ids', coalesce((SELECT json_agg(tl.leader_id ORDER BY tl.position) FROM task_leader tl
                                WHERE tl.task_id = r.id), '[]'),
        'leaders', coalesce((SELECT json_agg(json_build_object('id', tl.leader_id, 'name',
                                (SELECT l.name FROM leader l WHERE l.id = tl.leader_id)) ORDER BY tl.position)
                             FROM task_leader tl WHERE tl.task_id = r.id), '[]'),
        'unit_ids', coalesce((SELECT json_agg(tu.unit_id ORDER BY tu.position) FROM task_unit tu
                              WHERE tu.task_id = r.id), '[]'),
        'units', coalesce((SELECT json_agg(json_build_object('id', tu.unit_id, 'name',
                              (SELECT u.name FROM unit u WHERE u.id = tu.unit_id),
                              'role', CASE WHEN tu.position = 1 THEN 'lead' ELSE 'partner' END) ORDER BY tu.position)
                           FROM task_unit tu WHERE tu.task_id = r.id), '[]'),
        'created_at', rfc3339(r.created_at), 'updated_at', rfc3339(r.updated_at), 'version', r.version)::text
$$;

-- Every write of a task row renders its doc from the row as written (after
-- the place trigger has set its path: BEFORE triggers run in name order).
-- An UPDATE that sets doc = NULL asks for nothing else: it re-renders.
-- A bulk writer (an import, the benchmark's loader) sets the transaction's
-- duban.render_later to on: rows it writes are left pending (doc '') and
-- assignments render nothing, then task_render_pending() renders each
-- pending task once, instead of once per statement that touched it.
CREATE FUNCTION task_render() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.doc := CASE WHEN current_setting('duban.render_later', true) = 'on' THEN '' ELSE task_doc(NEW) END;
    RETURN NEW;
END $$;
CREATE INDEX task_doc_pending ON task (id) WHERE doc = '';

CREATE FUNCTION task_render_pending() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('duban.render_later', 'off', true);
    UPDATE task SET doc = NULL WHERE doc = '';
END $$;
CREATE TRIGGER render BEFORE INSERT OR UPDATE ON task FOR EACH ROW EXECUTE FUNCTION task_render();

-- Assignments written: each task they belong to is rendered once per
-- statement, whatever the number of rows (an import inserts thousands in
-- one statement), not once per row.
CREATE FUNCTION task_render_assigned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE task SET doc = NULL WHERE id IN (SELECT DISTINCT task_id FROM gone) AND doc <> '';
    ELSE
        UPDATE task SET doc = NULL WHERE id IN (SELECT DISTINCT task_id FROM came) AND doc <> '';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER render_tasks_insert AFTER INSERT ON task_leader REFERENCING NEW TABLE AS came
    FOR EACH STATEMENT EXECUTE FUNCTION task_render_assigned();
CREATE TRIGGER render_tasks_update AFTER UPDATE ON task_leader REFERENCING NEW TABLE AS came
    FOR EACH STATEMENT EXECUTE FUNCTION task_render_assigned();
CREATE TRIGGER render_tasks_delete AFTER DELETE ON task_leader REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION task_render_assigned();
CREATE TRIGGER render_tasks_insert AFTER INSERT ON task_unit REFERENCING NEW TABLE AS came
    FOR EACH STATEMENT EXECUTE FUNCTION task_render_assigned();
CREATE TRIGGER render_tasks_update AFTER UPDATE ON task_unit REFERENCING NEW TABLE AS came
    FOR EACH STATEMENT EXECUTE FUNCTION task_render_assigned();
CREATE TRIGGER render_tasks_delete AFTER DELETE ON task_unit REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION task_render_assigned();

-- A unit or leader renamed: the tasks that show the name are rendered again.
CREATE FUNCTION task_render_named() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'unit' THEN
        UPDATE task SET doc = NULL WHERE id IN (SELECT task_id FROM task_unit WHERE unit_id = NEW.id);
    ELSE
        UPDATE task SET doc = NULL WHERE id IN (SELECT task_id FROM task_leader WHERE leader_id = NEW.id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER render_tasks AFTER UPDATE OF name ON unit
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION task_render_named();
CREATE TRIGGER render_tasks AFTER UPDATE OF name ON leader
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION task_render_named();

-- The task path has one home: these triggers. A row's path follows from
-- its parent's path and its position when it is written (task_place, from
-- 0004); when a row's path or level changes, its children are written
-- again (their path follows, their level moves by as much), and so on
-- down the subtree. A row moved by a statement that did not set its
-- version (a sibling renumbered, a task below a moved one) gets a new one.
CREATE OR REPLACE FUNCTION task_place() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.path := coalesce((SELECT path FROM task WHERE id = NEW.parent_id), '{}') || NEW.position;
    IF TG_OP = 'UPDATE' AND NEW.version = OLD.version
       AND (NEW.path IS DISTINCT FROM OLD.path OR NEW.level <> OLD.level) THEN
        NEW.version := OLD.version + 1;
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION task_place_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE task SET position = position, level = level + (NEW.level - OLD.level) WHERE parent_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER place_children AFTER UPDATE ON task FOR EACH ROW
    WHEN (OLD.path IS DISTINCT FROM NEW.path OR OLD.level <> NEW.level)
    EXECUTE FUNCTION task_place_children();

-- Existing rows: rendered once, without journal rows (doc is left out of
-- them) and without new versions (the place trigger does not fire).
UPDATE task SET doc = NULL;
ALTER TABLE task ALTER COLUMN doc SET NOT NULL;
