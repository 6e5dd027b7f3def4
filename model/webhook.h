/* Webhook subscriptions: an administrator names a URL and the event types
 * it wants (exact types such as task.updated, entity.* or *); duban then
 * POSTs it every change event committed after the subscription was made,
 * in feed order, signed as Standard Webhooks 1.0 asks (model/webhook_sign.c),
 * retried on a schedule (model/webhook_queue.h), with a log of every
 * attempt. The secret is shown once, in the answer to the creation. */
#ifndef DUBAN_WEBHOOK_H
#define DUBAN_WEBHOOK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "model/call.h"
#include "model/idempotency.h"
#include "model/listing.h"
#include "model/resource.h"

/* Subscriptions (read, patched and deleted through model/resource.h) and
 * the log of delivery attempts (listed within a subscription). */
extern const struct resource webhook_resource;
extern const struct list_spec webhook_list, webhook_delivery_list;

/* Creates a subscription from body ({url, events, description, enabled}),
 * idempotently with idem. out->doc is its representation with `secret`
 * (whsec_ + base64 of 32 random bytes), the only time it is shown. Every
 * bad field is reported at once (DUBAN_INVALID). */
duban_status webhook_create(struct call *c, const json_t *body, const struct idempotency *idem,
                            struct created *out);

/* Queues a webhook.test event for subscription id (also when disabled):
 * sent once, before its next feed event. out->doc describes the queued
 * delivery {webhook_id, event_id, type, queued_at}. */
duban_status webhook_test(struct call *c, int64_t id, const struct idempotency *idem, struct created *out);

/* Queues the change event event_id (a UUID still in the feed) to be sent
 * once more to subscription id, with its own webhook-id. DUBAN_NOT_FOUND
 * when either does not exist. out->doc as for webhook_test. */
duban_status webhook_redeliver(struct call *c, int64_t id, const char *event_id, const struct idempotency *idem,
                               struct created *out);

/* -- checks (model/webhook_check.c), pure -------------------------------- */

/* Sets the networks (DUBAN_WEBHOOK_ALLOWED_NETS: a comma-separated list of
 * addresses and CIDR networks) where loopback, link-local and unspecified
 * destinations are allowed anyway. Called once at startup. -1 with a
 * sentence in err when an item is not one. */
int webhook_allowed_nets_set(const char *list, char *err, size_t size);

/* 1 with the reason in why when duban must not connect to address (4
 * bytes for AF_INET, 16 for AF_INET6); else 0. */
int webhook_address_refused(int family, const void *address, char *why, size_t size);

/* Adds a field error on "url" for each thing wrong with url: not an
 * absolute http(s) URL, credentials in it, a host that is a refused
 * address (an IP literal or localhost; names are checked when sending). */
void webhook_check_url(struct call *c, const char *url);

/* Adds a field error on "events" for each item of the array events that
 * is not a pattern (webhook_pattern_valid). */
void webhook_check_events(struct call *c, const json_t *events);

/* 1 when p is an event type duban sends (task.updated, webhook.disabled),
 * an entity followed by .* (task.*), or *. */
int webhook_pattern_valid(const char *p);

/* -- secrets and signatures (model/webhook_sign.c) ----------------------- */

/* A new secret, whsec_ + base64 of 32 random bytes, into out. 0 on success. */
int webhook_secret_new(char *out, size_t size);

/* The webhook-signature header of a message: "v1," + base64 of
 * HMAC-SHA256, keyed with the base64-decoded secret (whsec_ prefix
 * dropped), over id "." timestamp "." body. 0 on success. */
int webhook_sign(const char *secret, const char *id, long long timestamp, const char *body, size_t body_len,
                 char *out, size_t size);

#endif
