-- The journal records what a client changed, not what follows from it.
--
-- Some columns are never written by a client but derived by duban: every
-- row's version and updated_at, a task's path (from the positions above
-- it) and progress (from its latest progress log), a token's last use.
-- An UPDATE that changes only such columns is a consequence of a change
-- journaled elsewhere in the same request (a progress log, a unit or
-- leader renamed, a task moved above this one) and writes no journal row.
-- An UPDATE that also changes a client-writable column is journaled whole,
-- derived columns included: a sibling renumbered by a move (its position
-- changes) and a subtree taken deeper by a move (its levels change) are
-- shown, with the request id of the move that caused them.
CREATE OR REPLACE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- a task's doc (migration 0007) is rendered from the row and its
    -- assignments: never journaled, so an UPDATE that only renders it
    -- writes no row
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) - 'hash' - 'doc' END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) - 'hash' - 'doc' END;
    row jsonb := coalesce(new_row, old_row);
    derived text[] := ARRAY['version', 'updated_at']
        || CASE TG_TABLE_NAME WHEN 'task' THEN ARRAY['path', 'progress']
                              WHEN 'api_token' THEN ARRAY['last_used_at']
                              ELSE ARRAY[]::text[] END;
BEGIN
    IF TG_OP = 'UPDATE' AND (old_row - derived) = (new_row - derived) THEN
        RETURN NULL;
    END IF;
    INSERT INTO audit_log (token_id, token_name, request_id, action, entity, entity_id, before, after)
    VALUES (nullif(nullif(current_setting('duban.token_id', true), ''), '0')::bigint,
            nullif(current_setting('duban.token_name', true), ''),
            nullif(current_setting('duban.request_id', true), ''),
            lower(TG_OP), TG_TABLE_NAME,
            coalesce(row ->> 'id', row ->> 'task_id', row ->> 'unit_id')::bigint,
            old_row, new_row);
    RETURN NULL;
END $$;

-- Assignments are rewritten row by row, only where they differ: a reorder
-- moves positions within one UPDATE, so their uniqueness is checked at the
-- end of the statement rather than row by row.
ALTER TABLE task_leader
    DROP CONSTRAINT task_leader_task_id_position_key,
    ADD CONSTRAINT task_leader_task_id_position_key UNIQUE (task_id, position) DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE task_unit
    DROP CONSTRAINT task_unit_task_id_position_key,
    ADD CONSTRAINT task_unit_task_id_position_key UNIQUE (task_id, position) DEFERRABLE INITIALLY IMMEDIATE;
