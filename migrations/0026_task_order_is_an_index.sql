-- A task list's order is an index's order.
--
-- Task lists are ordered by (plan_id, path, id): id makes the order total.
-- task_plan_path gave (plan_id, path) only, so every page scanned it and
-- then sorted each group of equal keys by id (an incremental sort): each
-- row fetched, its document included, was copied into the sort before the
-- first could be sent. The overdue list's first page spent 110-140 us of
-- its 300 in that sort. With id among the index's keys the scan gives the
-- whole order and the page streams from it. The rollup's index-only scans
-- (0018, 0023) read the same columns as before.
DROP INDEX task_plan_path;
CREATE INDEX task_plan_path ON task (plan_id, path, id)
    INCLUDE (parent_id, status, progress, lead_unit_id, today_on, today_plan, colour, has_children);
