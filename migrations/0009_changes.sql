-- Change events (an outbox): every committed write of a plan, task, unit,
-- leader, progress log, acknowledgement, closure request or urge leaves one
-- row here per changed entity, written by triggers in the same transaction
-- as the write, so that a rolled-back write leaves none. Readers (the feed,
-- its stream, webhook deliveries) follow them in (xid, seq) order and hand
-- out only events below pg_snapshot_xmin(pg_current_snapshot()): every
-- transaction that could still add an event before them has ended.
--
-- `data` is filled at the end of the writing transaction by duban (the
-- statement it sends before COMMIT renders each event's entity with the
-- same SQL as its reads). Until then it is null, except for an
-- acknowledgement, where it holds '#' and the unit id (an acknowledgement
-- is the pair task_id, unit_id; its entity_id is the task's, as in the
-- journal). Events written by SQL run outside duban stay so, and are
-- rendered when read.
CREATE TABLE change_event (
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),   -- the writing transaction
    seq         bigint GENERATED ALWAYS AS IDENTITY,           -- order within it
    id          uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,-- the event id (= webhook-id)
    type        text NOT NULL,          -- '<entity>.created|updated|deleted' (also 'webhook.disabled', 'webhook.test')
    entity      text NOT NULL,          -- plan, task, unit, leader, progress_log, acknowledgement, closure_request, urge
    entity_id   bigint NOT NULL,
    version     integer,                -- the entity's version after the write (deletes: last + 1)
    plan_id     bigint,                 -- the plan it belongs to, when it does (for ?plan_id=)
    occurred_at timestamptz NOT NULL DEFAULT now(),
    request_id  text,                   -- current_setting('duban.request_id', true)
    data        text,                   -- the entity's representation after the write as JSON text; null for deletes
    PRIMARY KEY (xid, seq)
);
-- An entity's events: its event in the writing transaction (one per
-- transaction), its latest writer, its plan.
CREATE INDEX change_event_entity ON change_event (entity, entity_id, xid);

-- What identifies this database's feed in its cursors (a cursor of
-- another service is refused), and how far the purge has gone: events up
-- to (purged_xid, purged_seq) are gone, so a cursor before it is too old.
CREATE TABLE change_feed (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    feed       text NOT NULL DEFAULT substr(md5(gen_random_uuid()::text), 1, 12),
    purged_xid xid8 NOT NULL DEFAULT '0',
    purged_seq bigint NOT NULL DEFAULT 0
);
INSERT INTO change_feed DEFAULT VALUES;

-- The plan of task `task`: from the task, else (the task is being deleted
-- with its rows) from its latest event.
CREATE FUNCTION change_plan_of_task(task_id bigint) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT t.plan_id FROM task t WHERE t.id = task_id),
                    (SELECT plan_id FROM change_event WHERE entity = 'task' AND entity_id = task_id
                     ORDER BY xid DESC, seq DESC LIMIT 1))
$$;

