-- A task's doc holds what it shows today, stored as it is sent, so that a
-- read of a task rendered today with no children sends its doc as stored.
--
-- Until now the doc kept "warning" : null where today's members go, and
-- every read spliced them in: a replace over the whole document, then a
-- concatenation, though for almost every task read they were the ones
-- rendered with the row. And the read was a function of the whole row
-- (task_today(r task)): inlined, it made PostgreSQL build a copy of the
-- whole row, document included, for every task it read, and the document
-- itself was stored compressed (pglz_decompress was the first function of
-- PostgreSQL's own in a profile of unit lists, 10 % of its samples).
--
-- Now the render splices today's members in once, at write time (today
-- keeps a copy, the needle a read replaces when they are stale); the read
-- is a function of the few columns it looks at; the document is stored
-- uncompressed and in the row. A read then:
--   - of a task rendered today under its plan's settings as they are, with
--     no children: its doc, and one probe of its plan;
--   - otherwise: task_ready_now, which reads the row again and replaces its
--     stored members by today's (kept or computed) followed, on a task with
--     children, by its rollup (task_today).

-- Stored as sent: no compression, and kept in the row up to a page
-- (a document of more than about 8 kB still goes to the TOAST table).
ALTER TABLE task ALTER COLUMN doc SET STORAGE EXTERNAL, ALTER COLUMN today SET STORAGE EXTERNAL,
    SET (toast_tuple_target = 8160);

CREATE OR REPLACE FUNCTION task_render() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.lead_unit_id := (SELECT unit_id FROM task_unit WHERE task_id = NEW.id AND position = 1);
    IF NEW.status NOT IN ('done', 'cancelled') THEN
        NEW.closed_on := NULL;
    ELSIF TG_OP = 'INSERT' THEN
        NEW.closed_on := coalesce(NEW.closed_on, current_date);
    ELSIF OLD.status NOT IN ('done', 'cancelled') AND NEW.closed_on IS NOT DISTINCT FROM OLD.closed_on THEN
        NEW.closed_on := current_date;
    END IF;
    IF current_setting('duban.render_later', true) = 'on' THEN
        NEW.doc := '';
        NEW.today_on := NULL;
    ELSE
        SELECT m.members, m.warning, current_date, p.version INTO NEW.today, NEW.colour, NEW.today_on, NEW.today_plan
        FROM plan p, LATERAL task_members(NEW, p, current_date) m WHERE p.id = NEW.plan_id;
        -- "warning" : null can only be that member: within a JSON string
        -- every quote is escaped
        NEW.doc := replace(task_doc(NEW), '"warning" : null', NEW.today);
    END IF;
    RETURN NEW;
END $$;

-- The representation of task `which` when it is not its doc alone: the
-- doc with its stored members replaced by what task_today (0020) gives.
CREATE FUNCTION task_ready_now(which bigint) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    r task := (SELECT t FROM task t WHERE t.id = which);
BEGIN
    RETURN replace(r.doc, r.today, (SELECT m FROM task_today(r) m));
END $$;

-- The representation of a task as text, from its columns (model/task.c):
-- read as (SELECT d FROM task_ready(r.id, r.plan_id, ...) d), inlined
-- into the reading statement.
CREATE FUNCTION task_ready(id bigint, plan_id bigint, today_on date, today_plan integer, has_children boolean,
                           doc text) RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN task_ready.today_on = current_date AND task_ready.today_plan = p.version
                     AND NOT task_ready.has_children THEN task_ready.doc
                ELSE task_ready_now(task_ready.id) END
    FROM plan p WHERE p.id = task_ready.plan_id
$$;

UPDATE task SET doc = NULL WHERE doc <> '';
