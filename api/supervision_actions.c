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

/* What a route does: the model action, its statuses and where the rows
 * it answers with live (NULL: no Location). */
struct action_route {
    supervision_action run;
    int status, status_again;
    const char *items;
    unsigned flags;
};

static const struct action_route acknowledge = {acknowledgement_create, 201, 200, NULL, 0};
static const struct action_route request_closure = {closure_request_create, 201, 0, API "/closure-requests/",
                                                    ANSWER_VERSIONED};
static const struct action_route decide = {closure_request_decide, 200, 0, NULL, ANSWER_VERSIONED};
static const struct action_route urge = {urge_create, 201, 0, API "/urges/", ANSWER_VERSIONED};
static const struct action_route reply = {urge_reply, 200, 0, NULL, ANSWER_VERSIONED};

/* An action's input: the row of the path and the body. */
struct acting {
    supervision_action run;
    int64_t id;
    const json_t *body;
};

static duban_status run_action(struct call *c, const void *input, const struct idempotency *idem, struct created *out)
{
    const struct acting *a = input;
    return a->run(c, a->id, a->body, idem, out);
}

/* POST on a task, a closure request or an urge: the id in the path, no
 * query, a JSON object, then the action. */
static int cb_action(const struct _u_request *req, struct _u_response *res, void *route_ctx)
{
    struct app *app = ((struct route_ctx *)route_ctx)->app;
    const struct action_route *route = ((struct route_ctx *)route_ctx)->target;
    struct acting in = {.run = route->run};
    json_t *body;
    if (path_id_or_reply(req, res, &in.id) != 0 || known_query_or_reply(req, res, NULL, NULL) != 0 ||
        json_body_or_reply(req, res, 0, &body) != 0)
        return U_CALLBACK_COMPLETE;
    in.body = body;
    struct post post = {.run = run_action, .input = &in, .status = route->status, .status_again = route->status_again,
                        .items = route->items, .flags = route->flags | preferred_return(req)};
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
