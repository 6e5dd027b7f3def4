/* A plan's bulletin (情况通报, supervision.md) for a period, as of a day:
 *
 *   {plan_id, title, period, as_of,
 *    totals: {tasks, by_status: {not_started, in_progress, done, cancelled},
 *             by_warning: {none, blue, yellow, red}},
 *    attention: [{unit_id, unit_name, tasks: [{task_id, path, title, warning, reasons}]}],
 *    missing_reports: [{task_id, path, unit_id, unit_name, period, due_on}],
 *    ranking: [the units' scorecard rows],
 *    open_urges: [{id, task_id, path, title, unit_id, unit_name, message, reply_by}]}
 *
 * The tasks are those assigned by as_of (task_assigned_on). A task's
 * status is as of as_of: one closed after as_of (closed_on) counts as
 * in_progress. Its colour and reasons are task_watch's (migration 0008) on
 * as_of. attention holds the red and yellow tasks grouped by lead unit (the
 * unit at position 1; tasks without one last, unit_id null), the groups
 * with the most red tasks first, then the most tasks, then by unit id; in
 * a group red first, then by path. The missing reports are those of the
 * period (model/missing_reports.c); period is null, and there are none,
 * when none was asked for and the plan's cadence is none. The ranking is
 * the units' scorecard from the plan's start to as_of. The open urges are
 * those sent by as_of and not replied by its end, the earliest reply_by
 * first. Nothing in it depends on the clock, only on the plan, the period
 * and as_of; one statement reads it all, from one snapshot.
 *
 * The text forms also show what the JSON leaves out (EXTRA_MEMBERS): the
 * plan's doc_number, the period's first and last days, the ranking's first
 * day (the plan's start), the title of each missing report's task and the
 * day each open urge was sent (urged_on). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/report_window.h"
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

/* The red and yellow tasks, grouped by lead unit. */
#define ATTENTION_SQL                                                                                         \
    "(SELECT coalesce(json_agg(json_build_object('unit_id', g.unit_id, 'unit_name', g.unit_name, "           \
    "'tasks', g.tasks) ORDER BY g.unit_id IS NULL, g.red DESC, g.n DESC, g.unit_id), '[]') "                   \
    "FROM (SELECT e.unit_id, min(u.name) AS unit_name, count(*) FILTER (WHERE e.warning = 'red') AS red, "   \
    "count(*) AS n, json_agg(json_build_object('task_id', e.id, 'path', e.path, 'title', e.title, "          \
    "'warning', e.warning, 'reasons', e.reasons) ORDER BY e.warning = 'red' DESC, e.sort, e.id) AS tasks "    \
    "FROM watched e LEFT JOIN unit u ON u.id = e.unit_id WHERE e.warning IN ('red', 'yellow') "               \
    "GROUP BY e.unit_id) g)"

#define OPEN_URGES_SQL                                                                                        \
    "(SELECT coalesce(json_agg(json_build_object('id', g.id, 'task_id', t.id, "                               \
    "'path', array_to_string(t.path, '.'), 'title', " REPORT_TASK_TITLE ", 'unit_id', g.unit_id, "            \
    "'unit_name', u.name, 'message', g.message, 'reply_by', g.reply_by, 'urged_on', g.created_at::date) "     \
    "ORDER BY g.reply_by, g.id), '[]') "                                                                      \
    "FROM urge g JOIN task t ON t.id = g.task_id JOIN unit u ON u.id = g.unit_id "                            \
    "WHERE t.plan_id = q.plan_id AND g.created_at::date <= q.as_of "                                          \
    "AND (g.replied_at IS NULL OR g.replied_at::date > q.as_of))"

/* The whole bulletin; %s are the missing reports' rows and the ranking. */
static const char BULLETIN_SQL[] =
    REPORT_Q WATCHED_SQL
    "SELECT json_build_object('plan_id', p.id, 'title', p.title, 'period', q.period, 'as_of', q.as_of, "
    "'totals', " TOTALS_SQL ", 'attention', " ATTENTION_SQL ", "
    "'missing_reports', (SELECT coalesce(json_agg(json_build_object(" MISSING_REPORT_MEMBERS ", "
    "'title', m.title) ORDER BY m.n), '[]') FROM %s), "
    "'ranking', %s, 'open_urges', " OPEN_URGES_SQL ", "
    "'doc_number', p.doc_number, 'period_start', q.lo, 'period_end', q.hi, 'ranking_from', q.wfrom) "
    "FROM q JOIN plan p ON p.id = q.plan_id";

/* The members only the text forms show: of the bulletin, then of each
 * missing report and of each open urge. */
static const char *const EXTRA_MEMBERS[] = {"doc_number", "period_start", "period_end", "ranking_from", NULL};
static const char *const EXTRA_IN[][2] = {{"missing_reports", "title"}, {"open_urges", "urged_on"}};

/* Takes the extra members out of a bulletin, leaving its JSON form. */
static void drop_extras(json_t *doc)
{
    for (const char *const *m = EXTRA_MEMBERS; *m; m++)
        json_object_del(doc, *m);
    for (size_t k = 0; k < sizeof EXTRA_IN / sizeof *EXTRA_IN; k++) {
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(doc, EXTRA_IN[k][0]), i, item)
            json_object_del(item, EXTRA_IN[k][1]);
    }
}

/* The bulletin with its extra members. */
static duban_status bulletin_doc(struct call *c, int64_t plan_id, const struct param_list *q, json_t **out)
{
    char missing[2048], ranking[6144];
    missing_reports_sql(missing, sizeof missing);
    scorecard_sql(ranking, sizeof ranking, SCORECARD_UNITS);
    size_t size = sizeof BULLETIN_SQL + strlen(missing) + strlen(ranking);
    char *sql = malloc(size);
    *out = NULL;
    if (!sql)
        return call_fail(c, DUBAN_ERROR, "out of memory");
    snprintf(sql, size, BULLETIN_SQL, missing, ranking);
    duban_status s = report_run(c, q, REPORT_PERIOD | REPORT_AS_OF, plan_id, sql, out);
    free(sql);
    return s;
}

duban_status bulletin_get(struct call *c, int64_t plan_id, const struct param_list *q, json_t **out)
{
    duban_status s = bulletin_doc(c, plan_id, q, out);
    if (s == DUBAN_OK)
        drop_extras(*out);
    return s;
}

duban_status bulletin_text(struct call *c, int64_t plan_id, const struct param_list *q,
                           enum bulletin_format format, char **out)
{
    json_t *doc = NULL;
    duban_status s = bulletin_doc(c, plan_id, q, &doc);
    return report_text(c, s, doc, bulletin_render, (int)format, out);
}
