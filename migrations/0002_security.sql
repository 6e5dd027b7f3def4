-- Who may act (bearer tokens, stored only as hashes) and what they did (an
-- append-only audit journal written by triggers in the same transaction as
-- the change, from the per-transaction settings duban.token_id,
-- duban.token_name and duban.request_id).

CREATE TABLE api_token (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    role         text NOT NULL CHECK (role IN ('admin', 'editor', 'reporter', 'reader')),
    unit_id      bigint REFERENCES unit,
    hash         bytea NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    version      integer NOT NULL DEFAULT 1 CHECK (version > 0),
    CHECK ((role = 'reporter') = (unit_id IS NOT NULL))
);

CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    token_id   bigint,
    token_name text,
    request_id text,
    action     text NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    entity     text NOT NULL,
    entity_id  bigint NOT NULL,
    before     jsonb,
    after      jsonb
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, id);
CREATE INDEX audit_log_token ON audit_log (token_id, id);
CREATE INDEX audit_log_at ON audit_log (at);

-- Records one row change. Token hashes never enter the journal, and a
-- token's last_used_at alone is not a change worth recording.
CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) - 'hash' END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) - 'hash' END;
    row jsonb := coalesce(new_row, old_row);
BEGIN
    IF TG_OP = 'UPDATE' AND (old_row - 'last_used_at') = (new_row - 'last_used_at') THEN
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

CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON plan FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON task FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON task_leader FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON task_unit FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON unit FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON unit_name FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON leader FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON progress_log FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON api_token FOR EACH ROW EXECUTE FUNCTION audit_row();

-- The journal is append-only, whoever connects.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit journal is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
