/* Operations endpoints, open to all: liveness, readiness and metrics. */
#include <stdio.h>

#include "api/app.h"
#include "api/answer.h"
#include "api/exchange.h"
#include "api/problem.h"
#include "api/router.h"
#include "api/routes.h"
#include "model/call.h"
#include "model/db.h"
#include "model/migrate.h"

static int cb_healthz(const struct _u_request *req, struct _u_response *res, void *app)
{
    (void)req;
    (void)app;
    static const char body[] = "{\"status\":\"ok\"}";
    return reply_text(res, 200, body, sizeof body - 1, "application/json");
}

/* Ready when the primary answers and every migration is applied; the
 * answer says which databases this instance reaches (the standby, when
 * there is one, only serves reads: it does not decide readiness). */
static int cb_readyz(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    struct app *app = ((struct route_ctx *)ctx)->app;
    struct call c;
    call_for_request(&c, res, app);
    c.read_standby = 0;
    duban_status s = migrate_check_current(&c);
    const char *standby = db_standby_state(app->db);
    int rc;
    if (s == DUBAN_OK) {
        char body[160];
        int len = snprintf(body, sizeof body, "{\"status\":\"ready\",\"databases\":{\"primary\":\"up\",\"standby\":\"%s\"}}",
                           standby);
        rc = reply_text(res, 200, body, (size_t)len, "application/json");
    } else {
        char detail[300];
        snprintf(detail, sizeof detail, "not ready: %s (standby: %s)", c.detail, standby);
        rc = reply_problem(req, res, 503, detail, NULL);
    }
    call_clear(&c);
    return rc;
}

/* Prometheus text exposition of the request counters. */
static int cb_metrics(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    (void)req;
    struct app *app = ((struct route_ctx *)ctx)->app;
    long standby = 0, primary = 0;
    db_standby_counts(app->db, &standby, &primary);
    char body[1024];
    int len = snprintf(body, sizeof body,
                       "# HELP duban_requests_total Requests received.\n"
                       "# TYPE duban_requests_total counter\n"
                       "duban_requests_total %ld\n"
                       "# HELP duban_responses_5xx_total Responses with a 5xx status.\n"
                       "# TYPE duban_responses_5xx_total counter\n"
                       "duban_responses_5xx_total %ld\n"
                       "# HELP duban_requests_in_flight Requests being handled.\n"
                       "# TYPE duban_requests_in_flight gauge\n"
                       "duban_requests_in_flight %d\n"
                       "# HELP duban_standby_reads_total Reads the streaming standby answered.\n"
                       "# TYPE duban_standby_reads_total counter\n"
                       "duban_standby_reads_total %ld\n"
                       "# HELP duban_standby_passed_reads_total Reads the standby could have answered that went to the "
                       "primary (it lagged, had not replayed the client's write, or failed).\n"
                       "# TYPE duban_standby_passed_reads_total counter\n"
                       "duban_standby_passed_reads_total %ld\n",
                       atomic_load(&app->requests_total), atomic_load(&app->responses_5xx),
                       atomic_load(&app->in_flight), standby, primary);
    return reply_text(res, 200, body, (size_t)len, "text/plain; version=0.0.4; charset=utf-8");
}

void health_register(struct router *r)
{
    router_add(r, "GET", "/healthz", cb_healthz, NULL);
    router_add(r, "GET", "/readyz", cb_readyz, NULL);
    router_add(r, "GET", "/metrics", cb_metrics, NULL);
}
