-- A rollup is kept at write time, on the ancestors, instead of being read
-- from the whole subtree at every read.
--
-- task_rollup (0018, 0020) reads every descendant of the task: 5 ms for a
-- subsection of the benchmark's plan (1,000 tasks), 31 ms for a section
-- (10,010), ten times that at a million tasks. A unit's list shows the
-- rollups of the sections and subsections it leads: on the benchmark's
-- plan, the units leading none gave 3.0-3.6k pages a second against
-- 2.4-2.7k for all units, and at a million tasks the unit list lost 70-76 %.
--
-- Now each write of a task adds what changed to the sums of its ancestors
-- (task_sums, one row per task that has had descendants), in the same
-- transaction, and a read builds the rollup from its task's row there.
-- The counts, the done and the progress are exact at every commit. The
-- colour is a count per colour of the descendants rendered on one day
-- under one version of the plan's settings (the latest seen): it serves
-- when that is today and every descendant is counted, that is, once the
-- day's refresher or writes have rendered them all; until then a read
-- computes the rollup as before.

CREATE TABLE task_sums (
    task_id       bigint PRIMARY KEY,    -- no foreign key: a deleted task's row is read, then removed, by its trigger
    children      integer NOT NULL DEFAULT 0,    -- direct children
    tasks         integer NOT NULL DEFAULT 0,    -- descendants
    done          integer NOT NULL DEFAULT 0,
    progress_sum  bigint  NOT NULL DEFAULT 0,    -- over descendants with a lead unit and no children
    progress_n    integer NOT NULL DEFAULT 0,
    coloured_on   date,                          -- the day and plan version of the colours counted:
    coloured_plan integer,                       -- the latest any descendant was rendered under
    coloured      integer NOT NULL DEFAULT 0,    -- descendants rendered then, by colour below
    blue          integer NOT NULL DEFAULT 0,
    yellow        integer NOT NULL DEFAULT 0,
    red           integer NOT NULL DEFAULT 0
);

-- What task r adds to each of its ancestors' sums by itself: itself, its
-- status, its progress when it is a leaf with a lead unit (`leaf`), and
-- its colour as rendered (when it has been).
CREATE FUNCTION task_own_sums(r task, leaf boolean) RETURNS task_sums LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(r.id, 0, 1, (r.status = 'done')::int,
               CASE WHEN leaf AND r.lead_unit_id IS NOT NULL THEN r.progress ELSE 0 END,
               (leaf AND r.lead_unit_id IS NOT NULL)::int,
               r.today_on, r.today_plan, (r.today_on IS NOT NULL)::int,
               (r.today_on IS NOT NULL AND r.colour IS NOT DISTINCT FROM 'blue')::int,
               (r.today_on IS NOT NULL AND r.colour IS NOT DISTINCT FROM 'yellow')::int,
               (r.today_on IS NOT NULL AND r.colour IS NOT DISTINCT FROM 'red')::int)::task_sums
$$;

-- The sums `kept` with `sums` added (sign 1) or taken away (-1), children
-- aside (task_sums_child counts those). Colours count within one render
-- (day, plan version): added colours of a later render replace those kept,
-- those of an earlier one are left out.
-- (One row, declared SETOF so that PostgreSQL inlines it where it is read.)
CREATE FUNCTION task_sums_merge(kept task_sums, sums task_sums, sign integer) RETURNS SETOF task_sums
LANGUAGE sql IMMUTABLE AS $$
    SELECT kept.task_id, kept.children, kept.tasks + sign * sums.tasks, kept.done + sign * sums.done,
           kept.progress_sum + sign * sums.progress_sum, kept.progress_n + sign * sums.progress_n,
           CASE WHEN later THEN sums.coloured_on ELSE kept.coloured_on END,
           CASE WHEN later THEN sums.coloured_plan ELSE kept.coloured_plan END,
           CASE WHEN later THEN sums.coloured WHEN same THEN kept.coloured + sign * sums.coloured ELSE kept.coloured END,
           CASE WHEN later THEN sums.blue WHEN same THEN kept.blue + sign * sums.blue ELSE kept.blue END,
           CASE WHEN later THEN sums.yellow WHEN same THEN kept.yellow + sign * sums.yellow ELSE kept.yellow END,
           CASE WHEN later THEN sums.red WHEN same THEN kept.red + sign * sums.red ELSE kept.red END
    FROM (SELECT sign > 0 AND sums.coloured_on IS NOT NULL
                 AND (kept.coloured_on IS NULL
                      OR (sums.coloured_on, sums.coloured_plan) > (kept.coloured_on, kept.coloured_plan)) AS later,
                 (sums.coloured_on, sums.coloured_plan)
                 IS NOT DISTINCT FROM (kept.coloured_on, kept.coloured_plan) AS same) k
