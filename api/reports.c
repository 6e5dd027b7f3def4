/* Routes that answer with something other than a stored row: statistics
 * per unit and per leader, a plan's summary, and merging two units. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/crud.h"
#include "api/exchange.h"
#include "api/problem.h"
#include "api/request.h"
#include "api/router.h"
#include "api/routes.h"
#include "model/stats.h"
#include "model/token_cache.h"
#include "model/unit.h"

/* A statistics route's target: the model function that computes it. */
struct report {
    duban_status (*compute)(struct call *c, int64_t plan_id, json_t **out);
};

static const struct report unit_report = {stats_units}, leader_report = {stats_leaders};

/* Answers with the outcome of a call that produced a JSON body; a stored
 * row (`versioned`) gets its ETag. */
static int reply_outcome(const struct _u_request *req, struct _u_response *res, struct call *c, duban_status s,
                         json_t *body, int versioned)
{
    int rc = s != DUBAN_OK ? reply_failure(req, res, c, s)
             : versioned   ? reply_document(res, 200, body)
                           : reply_json(res, 200, body);
    json_decref(body);
    call_clear(c);
    return rc;
}

/* GET /api/v1/stats/units and /stats/leaders: the only parameter is an
 * optional plan_id. */
static int cb_stats(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    struct app *app = ((struct route_ctx *)ctx)->app;
    const struct report *report = ((struct route_ctx *)ctx)->target;
    struct param_list q;
    if (query_or_reply(req, res, &q) != 0)
        return U_CALLBACK_COMPLETE;
    int64_t plan_id = 0;
    for (size_t i = 0; i < q.count; i++) {
        char *end = NULL;
        long long v = strcmp(q.items[i].name, "plan_id") == 0 && q.items[i].value ? strtoll(q.items[i].value, &end, 10) : 0;
        if (v <= 0 || *end) {
            json_t *errors = json_pack("[{s:s,s:s}]", "field", q.items[i].name, "message",
                                       strcmp(q.items[i].name, "plan_id") == 0 ? "must be a positive id"
                                                                               : "is not a parameter of this report");
            reply_problem(req, res, 400, "the query has a bad parameter", errors);
            json_decref(errors);
            return U_CALLBACK_COMPLETE;
        }
        plan_id = v;
    }
    struct call c;
    call_for_request(&c, res, app);
    json_t *body = NULL;
    duban_status s = report->compute(&c, plan_id, &body);
    return reply_outcome(req, res, &c, s, body, 0);
}

static int cb_plan_summary(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    struct app *app = ((struct route_ctx *)ctx)->app;
    int64_t id;
    if (path_id_or_reply(req, res, &id) != 0 || known_query_or_reply(req, res, NULL, NULL) != 0)
        return U_CALLBACK_COMPLETE;
    struct call c;
    call_for_request(&c, res, app);
    json_t *body = NULL;
    duban_status s = plan_summary(&c, id, &body);
    return reply_outcome(req, res, &c, s, body, 0);
}

/* POST /api/v1/units/{id}/merge with {"from": other_id}. */
static int cb_unit_merge(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    struct app *app = ((struct route_ctx *)ctx)->app;
    int64_t id;
    json_t *body;
    if (path_id_or_reply(req, res, &id) != 0 || known_query_or_reply(req, res, NULL, NULL) != 0 ||
        json_body_or_reply(req, res, 0, &body) != 0)
        return U_CALLBACK_COMPLETE;
    json_t *from = json_object_get(body, "from");
    int well_formed = json_is_integer(from) && json_object_size(body) == 1;
    json_int_t from_id = json_integer_value(from);
    json_decref(body);
    if (!well_formed)
        return reply_problem(req, res, 400, "the body must be {\"from\": <id of the unit to merge into this one>}", NULL);
    if (from_id <= 0)
        return reply_problem(req, res, 422, "from must be a positive unit id", NULL);
    struct request_key key;
    const struct idempotency *idem;
    if (idempotency_or_reply(req, res, "/api/v1/units/", &key, &idem) != 0) {
        request_key_clear(&key);
        return U_CALLBACK_COMPLETE;
    }
    struct call c;
    call_for_request(&c, res, app);
    struct created out;
    duban_status s = unit_merge(&c, id, from_id, idem, &out);
    request_key_clear(&key);
    if (s == DUBAN_OK)
        token_cache_clear(app->tokens); /* reporter tokens of the merged unit moved */
    if (s == DUBAN_OK && out.replayed)
        ulfius_add_header_to_response(res, "Idempotent-Replayed", "true");
    return reply_outcome(req, res, &c, s, out.doc, 1);
}

void reports_register(struct router *r)
{
    router_add(r, "GET", "/api/v1/stats/units", cb_stats, &unit_report);
    router_add(r, "GET", "/api/v1/stats/leaders", cb_stats, &leader_report);
    router_add(r, "GET", "/api/v1/plans/:" ROUTE_ID "/summary", cb_plan_summary, NULL);
    router_add(r, "POST", "/api/v1/units/:" ROUTE_ID "/merge", cb_unit_merge, NULL);
}
