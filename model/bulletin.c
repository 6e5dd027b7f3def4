/* A plan's bulletin (情况通报, supervision.md) for a period, as of a day:
 *
 *   {plan_id, title, doc_number, period, period_start, period_end, as_of,
 *    totals: {tasks, by_status: {not_started, in_progress, done, cancelled},
 *             by_warning: {red, yellow, blue, none}},
 *    red, yellow: [{unit_id, unit_name, tasks: [{task_id, path, title, reasons}]}],
 *    missing_reports: [{task_id, path, unit_id, unit_name, period, due_on, title}],
 *    ranking: {from, to, items: [the units' scorecard rows]},
 *    open_urges: [{id, task_id, path, title, unit_id, unit_name, message, urged_on,
 *                  reply_by, overdue}]}
 *
 * The tasks are those assigned by as_of (task_assigned_on). A task's
 * status is as of as_of: one closed after as_of (closed_on) counts as
 * in_progress. Its colour and reasons are task_watch's (migration 0008) on
 * as_of. The red and yellow tasks are grouped by lead unit (the unit at
 * position 1; tasks with none last, unit_id null), the groups with the
 * most tasks first, the tasks in path order. The missing reports are those
 * of the period (model/missing_reports.c). The ranking is the units'
 * scorecard from the plan's start to the period's end (never after as_of).
 * The open urges are those sent by as_of and not replied by its end, by
 * reply_by; overdue when reply_by is before as_of. Nothing in it depends on
 * the clock, only on the plan, the period and as_of; one statement reads
 * it all, from one snapshot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/report_window.h"
#include "model/resource_def.h"
#include "model/supervision_reports.h"

/* How a task stands as of q.as_of. The colour comes from the function the
 * task representation uses, asked for that day. */
#define WATCHED_SQL                                                                                           \
    ", watched AS (SELECT t.id, t.path AS sort, array_to_string(t.path, '.') AS path, "                       \
    REPORT_TASK_TITLE " AS title, a.unit_id, "                                                                \
    "CASE WHEN t.status IN ('done', 'cancelled') AND t.closed_on > q.as_of THEN 'in_progress' "              \
    "ELSE t.status END AS status, c.warning, c.reasons "                                                      \
    "FROM q JOIN plan p ON p.id = q.plan_id JOIN task t ON t.plan_id = p.id "                                 \
    "CROSS JOIN LATERAL task_watch(t, p, q.as_of) c "                                                         \
    "LEFT JOIN task_unit a ON a.task_id = t.id AND a.position = 1 "                                           \
    "WHERE task_assigned_on(p, t) <= q.as_of) "

#define TOTALS_SQL                                                                                            \
    "(SELECT json_build_object('tasks', count(*), 'by_status', json_build_object("                            \
    "'not_started', count(*) FILTER (WHERE e.status = 'not_started'), "                                       \
    "'in_progress', count(*) FILTER (WHERE e.status = 'in_progress'), "                                       \
    "'done', count(*) FILTER (WHERE e.status = 'done'), "                                                     \
    "'cancelled', count(*) FILTER (WHERE e.status = 'cancelled')), 'by_warning', json_build_object("          \
    "'red', count(*) FILTER (WHERE e.warning = 'red'), 'yellow', count(*) FILTER (WHERE e.warning = 'yellow'), " \
    "'blue', count(*) FILTER (WHERE e.warning = 'blue'), 'none', count(*) FILTER (WHERE e.warning = 'none'))) " \
    "FROM watched e)"

/* The tasks of one colour, grouped by lead unit. */
#define WARNED_SQL(colour)                                                                                    \
    "(SELECT coalesce(json_agg(json_build_object('unit_id', g.unit_id, 'unit_name', g.unit_name, "           \
    "'tasks', g.tasks) ORDER BY g.unit_id IS NULL, g.n DESC, g.unit_id), '[]') "                              \
    "FROM (SELECT e.unit_id, min(u.name) AS unit_name, count(*) AS n, "                                       \
    "json_agg(json_build_object('task_id', e.id, 'path', e.path, 'title', e.title, 'reasons', e.reasons) "   \
    "ORDER BY e.sort, e.id) AS tasks "                                                                        \
    "FROM watched e LEFT JOIN unit u ON u.id = e.unit_id WHERE e.warning = '" colour "' GROUP BY e.unit_id) g)"

