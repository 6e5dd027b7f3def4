/* The query and the window of the supervision reports (see
 * model/report_window.h). */
#include "model/report_window.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/dates.h"
#include "model/periods.h"
#include "model/resource_def.h"
#include "model/text.h"

/* A report's query as given; every member is optional but plan_id. */
struct report_request {
    int64_t plan_id;
    int has_period;
    struct period period;
    const char *as_of, *from, *to;   /* borrowed from the query, or NULL */
};

/* Where a report stands (see report_run), every date YYYY-MM-DD, "" for
 * none. */
struct report_window {
    char plan_id[24];
    char plan_start[11];
    char as_of[11];
    char from[11], to[11];
    char period[12];
    char period_start[11], period_end[11];
};

/* A positive id written in decimal digits, or -1. */
static long long positive_id(const char *text)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    return errno || *end || v < 1 ? -1 : v;
}

/* The set a parameter belongs to, or 0 for one no report reads. */
static unsigned param_kind(const char *name)
{
    static const struct {
        const char *name;
        unsigned kind;
    } known[] = {{"plan_id", REPORT_PLAN_ID}, {"period", REPORT_PERIOD}, {"as_of", REPORT_AS_OF},
                 {"from", REPORT_WINDOW},     {"to", REPORT_WINDOW}};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(known[i].name, name) == 0)
            return known[i].kind;
    return 0;
}

/* Checks one parameter of a kind the report reads and stores its value. */
static void read_param(struct call *c, const char *name, const char *v, struct report_request *out)
{
    char shown[256];
    text_quote(shown, sizeof shown, v, strlen(v), 60);
    if (strcmp(name, "plan_id") == 0) {
        if ((out->plan_id = positive_id(v)) < 1)
            call_field_error(c, name, "'%s' is not a positive id", shown);
    } else if (strcmp(name, "period") == 0) {
        if (!(out->has_period = period_parse(v, &out->period) == 0))
            call_field_error(c, name, "'%s' is not %s", shown, PERIOD_RULE);
    } else if (!date_valid(v)) {
        call_field_error(c, name, "'%s' is not %s", shown, DATE_RULE);
    } else {
        *(strcmp(name, "as_of") == 0 ? &out->as_of : strcmp(name, "from") == 0 ? &out->from : &out->to) = v;
    }
}

/* Reads q: the parameters of `allowed`, every bad or unknown one named. */
static duban_status report_request_read(struct call *c, const struct param_list *q, unsigned allowed,
                                        struct report_request *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < q->count; i++) {
        const char *name = q->items[i].name;
        if (!(param_kind(name) & allowed))
            call_field_error(c, name, "is not a parameter of this report");
        else
            read_param(c, name, q->items[i].value ? q->items[i].value : "", out);
    }
    if ((allowed & REPORT_PLAN_ID) && !params_get(q, "plan_id"))
        call_field_error(c, "plan_id", "is required: the plan to report on");
    if (out->from && out->to && strcmp(out->from, out->to) > 0)
        call_field_error(c, "to", "%s is before from, %s", out->to, out->from);
    if (c->errors)
        snprintf(c->detail, sizeof c->detail, "the query has %zu bad parameter(s)", json_array_size(c->errors));
    return call_errors_status(c, DUBAN_BAD_INPUT);
}

/* The plan's start, today, and the period shown: the one given, else the
 * last of the plan's cadence ended before as_of (none when it is none). */
static const char RESOLVE_SQL[] =
    "SELECT to_char(coalesce(p.starts_on, p.issued_on, p.created_at::date), 'YYYY-MM-DD'), "
    "to_char(current_date, 'YYYY-MM-DD'), coalesce(period_label(k.cadence, s.start), ''), "
    "coalesce(to_char(s.start, 'YYYY-MM-DD'), ''), coalesce(to_char(period_end(k.cadence, s.start), 'YYYY-MM-DD'), '') "
    "FROM plan p "
    "CROSS JOIN LATERAL (SELECT coalesce($2, nullif(p.report_cadence, 'none')) AS cadence) k "
    "CROSS JOIN LATERAL (SELECT coalesce($3::date, period_start(k.cadence, "
    " period_start(k.cadence, coalesce($4::date, current_date)) - 1)) AS start) s "
    "WHERE p.id = $1";

