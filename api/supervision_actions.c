/* The routes of the supervision loop's actions (model/supervision_actions.h):
 * acknowledgements, closure requests and their decisions, urges and
 * replies, each an idempotent POST naming its row in the path; and the
 * lists and items of closure requests and urges, served by api/crud.c.
 * Who may act is the router's (api/auth.c: readers never, decisions and
 * urges editors, the rest reporters too); a reporter's unit is the
 * model's. */
#include "api/answer.h"
#include "api/app.h"
#include "api/crud.h"
#include "api/posting.h"
#include "api/request.h"
#include "api/router.h"
#include "api/routes.h"
#include "model/supervision_actions.h"

#define API "/api/v1"

/* What a route does: the model action, its statuses, where the row its
 * answer names lives (NULL: no Location) and by which member, whether
 * If-Match applies (to the closure request or urge it changes). */
struct action_route {
    supervision_action run;
    int status, status_again;
    const char *items, *id_member;
    unsigned flags;
    int conditional;
};

static const struct action_route acknowledge = {acknowledgement_create, 201, 200, API "/tasks/", "task_id", 0, 0};
static const struct action_route request_closure = {closure_request_create, 201, 0, API "/closure-requests/", NULL,
                                                    ANSWER_VERSIONED, 0};
static const struct action_route decide = {closure_request_decide, 200, 0, NULL, NULL, ANSWER_VERSIONED, 1};
static const struct action_route urge = {urge_create, 201, 0, API "/urges/", NULL, ANSWER_VERSIONED, 0};
static const struct action_route reply = {urge_reply, 200, 0, NULL, NULL, ANSWER_VERSIONED, 1};

/* An action's input: what to run, and what it is asked. */
struct acting {
    supervision_action run;
    struct action_request request;
};

static duban_status run_action(struct call *c, const void *input, const struct idempotency *idem, struct created *out)
{
    const struct acting *a = input;
    return a->run(c, &a->request, idem, out);
}

/* The version If-Match names on a conditional route (0 without one). It
 * is honoured, never required: api.md asks it of PUT, PATCH and DELETE. */
static int if_match_given_or_reply(const struct _u_request *req, struct _u_response *res, struct app *app,
                                   const struct action_route *route, int64_t *version)
{
    *version = 0;
    if (!route->conditional || !header(req, "If-Match"))
        return 0;
    return if_match_or_reply(req, res, app, version);
}

/* POST on a task, a closure request or an urge: the id in the path, no
 * query, If-Match where it applies, a JSON object, then the action. */
static int cb_action(const struct _u_request *req, struct _u_response *res, void *route_ctx)
{
    struct app *app = ((struct route_ctx *)route_ctx)->app;
    const struct action_route *route = ((struct route_ctx *)route_ctx)->target;
    struct acting in = {.run = route->run};
    json_t *body;
    if (path_id_or_reply(req, res, &in.request.id) != 0 || known_query_or_reply(req, res, NULL, NULL) != 0 ||
        if_match_given_or_reply(req, res, app, route, &in.request.if_version) != 0 ||
        json_body_or_reply(req, res, 0, &body) != 0)
        return U_CALLBACK_COMPLETE;
    in.request.body = body;
    struct post post = {.run = run_action, .input = &in, .status = route->status, .status_again = route->status_again,
                        .items = route->items, .id_member = route->id_member,
                        .flags = route->flags | preferred_return(req)};
    int rc = post_and_reply(req, res, app, &post);
    json_decref(body);
    return rc;
}

static const struct crud closure_requests = {
    .resource = &closure_request_resource, .list = &closure_request_list, .items = API "/closure-requests/"};
static const struct crud urges = {.resource = &urge_resource, .list = &urge_list, .items = API "/urges/"};

void supervision_actions_register(struct router *r)
{
    router_add(r, "POST", API "/tasks/:" ROUTE_ID "/acknowledgements", cb_action, &acknowledge);
    router_add(r, "POST", API "/tasks/:" ROUTE_ID "/closure-requests", cb_action, &request_closure);
    router_add(r, "POST", API "/closure-requests/:" ROUTE_ID "/decision", cb_action, &decide);
    router_add(r, "GET", API "/closure-requests", cb_crud_list, &closure_requests);
    router_add(r, "GET", API "/closure-requests/:" ROUTE_ID, cb_crud_get, &closure_requests);
    router_add(r, "POST", API "/tasks/:" ROUTE_ID "/urges", cb_action, &urge);
    router_add(r, "POST", API "/urges/:" ROUTE_ID "/reply", cb_action, &reply);
    router_add(r, "GET", API "/urges", cb_crud_list, &urges);
    router_add(r, "GET", API "/urges/:" ROUTE_ID, cb_crud_get, &urges);
}
