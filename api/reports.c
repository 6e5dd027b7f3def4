/* Routes that answer with something other than a stored row: statistics
 * per unit and per leader, and a plan's summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/answer.h"
#include "api/exchange.h"
#include "api/problem.h"
#include "api/request.h"
#include "api/router.h"
#include "api/routes.h"
#include "model/stats.h"

/* A statistics route's target: the model function that computes it. */
struct report {
    duban_status (*compute)(struct call *c, int64_t plan_id, json_t **out);
};

static const struct report unit_report = {stats_units}, leader_report = {stats_leaders};

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
    return reply_call(req, res, &c, s, body, 200, 0);
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
    return reply_call(req, res, &c, s, body, 200, 0);
}

void reports_register(struct router *r)
{
    router_add(r, "GET", "/api/v1/stats/units", cb_stats, &unit_report);
    router_add(r, "GET", "/api/v1/stats/leaders", cb_stats, &leader_report);
    router_add(r, "GET", "/api/v1/plans/:" ROUTE_ID "/summary", cb_plan_summary, NULL);
}
