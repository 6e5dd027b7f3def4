-- A task's path follows from its parent's path and its own position the
-- moment the row is written, so that its first journal row is already
-- right. A row moved by a statement that did not set its version (a
-- sibling shifted to make room) gets a new version too.
CREATE FUNCTION task_place() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.path := coalesce((SELECT path FROM task WHERE id = NEW.parent_id), '{}') || NEW.position;
    IF TG_OP = 'UPDATE' AND NEW.version = OLD.version AND NEW.path IS DISTINCT FROM OLD.path THEN
        NEW.version := OLD.version + 1;
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER place BEFORE INSERT OR UPDATE OF parent_id, position ON task
    FOR EACH ROW EXECUTE FUNCTION task_place();

-- A unit's own name is rewritten only when it changes, not whenever an
-- UPDATE names the column.
DROP TRIGGER unit_name_sync ON unit;
CREATE TRIGGER unit_name_insert AFTER INSERT ON unit
    FOR EACH ROW EXECUTE FUNCTION unit_name_sync();
CREATE TRIGGER unit_name_update AFTER UPDATE OF name ON unit
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION unit_name_sync();