static void copy_date(char out[11], const char *text) { snprintf(out, 11, "%s", text); }

/* Resolves rq against its plan (see report_run). */
static duban_status report_window_resolve(struct call *c, PGconn *conn, const struct report_request *rq,
                                          struct report_window *w)
{
    char start[11];
    memset(w, 0, sizeof *w);
    id_text(rq->plan_id, w->plan_id);
    const char *params[] = {w->plan_id, rq->has_period ? period_cadence_name(rq->period.cadence) : NULL,
                            rq->has_period ? period_start_text(&rq->period, start) : NULL, rq->as_of};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res, RESOLVE_SQL, 4, params);
    if (s != DUBAN_OK)
        return s;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return call_fail(c, DUBAN_NOT_FOUND, "plan %s does not exist", w->plan_id);
    }
    const char *today = PQgetvalue(res, 0, 1);
    copy_date(w->plan_start, PQgetvalue(res, 0, 0));
    copy_date(w->as_of, rq->as_of ? rq->as_of : today);
    snprintf(w->period, sizeof w->period, "%s", PQgetvalue(res, 0, 2));
    copy_date(w->period_start, PQgetvalue(res, 0, 3));
    copy_date(w->period_end, PQgetvalue(res, 0, 4));
    copy_date(w->from, rq->from ? rq->from : w->plan_start);
    copy_date(w->to, rq->to && strcmp(rq->to, w->as_of) < 0 ? rq->to : w->as_of);
    duban_status status = DUBAN_INVALID;
    if (strcmp(w->as_of, w->plan_start) < 0) {
        call_field_error(c, "as_of", "%s is before the plan's start, %s", w->as_of, w->plan_start);
        call_fail(c, status, "the plan had not started on %s: it starts on %s", w->as_of, w->plan_start);
    } else if (strcmp(w->as_of, today) > 0) {
        call_field_error(c, "as_of", "%s is after today, %s", w->as_of, today);
        call_fail(c, status, "a report stands as of today (%s) or an earlier day", today);
    } else if (strcmp(w->from, w->to) > 0) {
        call_field_error(c, "from", "%s is after the window's last day, %s (to, never after as_of)", w->from, w->to);
        status = call_fail(c, DUBAN_BAD_INPUT, "the window from %s to %s is empty", w->from, w->to);
    }
    PQclear(res);
    return call_errors_status(c, status);
}

enum { REPORT_NVALUES = 7 };

/* The values of REPORT_Q's parameters. */
static void report_values(const struct report_window *w, const char *values[REPORT_NVALUES])
{
    values[0] = w->plan_id;
    values[1] = w->as_of;
    values[2] = w->from;
    values[3] = w->to;
    values[4] = w->period_start[0] ? w->period_start : NULL;
    values[5] = w->period_end[0] ? w->period_end : NULL;
    values[6] = w->period[0] ? w->period : NULL;
}

struct report_args {
    const struct report_request *rq;
    const char *sql;
    json_t **out;
};

static duban_status report_work(struct call *c, PGconn *conn, void *arg)
{
    struct report_args *a = arg;
    struct report_window w;
    duban_status s = report_window_resolve(c, conn, a->rq, &w);
    if (s != DUBAN_OK)
        return s;
    const char *values[REPORT_NVALUES];
    report_values(&w, values);
    return query_json(c, conn, a->out, a->sql, REPORT_NVALUES, values);
}

duban_status report_run(struct call *c, const struct param_list *q, unsigned allowed, int64_t plan_id,
                        const char *sql, json_t **out)
{
    struct report_request rq;
    *out = NULL;
    duban_status s = report_request_read(c, q, allowed, &rq);
    if (s != DUBAN_OK)
        return s;
    if (plan_id)
        rq.plan_id = plan_id;
    struct report_args a = {&rq, sql, out};
    return db_read(c, report_work, &a);
}

duban_status report_text(struct call *c, duban_status s, json_t *doc, report_render render, int form, char **out)
{
    *out = s == DUBAN_OK ? render(doc, form) : NULL;
    json_decref(doc);
    return s != DUBAN_OK || *out ? s : call_fail(c, DUBAN_ERROR, "out of memory");
}
