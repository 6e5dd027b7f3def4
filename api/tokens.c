/* Tokens over HTTP, for admins (the router sees to that). A token's
 * secret appears once, in the answer to its creation. */
#include <stdio.h>

#include "api/answer.h"
#include "api/app.h"
#include "api/crud.h"
#include "api/exchange.h"
#include "api/problem.h"
#include "api/request.h"
#include "api/router.h"
#include "api/routes.h"
#include "model/token.h"
#include "model/token_cache.h"

static const struct crud tokens = {.resource = &token_resource, .list = &token_list, .items = "/api/v1/tokens/"};

static int cb_token_create(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    struct app *app = ((struct route_ctx *)ctx)->app;
    if (header(req, "Idempotency-Key"))
        return reply_problem(req, res, 400,
                             "a token cannot be created idempotently: its secret is never stored, so it cannot be "
                             "replayed; create it without Idempotency-Key",
                             NULL);
    json_t *body, *doc = NULL;
    if (known_query_or_reply(req, res, NULL, NULL) != 0 || json_body_or_reply(req, res, 0, &body) != 0)
        return U_CALLBACK_COMPLETE;
    struct call c;
    call_for_request(&c, res, app);
    duban_status s = token_create(&c, body, &doc);
    json_decref(body);
    if (s == DUBAN_OK) {
        char location[64];
        snprintf(location, sizeof location, "/api/v1/tokens/%lld",
                 (long long)json_integer_value(json_object_get(doc, "id")));
        ulfius_add_header_to_response(res, "Location", location);
        keep_out_of_caches(res);
    }
    return reply_call(req, res, &c, s, doc, 201, ANSWER_VERSIONED);
}

static int cb_token_revoke(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    struct app *app = ((struct route_ctx *)ctx)->app;
    int64_t id, version;
    if (path_id_or_reply(req, res, &id) != 0 || known_query_or_reply(req, res, NULL, NULL) != 0 ||
        if_match_or_reply(req, res, app, &version) != 0)
        return U_CALLBACK_COMPLETE;
    struct call c;
    call_for_request(&c, res, app);
    duban_status s = token_revoke(&c, id, version);
    if (s == DUBAN_OK)
        token_cache_clear(app->tokens);
    int rc = s == DUBAN_OK ? reply_empty(res, 204) : reply_failure(req, res, &c, s);
    call_clear(&c);
    return rc;
}

void tokens_register(struct router *r)
{
    router_add(r, "GET", "/api/v1/tokens", cb_crud_list, &tokens);
    router_add(r, "POST", "/api/v1/tokens", cb_token_create, &tokens);
    router_add(r, "GET", "/api/v1/tokens/:" ROUTE_ID, cb_crud_get, &tokens);
    router_add(r, "DELETE", "/api/v1/tokens/:" ROUTE_ID, cb_token_revoke, &tokens);
}
