-- Tell every duban listening that tokens changed (revoked, rebound to a
-- merged unit, deleted), so that caches of authenticated tokens drop them
-- at once. Noting a token's use is not a change worth telling.
CREATE FUNCTION api_token_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (to_jsonb(OLD) - 'last_used_at') <> (to_jsonb(NEW) - 'last_used_at') THEN
        PERFORM pg_notify('duban_tokens', OLD.id::text);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER notify AFTER UPDATE OR DELETE ON api_token
    FOR EACH ROW EXECUTE FUNCTION api_token_notify();
