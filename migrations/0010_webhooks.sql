-- Webhooks: subscriptions to the change feed (change_event, migration
-- 0009), what duban's delivery workers know of each, and the log of every
-- attempt. Only the subscription itself is journaled: its secret stays out
-- of the journal, and the delivery state and log are duban's bookkeeping.

CREATE TABLE webhook_subscription (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url             text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    events          text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 50),
    description     text CHECK (length(description) <= 1000),
    enabled         boolean NOT NULL DEFAULT true,
    disabled_reason text CHECK (length(disabled_reason) <= 1000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1 CHECK (version > 0),
    CHECK (enabled = (disabled_reason IS NULL))
);

CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON webhook_subscription
    FOR EACH ROW EXECUTE FUNCTION audit_row();

-- The key of a subscription's signatures, kept as given out (duban signs
-- with it), never shown again.
CREATE TABLE webhook_secret (
    webhook_id bigint PRIMARY KEY REFERENCES webhook_subscription ON DELETE CASCADE,
    secret     text NOT NULL
);

-- Where a subscription stands in the feed. Events are taken in feed order,
-- (xid, seq), one at a time:
--   since          the snapshot taken when it was created: the events that
--                  snapshot sees were committed before, and are not its own
--   after_xid/seq  every event up to here is handled (sent or given up)
--   event_xid/seq  the event being delivered, attempts made of it so far,
--                  and when the next attempt is due; null between events
--   failed_events  events given up in a row (DUBAN_WEBHOOK_DISABLE_AFTER)
--   lease ...      the delivery worker holding it: its lease token, the
--                  backend pid of its instance's listening connection (a
--                  lease whose backend is gone is free: the instance died),
--                  and until when the lease holds in any case
CREATE TABLE webhook_state (
    webhook_id    bigint PRIMARY KEY REFERENCES webhook_subscription ON DELETE CASCADE,
    since         pg_snapshot NOT NULL,
    after_xid     xid8 NOT NULL,
    after_seq     bigint NOT NULL,
    event_xid     xid8,
    event_seq     bigint,
    attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    due_at        timestamptz NOT NULL DEFAULT now(),
    failed_events integer NOT NULL DEFAULT 0 CHECK (failed_events >= 0),
    lease         uuid,
    lease_pid     integer,
    leased_until  timestamptz,
    CHECK ((event_xid IS NULL) = (event_seq IS NULL))
);
CREATE INDEX webhook_state_due ON webhook_state (due_at);

-- Sends an administrator asked for (a test event, a redelivery): each
-- attempted once, before the subscription's next feed event.
CREATE TABLE webhook_manual (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id bigint NOT NULL REFERENCES webhook_subscription ON DELETE CASCADE,
    event_id   uuid NOT NULL,
    event_type text NOT NULL,
    payload    text NOT NULL,
    queued_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_manual_webhook ON webhook_manual (webhook_id, id);

-- Every attempt: succeeded (a 2xx), retrying (failed; another attempt at
-- next_attempt_at) or failed (failed, and the last attempt of its event).
CREATE TABLE webhook_delivery (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      bigint NOT NULL REFERENCES webhook_subscription ON DELETE CASCADE,
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    attempt         integer NOT NULL CHECK (attempt > 0),
    state           text NOT NULL CHECK (state IN ('succeeded', 'retrying', 'failed')),
    status_code     integer,
    error           text,
    duration_ms     integer NOT NULL CHECK (duration_ms >= 0),
    next_attempt_at timestamptz,
    manual          boolean NOT NULL DEFAULT false,
    at              timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'retrying') = (next_attempt_at IS NOT NULL))
);
CREATE INDEX webhook_delivery_webhook ON webhook_delivery (webhook_id, id);
CREATE INDEX webhook_delivery_at ON webhook_delivery (at);

-- Whether an event type is one a subscription's patterns ask for: an
-- exact type, the entity followed by .*, or *.
CREATE FUNCTION webhook_matches(patterns text[], type text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN type = ANY (patterns) OR '*' = ANY (patterns) OR split_part(type, '.', 1) || '.*' = ANY (patterns);
