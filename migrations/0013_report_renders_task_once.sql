-- A progress log written through duban renders its task once. The report
-- statement triggers (0008) render the reported tasks again, and duban then
-- updated each task's progress and status, which rendered it a second time:
-- two renders of the task, about 1 ms of PostgreSQL each, per report. Now
-- duban marks a transaction whose reports it will bring to their tasks
-- itself (duban.reports_render_tasks = 'off'), and the triggers leave those
-- tasks to it. Any other writer of progress logs (SQL, the sample history)
-- still has its tasks rendered by the triggers.
CREATE OR REPLACE FUNCTION task_render_reported() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('duban.reports_render_tasks', true) IS DISTINCT FROM 'off' THEN
        UPDATE task SET doc = NULL WHERE id IN (SELECT DISTINCT task_id FROM came) AND doc <> '';
    END IF;
    RETURN NULL;
END $$;
