-- Turns the audit journal's and the change feed's triggers off or on for
-- the tables bench/synthetic.sql loads: psql -v switch=DISABLE or ENABLE.
SELECT set_config('bench.switch', :'switch', false) \g /dev/null
DO $$
DECLARE t record;
BEGIN
    FOR t IN SELECT tgrelid::regclass AS tab, tgname FROM pg_trigger
             WHERE tgname IN ('audit', 'change')
               AND tgrelid IN ('plan'::regclass, 'task'::regclass, 'task_unit'::regclass,
                               'task_leader'::regclass, 'progress_log'::regclass) LOOP
        EXECUTE format('ALTER TABLE %s %s TRIGGER %I', t.tab, current_setting('bench.switch'), t.tgname);
    END LOOP;
END $$;
