/* Inside model/ only: the SQL of what webhooks show and send. */
#ifndef DUBAN_WEBHOOK_PAYLOAD_H
#define DUBAN_WEBHOOK_PAYLOAD_H

#ifdef DUBAN_HTTP_LAYER
#error "api/ reaches model/ through its public headers; this one stays inside model/"
#endif

/* A subscription r (never its secret). */
#define WEBHOOK_JSON                                                                                          \
    "json_build_object('id', r.id, 'url', r.url, 'events', to_json(r.events), 'description', r.description, " \
    "'enabled', r.enabled, 'disabled_reason', r.disabled_reason, 'created_at', rfc3339(r.created_at), "       \
    "'updated_at', rfc3339(r.updated_at), 'version', r.version)"

/* The statement reading change event ($1 xid, $2 seq) as a send: its id,
 * its type, and the body POSTed, the event as the feed shows it. */
const char *webhook_event_sql(void);

/* The statement queuing change event $2 (a UUID's text; no row when it is
 * not one, or not in the feed) to be sent again to subscription $1,
 * answering QUEUED_JSON. */
const char *webhook_redeliver_sql(void);

/* The body of a test event of subscription r with event id t.id: shaped
 * as a change event, with no cursor (it is not in the feed). */
#define TEST_PAYLOAD                                                                                         \
    "json_build_object('cursor', NULL, 'id', t.id, 'type', 'webhook.test', 'entity', 'webhook', "            \
    "'entity_id', r.id, 'version', r.version, 'occurred_at', rfc3339(now()), "                              \
    "'request_id', nullif(current_setting('duban.request_id', true), ''), 'data', " WEBHOOK_JSON ")::text"

/* The answer to a queued send q. */
#define QUEUED_JSON                                                                                          \
    "SELECT json_build_object('webhook_id', q.webhook_id, 'event_id', q.event_id, 'type', q.event_type, "    \
    "'queued_at', rfc3339(q.queued_at)) FROM q"

#endif
