-- A rollup is read from sums kept at write time, spread over shards.
--
-- task_rollup (0018, 0020, 0023) reads the whole subtree of its task: on
-- the benchmark's plan 4.4-5.0 ms for a section of 10,010 tasks, ten
-- times that at a million tasks, where the unit list (the rollups of the
-- sections and subsections a unit leads) lost 73 %. Sums kept on one row
-- per ancestor (tried before 0022) made every write of a section queue on
-- that section's row. Here each write adds what it changed to rows of its
-- ancestors keyed by the writing session's shard, so that concurrent
-- writers seldom meet, and a read adds up the handful of rows of its task.
--
-- A descendant counts in the row of the day and plan version it was
-- rendered under (task.today_on, today_plan): its colour is of that render.
-- The colours serve when every descendant counted is of today's render
-- under the plan's settings; until then (a new day, before the refresher
-- has rendered the subtree again) the rollup is computed from the subtree
-- as before (task_rollup_counted). A render moves the task's part from its
-- old row to today's, so the rows of past renders empty out, and the
-- refresher removes them (task_sums_fold).
--
-- Progress is meant over leaves, and a task's part changes when it gains
-- its first child or loses its last one; has_children (0020), set by a
-- first child and until now never cleared, is now cleared by the last one
-- to leave, so that what a task adds depends on its own row alone.

-- The mark follows the children: the last child to leave a task (deleted,
-- or moved elsewhere) clears it. The parent is locked first: a child being
-- added holds a key share lock on it (its foreign key) until it commits,
-- so the children seen after the lock are all there will be.
CREATE FUNCTION task_unmark_parent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM task WHERE id = OLD.parent_id FOR UPDATE;
    UPDATE task SET has_children = false
    WHERE id = OLD.parent_id AND has_children
      AND NOT EXISTS (SELECT 1 FROM task c WHERE c.parent_id = OLD.parent_id);
    RETURN NULL;
END $$;
CREATE TRIGGER unmark_parent AFTER DELETE ON task FOR EACH ROW WHEN (OLD.parent_id IS NOT NULL)
    EXECUTE FUNCTION task_unmark_parent();
CREATE TRIGGER unmark_old_parent AFTER UPDATE OF parent_id ON task FOR EACH ROW
    WHEN (OLD.parent_id IS NOT NULL AND OLD.parent_id IS DISTINCT FROM NEW.parent_id)
    EXECUTE FUNCTION task_unmark_parent();

UPDATE task t SET has_children = false
WHERE t.has_children AND NOT EXISTS (SELECT 1 FROM task c WHERE c.parent_id = t.id);

-- The sums of task_id's descendants rendered on rendered_on under plan
-- version rendered_plan ('-infinity' and 0: not rendered), as added by the
-- sessions of one shard; the rollup is the sum over shards.
CREATE TABLE task_sums (
    task_id       bigint   NOT NULL,    -- no foreign key: a deleted task's rows are read, then removed, by its trigger
    rendered_on   date     NOT NULL,
    rendered_plan integer  NOT NULL,
    shard         smallint NOT NULL,
    tasks         integer  NOT NULL,
    done          integer  NOT NULL,
    progress_sum  bigint   NOT NULL,    -- over leaves with a lead unit
    progress_n    integer  NOT NULL,
    blue          integer  NOT NULL,
    yellow        integer  NOT NULL,
    red           integer  NOT NULL,
    PRIMARY KEY (task_id, rendered_on, rendered_plan, shard)
) WITH (fillfactor = 50);    -- room for the updates to stay on their page

-- What one task adds to each of its ancestors' sums, from the columns that
-- say it (or a difference of two such parts, task_part_less).
CREATE TYPE task_part AS (rendered_on date, rendered_plan integer, tasks integer, done integer,
                          progress_sum bigint, progress_n integer, blue integer, yellow integer, red integer);

CREATE FUNCTION task_part(day date, version integer, state text, percent integer, lead bigint, parent boolean,
                          warning text) RETURNS task_part LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(coalesce(day, '-infinity'), coalesce(version, 0), 1, (state = 'done')::int,
               CASE WHEN lead IS NOT NULL AND NOT parent THEN percent ELSE 0 END,
               (lead IS NOT NULL AND NOT parent)::int, (warning IS NOT DISTINCT FROM 'blue')::int,
               (warning IS NOT DISTINCT FROM 'yellow')::int, (warning IS NOT DISTINCT FROM 'red')::int)::task_part
$$;

-- plus less minus, either NULL for nothing, under plus's render (or
-- minus's when plus is NULL).
CREATE FUNCTION task_part_less(plus task_part, minus task_part) RETURNS task_part LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(coalesce(plus.rendered_on, minus.rendered_on), coalesce(plus.rendered_plan, minus.rendered_plan),
               coalesce(plus.tasks, 0) - coalesce(minus.tasks, 0), coalesce(plus.done, 0) - coalesce(minus.done, 0),
               coalesce(plus.progress_sum, 0) - coalesce(minus.progress_sum, 0),
               coalesce(plus.progress_n, 0) - coalesce(minus.progress_n, 0),
               coalesce(plus.blue, 0) - coalesce(minus.blue, 0), coalesce(plus.yellow, 0) - coalesce(minus.yellow, 0),
               coalesce(plus.red, 0) - coalesce(minus.red, 0))::task_part