$$;

-- Adds `sums` (sign 1) to, or takes them (sign -1) from, the sums of task
-- `start` and of each of its ancestors (task_sums_merge), locked in id
-- order.
CREATE FUNCTION task_sums_apply(start bigint, sign integer, sums task_sums) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF start IS NULL OR sums.task_id IS NULL OR (sums.tasks = 0 AND sums.progress_n = 0) THEN
        RETURN;
    END IF;
    INSERT INTO task_sums AS s
    SELECT m.*
    FROM (WITH RECURSIVE chain (id, parent_id) AS (
              SELECT t.id, t.parent_id FROM task t WHERE t.id = start
              UNION ALL
              SELECT t.id, t.parent_id FROM task t JOIN chain c ON t.id = c.parent_id)
          SELECT chain.id FROM chain) up,
         task_sums_merge(ROW(up.id, 0, 0, 0, 0, 0, NULL, NULL, 0, 0, 0, 0)::task_sums, sums, sign) m
    ORDER BY m.task_id
    ON CONFLICT (task_id) DO UPDATE
    SET (tasks, done, progress_sum, progress_n, coloured_on, coloured_plan, coloured, blue, yellow, red) =
        (SELECT m.tasks, m.done, m.progress_sum, m.progress_n, m.coloured_on, m.coloured_plan, m.coloured,
                m.blue, m.yellow, m.red
         FROM task_sums_merge(s, sums, sign) m);
END $$;

-- Whether task `which` has no children.
CREATE FUNCTION task_is_leaf(which bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT s.children = 0 FROM task_sums s WHERE s.task_id = which), true)
$$;

