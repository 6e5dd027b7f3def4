/* Webhook subscriptions as a resource: created here (with their secret,
 * their delivery state and their place in the feed, in one statement),
 * read, patched and deleted by model/resource.c with the hooks below; and
 * the sends an administrator asks for, a test event or a redelivery. */
#include "model/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/resource_def.h"
#include "model/webhook_payload.h"

enum { SECRET_SIZE = 64 };

static const struct field FIELDS[] = {
    {"url", FIELD_TEXT, 1, 1, 2000, NULL, "url", NULL, 0},
    {"events", FIELD_TEXT_LIST, 1, 1, 50, NULL, "events", NULL, 0},
    {"description", FIELD_TEXT, 0, 0, 1000, NULL, "description", NULL, 0},
    {"enabled", FIELD_BOOL, 0, 0, 0, NULL, "enabled", "true", 0},
    /* never the client's: check_subscription sets it from `enabled` */
    {"disabled_reason", FIELD_TEXT, 0, 0, 1000, NULL, "disabled_reason", NULL, 1},
};
static const char *const READ_ONLY[] = {COMMON_READ_ONLY, "secret", NULL};

/* Fills w->doc's disabled_reason: none while enabled; the reason it has
 * when it stays disabled; else who disabled it. */
static void set_disabled_reason(struct call *c, struct write *w)
{
    const char *had = w->old ? json_string_value(json_object_get(w->old, "disabled_reason")) : NULL;
    json_t *reason = json_null();
    if (json_is_false(json_object_get(w->doc, "enabled"))) {
        char by[160];
        snprintf(by, sizeof by, "disabled by %.120s", c->token_name ? c->token_name : "an administrator");
        reason = json_string(had ? had : by);
    }
    json_object_set_new(w->doc, "disabled_reason", reason);
}

/* The rules of a subscription that the field table cannot say: a URL
 * duban may send to, known event patterns. Only checks (and completes
 * w->doc): every problem is a field error. */
static duban_status check_subscription(struct call *c, PGconn *conn, struct write *w)
{
    (void)conn;
    const char *url = json_string_value(json_object_get(w->doc, "url"));
    if (url)
        webhook_check_url(c, url);
    const json_t *events = json_object_get(w->doc, "events");
    if (json_is_array(events))
        webhook_check_events(c, events);
    set_disabled_reason(c, w);
    return call_errors_status(c, DUBAN_INVALID);
}

/* After a change: a subscription enabled again starts with no failures
 * counted, and one enabled again or sent elsewhere has its waiting event
 * tried at once. */
static duban_status restart_delivery(struct call *c, PGconn *conn, struct write *w)
{
    int reenabled = json_is_false(json_object_get(w->old, "enabled")) && !json_is_false(json_object_get(w->doc, "enabled"));
    int moved = !json_equal(json_object_get(w->old, "url"), json_object_get(w->doc, "url"));
    if (!w->old || (!reenabled && !moved))
        return DUBAN_OK;
    char id[24];
    id_text(w->id, id);
    const char *params[] = {id, reenabled ? "t" : "f"};
    return db_run(c, conn,
                  "UPDATE webhook_state SET due_at = now(), "
                  "failed_events = CASE WHEN $2::boolean THEN 0 ELSE failed_events END WHERE webhook_id = $1",
                  2, params);
}

const struct resource webhook_resource = {
    .name = "webhook",
    .table = "webhook_subscription",
    .json = WEBHOOK_JSON,
    .fields = {FIELDS, sizeof FIELDS / sizeof *FIELDS, READ_ONLY},
    .before_write = check_subscription,
    .after_write = restart_delivery,
};