$$;

-- Keeps the sums of a written task's ancestors, in this session's shard.
-- The common write changes the task's part in place under the same render:
-- one difference added up its chain of ancestors, one statement. Otherwise
-- the old place (the old parent and up) loses the old part and, when the
-- task goes or moves, its subtree's sums; the new place gains the new ones.
-- In a cascade the children go after their parent, whose ancestors already
-- lost its subtree, so they find no ancestor to change. A bulk writer
-- (duban.render_later, 0007, or duban.sums_later) rebuilds its plan's sums
-- once at the end (task_sums_rebuild).
CREATE FUNCTION task_sums_keep() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was task_part := CASE WHEN TG_OP <> 'INSERT' THEN task_part(OLD.today_on, OLD.today_plan, OLD.status, OLD.progress,
                                                                 OLD.lead_unit_id, OLD.has_children, OLD.colour) END;
    now task_part := CASE WHEN TG_OP <> 'DELETE' THEN task_part(NEW.today_on, NEW.today_plan, NEW.status, NEW.progress,
                                                                 NEW.lead_unit_id, NEW.has_children, NEW.colour) END;
    moved boolean := TG_OP <> 'UPDATE' OR OLD.parent_id IS DISTINCT FROM NEW.parent_id;
    starts bigint[] := '{}';       -- each part is added to this task's sums and up its chain
    parts task_part[] := '{}';
    below task_part;
