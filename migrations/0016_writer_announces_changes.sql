-- The writer announces new change events, not each transaction.
--
-- Every transaction that wrote a change event sent NOTIFY duban_changes.
-- PostgreSQL serialises the commits of notifying transactions and wakes
-- every listening connection at each one: with the notification, a
-- progress POST did 812-871 a second, without it 965-971 (bench/README.md,
-- "The change feed"). duban now tells its change triggers that it will
-- announce (duban.notify_after_commit = 'on', set with the actor at BEGIN),
-- and its change hub sends one NOTIFY for all the commits since its last,
-- at most every 20 ms (model/change_hub.h). Any other writer (SQL, the
-- sample history, a duban command without a hub) still notifies in its
-- own transaction.
CREATE OR REPLACE FUNCTION change_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('duban.notify_after_commit', true) IS DISTINCT FROM 'on' THEN
        PERFORM pg_notify('duban_changes', '');
    END IF;
    RETURN NULL;
END $$;
