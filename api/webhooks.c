/* The routes of webhook subscriptions (model/webhook.h), for admins (the
 * router sees to that): list, create (the secret shown in its answer
 * only), read, patch and delete, each subscription's delivery log, a
 * redelivery and a test event. Reads, patches and deletes are the shared
 * handlers of api/crud.c (ETag, If-Match); the POSTs take an
 * Idempotency-Key (api/posting.c). */
#include "api/answer.h"
#include "api/app.h"
#include "api/crud.h"
#include "api/posting.h"
#include "api/problem.h"
#include "api/request.h"
#include "api/router.h"
#include "api/routes.h"
#include "model/webhook.h"

#define WEBHOOKS "/api/v1/webhooks"
#define WEBHOOK WEBHOOKS "/:" ROUTE_ID

static const struct crud webhooks = {.resource = &webhook_resource, .list = &webhook_list, .items = WEBHOOKS "/"};

static const struct parent_ref by_webhook = {.param = "webhook_id", .table = "webhook_subscription", .name = "webhook"};
static const struct crud deliveries = {.list = &webhook_delivery_list, .parent = &by_webhook};

static duban_status run_create(struct call *c, const void *input, const struct idempotency *idem, struct created *out)
{
    return webhook_create(c, input, idem, out);
}

/* POST /webhooks: the answer always carries the whole subscription, since
 * its secret is shown there only (Prefer: return=minimal is not honoured). */
static int cb_webhook_create(const struct _u_request *req, struct _u_response *res, void *route_ctx)
{
    struct app *app = ((struct route_ctx *)route_ctx)->app;
    json_t *body;
    if (known_query_or_reply(req, res, NULL, NULL) != 0 || json_body_or_reply(req, res, 0, &body) != 0)
        return U_CALLBACK_COMPLETE;
    struct post post = {.run = run_create, .input = body, .status = 201, .items = WEBHOOKS "/",
                        .flags = ANSWER_VERSIONED};
    keep_out_of_caches(res);
    int rc = post_and_reply(req, res, app, &post);
    json_decref(body);
    return rc;
}

/* What a queued send is asked: the subscription, and the event to send
 * again (NULL: a test event). */
struct send_request {
    int64_t id;
    const char *event_id;
};

static duban_status run_send(struct call *c, const void *input, const struct idempotency *idem, struct created *out)
{
    const struct send_request *in = input;
    return in->event_id ? webhook_redeliver(c, in->id, in->event_id, idem, out) : webhook_test(c, in->id, idem, out);
}

/* POST /webhooks/{id}/test and /webhooks/{id}/deliveries/{event_id}/redeliver:
 * 202, the send being queued for the delivery worker. A body is not read. */
static int cb_webhook_send(const struct _u_request *req, struct _u_response *res, void *route_ctx)
{
    struct app *app = ((struct route_ctx *)route_ctx)->app;
    int redeliver = ((struct route_ctx *)route_ctx)->target == &deliveries;
    static const char *const event_only[] = {"event_id", NULL};
    struct send_request in = {0};
    if (path_id_or_reply(req, res, &in.id) != 0 || known_query_or_reply(req, res, redeliver ? event_only : NULL, NULL) != 0)
        return U_CALLBACK_COMPLETE;
    in.event_id = redeliver ? u_map_get(req->map_url, "event_id") : NULL;
    if (redeliver && !in.event_id)
        return reply_problem(req, res, 404, "no event at this path", NULL);
    struct post post = {.run = run_send, .input = &in, .status = 202};
    return post_and_reply(req, res, app, &post);
}

void webhooks_register(struct router *r)
{
    router_add(r, "GET", WEBHOOKS, cb_crud_list, &webhooks);
    router_add(r, "POST", WEBHOOKS, cb_webhook_create, &webhooks);
    router_add(r, "GET", WEBHOOK, cb_crud_get, &webhooks);
    router_add(r, "PATCH", WEBHOOK, cb_crud_patch, &webhooks);
    router_add(r, "DELETE", WEBHOOK, cb_crud_delete, &webhooks);
    router_add(r, "GET", WEBHOOK "/deliveries", cb_crud_list, &deliveries);
    router_add(r, "POST", WEBHOOK "/deliveries/:event_id/redeliver", cb_webhook_send, &deliveries);
    router_add(r, "POST", WEBHOOK "/test", cb_webhook_send, &webhooks);
}