BEGIN
    IF current_setting('duban.render_later', true) = 'on' OR current_setting('duban.sums_later', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF NOT moved AND (was.rendered_on, was.rendered_plan) = (now.rendered_on, now.rendered_plan) THEN
        starts := ARRAY[NEW.parent_id];
        parts := ARRAY[task_part_less(now, was)];
    ELSE
        IF TG_OP <> 'INSERT' THEN
            starts := ARRAY[OLD.parent_id];
            parts := ARRAY[task_part_less(NULL, was)];
        END IF;
        IF TG_OP <> 'DELETE' THEN
            starts := starts || NEW.parent_id;
            parts := parts || now;
        END IF;
        IF moved AND TG_OP <> 'INSERT' THEN
            FOR below IN SELECT b.rendered_on, b.rendered_plan, sum(b.tasks), sum(b.done), sum(b.progress_sum),
                                sum(b.progress_n), sum(b.blue), sum(b.yellow), sum(b.red)
                         FROM task_sums b WHERE b.task_id = OLD.id GROUP BY 1, 2 LOOP
                starts := starts || OLD.parent_id;
                parts := parts || task_part_less(NULL, below);
                IF TG_OP = 'UPDATE' THEN
                    starts := starts || NEW.parent_id;
                    parts := parts || below;
                END IF;
            END LOOP;
        END IF;
    END IF;
    FOR i IN 1 .. cardinality(starts) LOOP
        CONTINUE WHEN starts[i] IS NULL
            OR ((parts[i]).tasks, (parts[i]).done, (parts[i]).progress_sum, (parts[i]).progress_n, (parts[i]).blue,
                (parts[i]).yellow, (parts[i]).red) = (0, 0, 0, 0, 0, 0, 0);
        INSERT INTO task_sums AS s
        SELECT up.id, (parts[i]).rendered_on, (parts[i]).rendered_plan, pg_backend_pid() % 64, (parts[i]).tasks,
               (parts[i]).done, (parts[i]).progress_sum, (parts[i]).progress_n, (parts[i]).blue, (parts[i]).yellow,
               (parts[i]).red
        FROM (WITH RECURSIVE chain (id, parent_id) AS (
                  SELECT t.id, t.parent_id FROM task t WHERE t.id = starts[i]
                  UNION ALL
                  SELECT t.id, t.parent_id FROM task t JOIN chain ON t.id = chain.parent_id)
              SELECT chain.id FROM chain) up
        ORDER BY 1
        ON CONFLICT (task_id, rendered_on, rendered_plan, shard) DO UPDATE
        SET tasks = s.tasks + excluded.tasks, done = s.done + excluded.done,
            progress_sum = s.progress_sum + excluded.progress_sum, progress_n = s.progress_n + excluded.progress_n,
            blue = s.blue + excluded.blue, yellow = s.yellow + excluded.yellow, red = s.red + excluded.red;
    END LOOP;
    IF TG_OP = 'DELETE' THEN
        DELETE FROM task_sums WHERE task_id = OLD.id;
    END IF;
    RETURN NULL;
END $$;

-- Rebuilds the sums of plan `which` from its tasks, in shard 0. For a plan
-- no other transaction writes (an import's, through task_render_pending,
-- 0025; the benchmark's loader's).
CREATE FUNCTION task_sums_rebuild(which bigint) RETURNS void LANGUAGE sql AS $$
    DELETE FROM task_sums s USING task t WHERE t.plan_id = which AND s.task_id = t.id;
    INSERT INTO task_sums
    SELECT a.id, (c.p).rendered_on, (c.p).rendered_plan, 0, sum((c.p).tasks), sum((c.p).done),
           sum((c.p).progress_sum), sum((c.p).progress_n), sum((c.p).blue), sum((c.p).yellow), sum((c.p).red)
    FROM task a
    JOIN task d ON d.plan_id = a.plan_id AND d.path > a.path AND d.path < a.path || 2147483647,
    LATERAL (SELECT task_part(d.today_on, d.today_plan, d.status, d.progress, d.lead_unit_id, d.has_children,
                              d.colour) AS p) c
    WHERE a.plan_id = which AND a.has_children
    GROUP BY 1, 2, 3;
$$;

SELECT task_sums_rebuild(id) FROM plan;

CREATE TRIGGER sums AFTER INSERT OR DELETE ON task FOR EACH ROW EXECUTE FUNCTION task_sums_keep();
CREATE TRIGGER sums_changed AFTER UPDATE ON task FOR EACH ROW
    WHEN ((OLD.parent_id, OLD.status, OLD.progress, OLD.lead_unit_id, OLD.has_children, OLD.today_on,
           OLD.today_plan, OLD.colour)
          IS DISTINCT FROM (NEW.parent_id, NEW.status, NEW.progress, NEW.lead_unit_id, NEW.has_children,
                            NEW.today_on, NEW.today_plan, NEW.colour))
    EXECUTE FUNCTION task_sums_keep();

-- Removes the rows of renders before yesterday that no descendant counts
-- in any more (their sums over the shards are zero). Their day is over and
-- their tasks rendered again, so no writer adds to them again.
CREATE FUNCTION task_sums_fold() RETURNS void LANGUAGE sql AS $$
    DELETE FROM task_sums s
    WHERE s.rendered_on < current_date - 1
      AND (s.task_id, s.rendered_on, s.rendered_plan) IN (
          SELECT k.task_id, k.rendered_on, k.rendered_plan FROM task_sums k
          WHERE k.rendered_on < current_date - 1
          GROUP BY 1, 2, 3 HAVING sum(k.tasks) = 0);
$$;

-- The rollup computed from the subtree (0023), a leaf being a task
-- without children (the mark is now exact).
CREATE FUNCTION task_rollup_counted(r task, p plan, day date) RETURNS json LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN (SELECT json_build_object('tasks', count(*), 'done', count(*) FILTER (WHERE d.status = 'done'),
                'progress', round(avg(d.progress) FILTER (WHERE d.lead_unit_id IS NOT NULL AND NOT d.has_children))::integer,
                'warning', (ARRAY['none', 'blue', 'yellow', 'red'])[1 + coalesce(max(array_position(
                    ARRAY['blue', 'yellow', 'red'],
                    CASE WHEN d.today_on = day AND d.today_plan = p.version THEN d.colour
                         ELSE (SELECT s.warning FROM task x, task_signals(x, p, day) s WHERE x.id = d.id) END)), 0)])
            FROM task d
            WHERE d.plan_id = r.plan_id AND d.path > r.path AND d.path < r.path || 2147483647
            HAVING count(*) > 0);
END $$;

-- The rollup of task r of plan p on `day`: from its kept sums when every
-- descendant they count was rendered on that day under the plan's
-- settings, else computed from the subtree; NULL when it has no
-- descendant.
CREATE OR REPLACE FUNCTION task_rollup(r task, p plan, day date) RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    k record;
BEGIN
    SELECT sum(s.tasks) AS tasks, sum(s.done) AS done, sum(s.progress_sum) AS progress_sum,
           sum(s.progress_n) AS progress_n,
           sum(s.tasks) FILTER (WHERE s.rendered_on = day AND s.rendered_plan = p.version) AS fresh,
           sum(s.blue) FILTER (WHERE s.rendered_on = day AND s.rendered_plan = p.version) AS blue,
           sum(s.yellow) FILTER (WHERE s.rendered_on = day AND s.rendered_plan = p.version) AS yellow,
           sum(s.red) FILTER (WHERE s.rendered_on = day AND s.rendered_plan = p.version) AS red
    INTO k FROM task_sums s WHERE s.task_id = r.id;
    IF coalesce(k.tasks, 0) = 0 THEN
        RETURN NULL;
    ELSIF k.fresh IS DISTINCT FROM k.tasks THEN
        RETURN task_rollup_counted(r, p, day);
    END IF;
    RETURN json_build_object('tasks', k.tasks, 'done', k.done,
                             'progress', round(k.progress_sum / nullif(k.progress_n, 0))::integer,
                             'warning', CASE WHEN k.red > 0 THEN 'red' WHEN k.yellow > 0 THEN 'yellow'
                                             WHEN k.blue > 0 THEN 'blue' ELSE 'none' END);
END $$;
