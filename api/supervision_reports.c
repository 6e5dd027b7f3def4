/* The reports of the supervision loop over HTTP (supervision.md):
 * GET /api/v1/supervision/missing-reports, /api/v1/scorecards/units and
 * /leaders (JSON, or CSV for Accept: text/csv) and
 * /api/v1/plans/{id}/bulletin (JSON, Chinese plain text or Markdown, by
 * Accept). The model (model/supervision_reports.h) reads and checks the
 * query parameters. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/answer.h"
#include "api/app.h"
#include "api/exchange.h"
#include "api/problem.h"
#include "api/request.h"
#include "api/router.h"
#include "api/routes.h"
#include "model/supervision_reports.h"

/* The q-value of a media range's parameters (";level=1;q=0.5"): 1 when
 * absent, 0 when unreadable. */
static double media_q(const char *params, size_t len)
{
    for (const char *p = params; p < params + len; p++) {
        if (*p != ';')
            continue;
        p += strspn(p + 1, " \t") + 1;
        if (p + 2 <= params + len && (*p == 'q' || *p == 'Q') && p[1] == '=') {
            char *end;
            double q = strtod(p + 2, &end);
            return end > p + 2 && end <= params + len && q >= 0 && q <= 1 ? q : 0;
        }
    }
    return 1;
}

/* 1 when the media range (type/subtype, possibly with * wildcards) covers type. */
static int range_covers(const char *range, size_t len, const char *type)
{
    if (len == 3 && strncmp(range, "*/*", 3) == 0)
        return 1;
    size_t slash = strcspn(type, "/");
    if (len == slash + 2 && strncasecmp(range, type, slash + 1) == 0 && range[slash + 1] == '*')
        return 1;
    return len == strlen(type) && strncasecmp(range, type, len) == 0;
}

/* The index of the type of `offered` (n of them, the server's preference
 * first) that the Accept header prefers: the highest q-value of the ranges
 * covering each, ties to the earlier offered; the first when there is no
 * header; -1 when none is acceptable. */
static int negotiate(const struct _u_request *req, const char *const *offered, int n)
{
    const char *accept = header(req, "Accept");
    if (!accept)
        return 0;
    int best = -1;
    double best_q = 0;
    for (int i = 0; i < n; i++) {
        double q = -1;
        int specific = -1;   /* exact 2, type wildcard 1, any 0: the most specific range decides */
        for (const char *p = accept; *p;) {
            p += strspn(p, " \t,");
            size_t len = strcspn(p, ","), range = strcspn(p, " \t;,");
            int s = !range ? -1 : range == 3 && strncmp(p, "*/*", 3) == 0 ? 0 : p[range - 1] == '*' ? 1 : 2;
            if (s > specific && range_covers(p, range, offered[i])) {
                specific = s;
                q = media_q(p + range, len - range);
            }
            p += len;
        }
        if (q > best_q) {
            best = i;
            best_q = q;
        }
    }
    return best;
}

/* The form the Accept header asks for: its index in offered (n of them);
 * -1 after answering 406 naming them when none is acceptable. */
static int form_or_reply(const struct _u_request *req, struct _u_response *res, const char *const *offered, int n)
{
    int form = negotiate(req, offered, n);
    if (form >= 0)
        return form;
    char detail[256] = "this report is available as";
    for (int i = 0; i < n; i++) {
        size_t used = strlen(detail);
        snprintf(detail + used, sizeof detail - used, "%s %s", i ? (i + 1 == n ? " or" : ",") : "", offered[i]);
    }
    reply_problem(req, res, 406, detail, NULL);
    return -1;
}

/* Answers the outcome of a call that made text of this media type (the
 * text is freed here), and clears the call. */
static int reply_text_call(const struct _u_request *req, struct _u_response *res, struct call *c, duban_status s,
                           char *text, const char *type)
{
    char content_type[64];
    snprintf(content_type, sizeof content_type, "%s; charset=utf-8", type);
    int rc = s == DUBAN_OK ? reply_text(res, 200, text, strlen(text), content_type) : reply_failure(req, res, c, s);
    free(text);
    call_clear(c);
    return rc;
}

static int cb_missing_reports(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    struct app *app = ((struct route_ctx *)ctx)->app;
    struct param_list q;
    if (query_or_reply(req, res, &q) != 0)
        return U_CALLBACK_COMPLETE;
    struct call c;
    call_for_request(&c, res, app);
    json_t *body = NULL;
    duban_status s = missing_reports_list(&c, &q, &body);
    return reply_call(req, res, &c, s, body, 200, 0);
}

static const enum scorecard_kind unit_cards = SCORECARD_UNITS, leader_cards = SCORECARD_LEADERS;

/* JSON, or CSV for Accept: text/csv. */
static int cb_scorecard(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    struct app *app = ((struct route_ctx *)ctx)->app;
    enum scorecard_kind kind = *(const enum scorecard_kind *)((struct route_ctx *)ctx)->target;
    static const char *const offered[] = {"application/json", "text/csv"};
    struct param_list q;
    int form;
    if (query_or_reply(req, res, &q) != 0 || (form = form_or_reply(req, res, offered, 2)) < 0)
        return U_CALLBACK_COMPLETE;
    struct call c;
    call_for_request(&c, res, app);
    json_t *body = NULL;
    char *csv = NULL;
    duban_status s = form == 0 ? scorecard_get(&c, kind, &q, &body) : scorecard_csv(&c, kind, &q, &csv);
    return form == 0 ? reply_call(req, res, &c, s, body, 200, 0) : reply_text_call(req, res, &c, s, csv, offered[form]);
}

/* JSON, Chinese plain text or Markdown, by Accept. */
static int cb_bulletin(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    struct app *app = ((struct route_ctx *)ctx)->app;
    /* in the order of enum bulletin_format */
    static const char *const offered[] = {"application/json", "text/plain", "text/markdown"};
    struct param_list q;
    int64_t id;
    int form;
    if (path_id_or_reply(req, res, &id) != 0 || query_or_reply(req, res, &q) != 0 ||
        (form = form_or_reply(req, res, offered, 3)) < 0)
        return U_CALLBACK_COMPLETE;
    struct call c;
    call_for_request(&c, res, app);
    json_t *body = NULL;
    char *text = NULL;
    duban_status s = form == BULLETIN_JSON ? bulletin_get(&c, id, &q, &body)
                                           : bulletin_text(&c, id, &q, (enum bulletin_format)form, &text);
    return form == BULLETIN_JSON ? reply_call(req, res, &c, s, body, 200, 0)
                                 : reply_text_call(req, res, &c, s, text, offered[form]);
}

void supervision_reports_register(struct router *r)
{
    router_add(r, "GET", "/api/v1/supervision/missing-reports", cb_missing_reports, NULL);
    router_add(r, "GET", "/api/v1/scorecards/units", cb_scorecard, &unit_cards);
    router_add(r, "GET", "/api/v1/scorecards/leaders", cb_scorecard, &leader_cards);
    router_add(r, "GET", "/api/v1/plans/:" ROUTE_ID "/bulletin", cb_bulletin, NULL);
}