static const struct filter FILTERS[] = {
    {"enabled", FILTER_BOOL, "r.enabled", "NOT r.enabled", 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};
static const struct sort_key SORTS[] = {COMMON_SORTS, {"url", "r.url"}, {NULL, NULL}};

const struct list_spec webhook_list = {"webhook_subscription", WEBHOOK_JSON, FILTERS, SORTS, "r.id"};

static const char *const DELIVERY_STATES[] = {"succeeded", "retrying", "failed", NULL};

#define DELIVERY_JSON                                                                                        \
    "json_build_object('id', r.id, 'webhook_id', r.webhook_id, 'event_id', r.event_id, 'type', r.event_type, " \
    "'attempt', r.attempt, 'state', r.state, 'status_code', r.status_code, 'error', r.error, "                \
    "'duration_ms', r.duration_ms, 'next_attempt_at', rfc3339(r.next_attempt_at), 'manual', r.manual, "        \
    "'at', rfc3339(r.at))"

static const struct filter DELIVERY_FILTERS[] = {
    {"webhook_id", FILTER_ID, "r.webhook_id = $$", NULL, 0, 0, NULL},
    {"state", FILTER_ENUM_LIST, "r.state = ANY (string_to_array($$, ','))", NULL, 0, 0, DELIVERY_STATES},
    {"event_id", FILTER_TEXT, "r.event_id::text = lower($$)", NULL, 0, 0, NULL},
    {"since", FILTER_TIME, "r.at >= $$::timestamptz", NULL, 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};
static const struct sort_key DELIVERY_SORTS[] = {{"id", "r.id"}, {"at", "r.at"}, {NULL, NULL}};

const struct list_spec webhook_delivery_list = {"webhook_delivery", DELIVERY_JSON, DELIVERY_FILTERS, DELIVERY_SORTS,
                                                "r.id"};

/* One attempt of a creation: the body checked (every bad field at once),
 * then the subscription, its secret and its delivery state in one
 * statement. Its place in the feed: after every event its snapshot sees,
 * so that it receives what commits after it. */
static duban_status create_work(struct call *c, PGconn *conn, void *arg, struct created *out)
{
    struct write w = {.doc = json_deep_copy(arg)};
    if (!w.doc)
        return call_fail(c, DUBAN_ERROR, "out of memory");
    duban_status s = validate_document(c, &webhook_resource.fields, w.doc);
    if (s != DUBAN_BAD_INPUT) {
        duban_status checked = check_subscription(c, conn, &w);
        s = s == DUBAN_OK ? checked : s;
    }
    char secret[SECRET_SIZE];
    if (s == DUBAN_OK && webhook_secret_new(secret, sizeof secret) != 0)
        s = call_fail(c, DUBAN_ERROR, "no randomness available for a secret");
    char *events = sql_text(json_object_get(w.doc, "events"));
    char *enabled = sql_text(json_object_get(w.doc, "enabled"));
    const char *params[] = {json_string_value(json_object_get(w.doc, "url")), events,
                            json_string_value(json_object_get(w.doc, "description")), enabled,
                            json_string_value(json_object_get(w.doc, "disabled_reason")), secret};
    if (s == DUBAN_OK)
        s = query_json(c, conn, &out->doc,
                       "WITH r AS (INSERT INTO webhook_subscription (url, events, description, enabled, disabled_reason) "
                       "VALUES ($1, $2::text[], $3, coalesce($4::boolean, true), $5) RETURNING *), "
                       "k AS (INSERT INTO webhook_secret (webhook_id, secret) SELECT id, $6 FROM r), "
                       "s AS (INSERT INTO webhook_state (webhook_id, since, after_xid, after_seq) "
                       "SELECT id, pg_current_snapshot(), pg_snapshot_xmin(pg_current_snapshot()), 0 FROM r) "
                       "SELECT " WEBHOOK_JSON " FROM r",
                       6, params);
    if (s == DUBAN_OK)
        json_object_set_new(out->doc, "secret", json_string(secret));
    explicit_bzero(secret, sizeof secret);
    free(events);
    free(enabled);
    json_decref(w.doc);
    return s;
}

duban_status webhook_create(struct call *c, const json_t *body, const struct idempotency *idem, struct created *out)
{
    return idempotent_write(c, idem, out, create_work, (void *)body);
}

/* What a queued send is asked: the subscription, and the event to send
 * again (NULL: a test event). */
struct send_args {
    int64_t id;
    const char *event_id;
};

/* One attempt of queuing a send: the subscription must exist, and the
 * event be in the feed; the payload is rendered now, as the worker would. */
static duban_status queue_work(struct call *c, PGconn *conn, void *arg, struct created *out)
{
    const struct send_args *a = arg;
    char id[24];
    id_text(a->id, id);
    duban_status s = row_exists(c, conn, "webhook_subscription", "webhook", a->id);
    if (s != DUBAN_OK)
        return s;
    const char *params[] = {id, a->event_id};
    if (a->event_id)
        s = query_json(c, conn, &out->doc, webhook_redeliver_sql(), 2, params);
    else
        s = query_json(c, conn, &out->doc,
                       "WITH q AS (INSERT INTO webhook_manual (webhook_id, event_id, event_type, payload) "
                       "SELECT r.id, t.id, 'webhook.test', " TEST_PAYLOAD " FROM webhook_subscription r, "
                       "(SELECT gen_random_uuid() AS id) t WHERE r.id = $1 RETURNING *) " QUEUED_JSON,
                       1, params);
    if (s == DUBAN_OK && !out->doc)
        s = call_fail(c, DUBAN_NOT_FOUND, "event %s is not in the feed (it may be older than the retention)",
                      a->event_id);
    return s;
}

duban_status webhook_test(struct call *c, int64_t id, const struct idempotency *idem, struct created *out)
{
    struct send_args a = {id, NULL};
    return idempotent_write(c, idem, out, queue_work, &a);
}

duban_status webhook_redeliver(struct call *c, int64_t id, const char *event_id, const struct idempotency *idem,
                               struct created *out)
{
    struct send_args a = {id, event_id};
    return idempotent_write(c, idem, out, queue_work, &a);
}
