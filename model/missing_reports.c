/* Missing reports (supervision.md): the reports a period expected that do
 * not exist. What is expected is task_report_periods' (migration 0008):
 * for each task of the plan, the reporting periods of its own cadence
 * (else the plan's) that ended within the period asked for and before
 * as_of, while the task was assigned and not yet closed; a report is a
 * progress log of the lead unit (position 1) dated in the period and
 * written by the end of as_of. For a task of the plan's cadence that is
 * exactly the period asked for; a task reporting weekly has an item for
 * each of its weeks that ended within a month asked for, and a quarterly
 * one for its quarter when it ends within that month. */
#include <stdio.h>
#include <stdlib.h>

#include "model/report_window.h"
#include "model/resource_def.h"
#include "model/supervision_reports.h"

void missing_reports_sql(char *buf, size_t size)
{
    snprintf(buf, size,
             "(SELECT t.id AS task_id, array_to_string(t.path, '.') AS path, "
             REPORT_TASK_TITLE " AS title, x.unit_id, u.name AS unit_name, x.period, x.due_on, "
             "row_number() OVER (ORDER BY t.path, t.id, x.starts_on) AS n "
             "FROM plan p JOIN task t ON t.plan_id = p.id "
             "CROSS JOIN LATERAL task_report_periods(p, t, q.lo, q.hi, q.as_of) x JOIN unit u ON u.id = x.unit_id "
             "WHERE p.id = q.plan_id AND x.state = 'missing') m");
}

struct missing_query {
    const struct report_request *rq;
    json_t **out;
};

static duban_status missing_work(struct call *c, PGconn *conn, void *arg)
{
    struct missing_query *a = arg;
    struct report_window w;
    duban_status s = report_window_resolve(c, conn, a->rq, &w);
    if (s != DUBAN_OK)
        return s;
    char rows[2048], sql[4096], limit[24], offset[24], end[24];
    snprintf(limit, sizeof limit, "%ld", a->rq->limit);
    snprintf(offset, sizeof offset, "%ld", a->rq->offset);
    snprintf(end, sizeof end, "%ld", a->rq->offset + a->rq->limit);
    missing_reports_sql(rows, sizeof rows);
    /* $7 is the limit, rows $8 < n <= $9 the page */
    snprintf(sql, sizeof sql,
             REPORT_Q "SELECT json_build_object('items', coalesce(json_agg(json_build_object(" MISSING_REPORT_MEMBERS ") ORDER BY m.n) "
             "FILTER (WHERE m.n > $8 AND m.n <= $9), '[]'), 'total', count(m.n), 'limit', $7::integer, "
             "'offset', $8::integer) FROM q CROSS JOIN LATERAL %s",
             rows);
    const char *values[REPORT_NVALUES + 3];
    report_values(&w, values);
    values[REPORT_NVALUES] = limit;
    values[REPORT_NVALUES + 1] = offset;
    values[REPORT_NVALUES + 2] = end;
    return query_json(c, conn, a->out, sql, REPORT_NVALUES + 3, values);
}

duban_status missing_reports_list(struct call *c, const struct param_list *q, json_t **out)
{
    struct report_request rq;
    *out = NULL;
    duban_status s = report_request_read(c, q, REPORT_PLAN_ID | REPORT_PERIOD | REPORT_AS_OF | REPORT_PAGE, &rq);
    if (s != DUBAN_OK)
        return s;
    struct missing_query a = {&rq, out};
    return db_read(c, missing_work, &a);
}