-- Records the change of one row as its entity's event of this transaction:
-- the first change inserts it, a later one updates it (a row created then
-- changed stays created; changed then deleted becomes a tombstone; created
-- then deleted leaves no event). An UPDATE that leaves the version alone
-- (a task's doc rendered again, a derived column kept) changes nothing a
-- client sees. A tombstone's version is the last one + 1.
--
-- An entity's events must follow each other in feed order as its versions
-- do. A transaction that got its xid before another one, but writes the
-- row only after that one committed its own write of it (it waited for the
-- row's lock), would show the newer version first: it fails as a
-- serialization failure instead, and is retried (duban retries those) with
-- a new xid, after the other's.
CREATE FUNCTION change_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
    ent text := TG_TABLE_NAME;     -- the entity
    eid bigint;
    ver integer;
    plan_of bigint;
    unit_key text;          -- '#' and an acknowledgement's unit, until rendered
    kind text := CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'UPDATE' THEN 'updated' ELSE 'deleted' END;
    prior_xid xid8;         -- this entity's latest event at or after this transaction's
    prior_seq bigint;
    prior_type text;
BEGIN
    IF TG_OP = 'UPDATE' AND ent <> 'acknowledgement' THEN   -- the most frequent: a re-rendering, no event
        IF NEW.version = OLD.version THEN
            RETURN NULL;
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF ent = 'acknowledgement' THEN
        eid := r.task_id;
        unit_key := '#' || r.unit_id;
        ver := CASE TG_OP WHEN 'DELETE' THEN 2 ELSE 1 END;
    ELSE
        eid := r.id;
        ver := CASE TG_OP WHEN 'DELETE' THEN r.version + 1 ELSE r.version END;
    END IF;
    IF ent = 'plan' THEN
        plan_of := r.id;
    ELSIF ent = 'task' THEN
        plan_of := r.plan_id;
    ELSIF ent NOT IN ('unit', 'leader') THEN
        plan_of := change_plan_of_task(r.task_id);
    END IF;

    -- a row just inserted with a new id has no event yet (an acknowledgement,
    -- keyed by its task and unit, may have been deleted in this transaction)
    IF TG_OP <> 'INSERT' OR ent = 'acknowledgement' THEN
        SELECT e.xid, e.seq, e.type INTO prior_xid, prior_seq, prior_type FROM change_event e
        WHERE e.entity = ent AND e.entity_id = eid AND e.xid >= pg_current_xact_id()
          AND (unit_key IS NULL OR e.data = unit_key)
        ORDER BY e.xid DESC LIMIT 1;
    END IF;
    IF prior_xid IS NOT NULL AND prior_xid > pg_current_xact_id() THEN
        RAISE EXCEPTION '% % was changed by a later transaction that committed first', ent, eid
            USING ERRCODE = 'serialization_failure';
    ELSIF prior_xid IS NULL THEN
        INSERT INTO change_event (type, entity, entity_id, version, plan_id, request_id, data)
        VALUES (ent || '.' || kind, ent, eid, ver, plan_of,
                nullif(current_setting('duban.request_id', true), ''), unit_key);
    ELSIF TG_OP = 'DELETE' AND prior_type = ent || '.created' THEN
        DELETE FROM change_event WHERE xid = pg_current_xact_id() AND seq = prior_seq;
    ELSE
        UPDATE change_event
        SET type = CASE WHEN TG_OP = 'DELETE' THEN ent || '.deleted'
                        WHEN prior_type = ent || '.created' THEN ent || '.created'
                        ELSE ent || '.updated' END,
            version = ver, plan_id = coalesce(plan_of, plan_id)
        WHERE xid = pg_current_xact_id() AND seq = prior_seq;
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE entity text;
BEGIN
    FOREACH entity IN ARRAY ARRAY['plan', 'task', 'unit', 'leader', 'progress_log', 'acknowledgement',
                                  'closure_request', 'urge'] LOOP
        EXECUTE format('CREATE TRIGGER change AFTER INSERT OR UPDATE OR DELETE ON %I '
                       'FOR EACH ROW EXECUTE FUNCTION change_record()', entity);
    END LOOP;
END $$;

-- Tell every duban listening that events were written (delivered at commit;
-- one notification per transaction however many events).
CREATE FUNCTION change_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('duban_changes', '');
    RETURN NULL;
END $$;
CREATE TRIGGER notify AFTER INSERT ON change_event FOR EACH STATEMENT EXECUTE FUNCTION change_notify();

-- Removes at most `batch` of the oldest events, those written before
-- `cutoff`, and moves the purge mark to the last one removed: a cursor
-- before the mark may have missed an event. Returns how many went.
CREATE FUNCTION change_purge(cutoff timestamptz, batch integer) RETURNS bigint LANGUAGE sql AS $$
    WITH oldest AS (SELECT xid, seq FROM change_event ORDER BY xid, seq LIMIT batch),
         purged AS (DELETE FROM change_event e USING oldest o
                    WHERE e.xid = o.xid AND e.seq = o.seq AND e.occurred_at < cutoff
                    RETURNING e.xid, e.seq),
         last AS (SELECT xid, seq FROM purged ORDER BY xid DESC, seq DESC LIMIT 1),
         mark AS (UPDATE change_feed f SET purged_xid = last.xid, purged_seq = last.seq FROM last
                  WHERE (f.purged_xid, f.purged_seq) < (last.xid, last.seq))
    SELECT count(*) FROM purged
$$;

-- A cursor: the position (xid, seq) in this database's feed, as base64url
-- of "xid.seq.feed", opaque to clients.
CREATE FUNCTION change_cursor(x xid8, s bigint) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT translate(rtrim(encode(convert_to(x::text || '.' || s || '.' || f.feed, 'UTF8'), 'base64'), '='), '+/', '-_')
    FROM change_feed f
$$;

-- Event e as clients get it (an item of the feed, an event of the stream,
-- a webhook's body), with `data` its entity's representation text (JSON),
-- or null.
CREATE FUNCTION change_json(e change_event, data text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT '{"cursor":"' || change_cursor(e.xid, e.seq) || '","id":"' || e.id || '","type":' || to_json(e.type)
           || ',"entity":' || to_json(e.entity) || ',"entity_id":' || e.entity_id
           || ',"version":' || coalesce(e.version::text, 'null')
           || ',"occurred_at":"' || rfc3339(e.occurred_at) || '","request_id":'
           || coalesce(to_json(e.request_id)::text, 'null') || ',"data":' || coalesce(data, 'null') || '}'
$$;