-- Task `parent` gains (sign 1) or loses (-1) a child. When that makes it
-- a parent, or a leaf again, its own progress leaves its ancestors' sums,
-- or comes back.
CREATE FUNCTION task_sums_child(parent bigint, sign integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    p task := (SELECT t FROM task t WHERE t.id = parent);
    was_leaf boolean := task_is_leaf(parent);
BEGIN
    IF p.id IS NULL THEN
        RETURN;    -- deleted in the same statement: its ancestors lost its whole subtree already
    END IF;
    INSERT INTO task_sums AS s (task_id, children) VALUES (parent, sign)
    ON CONFLICT (task_id) DO UPDATE SET children = s.children + excluded.children;
    IF was_leaf <> task_is_leaf(parent) AND p.lead_unit_id IS NOT NULL THEN
        PERFORM task_sums_apply(p.parent_id, CASE WHEN was_leaf THEN -1 ELSE 1 END,
                                ROW(parent, 0, 0, 0, p.progress, 1, NULL, NULL, 0, 0, 0, 0)::task_sums);
    END IF;
END $$;

-- Keeps the sums of a written task's ancestors: its own part changed in
-- place, or it and its subtree came, went, or moved from one parent to
-- another (a delete is a move to no parent). A row's sums would be
-- written once per task below it in one statement, each time a new row
-- version, so a bulk writer sets duban.render_later (0007) or
-- duban.sums_later and rebuilds its plan's sums at the end.
CREATE FUNCTION task_sums_keep() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    which bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
    leaf boolean := task_is_leaf(which);
    below task_sums := (SELECT s FROM task_sums s WHERE s.task_id = which);
    moved boolean := TG_OP <> 'UPDATE' OR OLD.parent_id IS DISTINCT FROM NEW.parent_id;
BEGIN
    IF current_setting('duban.render_later', true) = 'on' OR current_setting('duban.sums_later', true) = 'on' THEN
        RETURN NULL;    -- a bulk writer: task_sums_rebuild follows
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM task_sums_apply(OLD.parent_id, -1, task_own_sums(OLD, leaf));
        IF moved THEN
            PERFORM task_sums_apply(OLD.parent_id, -1, below);
            PERFORM task_sums_child(OLD.parent_id, -1);
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        DELETE FROM task_sums s WHERE s.task_id = which;
        RETURN NULL;
    END IF;
    IF moved THEN
        PERFORM task_sums_child(NEW.parent_id, 1);
        PERFORM task_sums_apply(NEW.parent_id, 1, below);
    END IF;
    PERFORM task_sums_apply(NEW.parent_id, 1, task_own_sums(NEW, leaf));
    RETURN NULL;
END $$;
CREATE TRIGGER sums AFTER INSERT OR DELETE ON task FOR EACH ROW EXECUTE FUNCTION task_sums_keep();
CREATE TRIGGER sums_changed AFTER UPDATE ON task FOR EACH ROW
    WHEN ((OLD.parent_id, OLD.status, OLD.progress, OLD.lead_unit_id, OLD.today_on, OLD.today_plan, OLD.colour)
          IS DISTINCT FROM (NEW.parent_id, NEW.status, NEW.progress, NEW.lead_unit_id, NEW.today_on,
                            NEW.today_plan, NEW.colour))
    EXECUTE FUNCTION task_sums_keep();

-- Rebuilds the sums of plan `which` from its tasks (the colours: those
-- rendered today under the plan's settings as they are), and drops those
-- of tasks no longer there.
CREATE FUNCTION task_sums_rebuild(which bigint) RETURNS void LANGUAGE sql AS $$
    DELETE FROM task_sums s
    WHERE s.task_id IN (SELECT t.id FROM task t WHERE t.plan_id = which)
       OR NOT EXISTS (SELECT 1 FROM task t WHERE t.id = s.task_id);
    INSERT INTO task_sums
    SELECT a.id, (SELECT count(*) FROM task c WHERE c.parent_id = a.id), count(*),
           count(*) FILTER (WHERE d.status = 'done'),
           coalesce(sum(d.progress) FILTER (WHERE f.leaf AND d.lead_unit_id IS NOT NULL), 0),
           count(*) FILTER (WHERE f.leaf AND d.lead_unit_id IS NOT NULL),
           current_date, p.version, count(*) FILTER (WHERE f.fresh),
           count(*) FILTER (WHERE f.fresh AND d.colour = 'blue'), count(*) FILTER (WHERE f.fresh AND d.colour = 'yellow'),
           count(*) FILTER (WHERE f.fresh AND d.colour = 'red')
    FROM task a JOIN plan p ON p.id = a.plan_id
    JOIN task d ON d.plan_id = a.plan_id AND d.path > a.path AND d.path < a.path || 2147483647,
    LATERAL (SELECT NOT EXISTS (SELECT 1 FROM task c WHERE c.parent_id = d.id) AS leaf,
                    d.today_on = current_date AND d.today_plan = p.version AS fresh) f
    WHERE a.plan_id = which
    GROUP BY a.id, p.version;
$$;

SELECT task_sums_rebuild(id) FROM plan;

-- The tasks an import left pending are rendered as before (0007), their
-- sums rebuilt once at the end.
CREATE OR REPLACE FUNCTION task_render_pending() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    plans bigint[] := ARRAY(SELECT DISTINCT t.plan_id FROM task t WHERE t.doc = '');
BEGIN
    PERFORM set_config('duban.render_later', 'off', true);
    PERFORM set_config('duban.sums_later', 'on', true);
    UPDATE task SET doc = NULL WHERE doc = '';
    PERFORM set_config('duban.sums_later', 'off', true);
    PERFORM task_sums_rebuild(p) FROM unnest(plans) p;
END $$;

-- The rollup of task r of plan p: from its sums when they hold today's
-- colours of all its descendants, else as task_rollup computes it; NULL
-- when it has no descendant.
CREATE FUNCTION task_rollup_kept(r task, p plan) RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    s task_sums := (SELECT k FROM task_sums k WHERE k.task_id = r.id);
BEGIN
    IF s.task_id IS NULL OR s.tasks = 0 THEN
        RETURN NULL;
    ELSIF s.coloured_on IS DISTINCT FROM current_date OR s.coloured_plan IS DISTINCT FROM p.version
          OR s.coloured <> s.tasks THEN
        RETURN task_rollup(r, p, current_date);
    END IF;
    RETURN json_build_object('tasks', s.tasks, 'done', s.done,
                             'progress', round(s.progress_sum::numeric / nullif(s.progress_n, 0))::integer,
                             'warning', CASE WHEN s.red > 0 THEN 'red' WHEN s.yellow > 0 THEN 'yellow'
                                             WHEN s.blue > 0 THEN 'blue' ELSE 'none' END);
END $$;

CREATE OR REPLACE FUNCTION task_today(r task) RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN r.today_on = current_date AND r.today_plan = p.version THEN r.today
                ELSE task_members_now(r, p) END
           || CASE WHEN r.has_children THEN coalesce(', "rollup" : ' || task_rollup_kept(r, p), '') ELSE '' END
    FROM plan p WHERE p.id = r.plan_id
$$;