#define OPEN_URGES_SQL                                                                                        \
    "(SELECT coalesce(json_agg(json_build_object('id', g.id, 'task_id', t.id, "                               \
    "'path', array_to_string(t.path, '.'), 'title', " REPORT_TASK_TITLE ", 'unit_id', g.unit_id, "            \
    "'unit_name', u.name, 'message', g.message, 'urged_on', g.created_at::date, 'reply_by', g.reply_by, "     \
    "'overdue', g.reply_by < q.as_of) ORDER BY g.reply_by, g.id), '[]') "                                     \
    "FROM urge g JOIN task t ON t.id = g.task_id JOIN unit u ON u.id = g.unit_id "                            \
    "WHERE t.plan_id = q.plan_id AND g.created_at::date <= q.as_of "                                          \
    "AND (g.replied_at IS NULL OR g.replied_at::date > q.as_of))"

/* The whole bulletin; %s are the missing reports' rows and the ranking. */
static const char BULLETIN_SQL[] =
    REPORT_Q WATCHED_SQL
    "SELECT json_build_object('plan_id', p.id, 'title', p.title, 'doc_number', p.doc_number, "
    "'period', $7::text, 'period_start', q.lo, 'period_end', q.hi, 'as_of', q.as_of, "
    "'totals', " TOTALS_SQL ", 'red', " WARNED_SQL("red") ", 'yellow', " WARNED_SQL("yellow") ", "
    "'missing_reports', (SELECT coalesce(json_agg(json_build_object(" MISSING_REPORT_MEMBERS ", "
    "'title', m.title) ORDER BY m.n), '[]') FROM %s), "
    "'ranking', json_build_object('from', q.wfrom, 'to', q.wto, 'items', %s), "
    "'open_urges', " OPEN_URGES_SQL ") "
    "FROM q JOIN plan p ON p.id = q.plan_id";

struct bulletin_query {
    const struct report_request *rq;
    json_t **out;
};

static duban_status bulletin_work(struct call *c, PGconn *conn, void *arg)
{
    struct bulletin_query *a = arg;
    struct report_window w;
    duban_status s = report_window_resolve(c, conn, a->rq, &w);
    if (s != DUBAN_OK)
        return s;
    if (strcmp(w.period_end, w.to) < 0)
        snprintf(w.to, sizeof w.to, "%s", w.period_end);
    char missing[2048], ranking[6144];
    missing_reports_sql(missing, sizeof missing);
    scorecard_sql(ranking, sizeof ranking, SCORECARD_UNITS);
    size_t size = sizeof BULLETIN_SQL + strlen(missing) + strlen(ranking);
    char *sql = malloc(size);
    if (!sql)
        return call_fail(c, DUBAN_ERROR, "out of memory");
    snprintf(sql, size, BULLETIN_SQL, missing, ranking);
    const char *values[REPORT_NVALUES + 1];
    report_values(&w, values);
    values[REPORT_NVALUES] = w.period;
    s = query_json(c, conn, a->out, sql, REPORT_NVALUES + 1, values);
    free(sql);
    return s;
}

duban_status bulletin_get(struct call *c, int64_t plan_id, const struct param_list *q, json_t **out)
{
    struct report_request rq;
    *out = NULL;
    duban_status s = report_request_read(c, q, REPORT_PERIOD | REPORT_AS_OF, &rq);
    if (s != DUBAN_OK)
        return s;
    rq.plan_id = plan_id;
    struct bulletin_query a = {&rq, out};
    return db_read(c, bulletin_work, &a);
}
