/* Missing reports (supervision.md): the reports a period expected that do
 * not exist. What is expected is task_report_periods' (migration 0008):
 * for each task of the plan whose cadence (its own, else the plan's) is
 * the period's, the lead unit (position 1) owes a report for the period
 * when the task was assigned by its last day and not closed before its
 * first, and the period ended before as_of; a report is a progress log of
 * the lead unit dated in the period and written by the end of as_of. */
#include <stdio.h>
#include <stdlib.h>

#include "model/report_window.h"
#include "model/supervision_reports.h"

void missing_reports_sql(char *buf, size_t size)
{
    snprintf(buf, size,
             "(SELECT t.id AS task_id, array_to_string(t.path, '.') AS path, "
             REPORT_TASK_TITLE " AS title, x.unit_id, u.name AS unit_name, x.period, x.due_on, "
             "row_number() OVER (ORDER BY t.path, t.id, x.starts_on) AS n "
             "FROM plan p JOIN task t ON t.plan_id = p.id "
             "CROSS JOIN LATERAL task_report_periods(p, t, q.lo, q.hi, q.as_of) x JOIN unit u ON u.id = x.unit_id "
             "WHERE p.id = q.plan_id AND x.state = 'missing' AND x.starts_on = q.lo AND x.ends_on = q.hi) m");
}

duban_status missing_reports_list(struct call *c, const struct param_list *q, json_t **out)
{
    char rows[2048], sql[4096];
    missing_reports_sql(rows, sizeof rows);
    snprintf(sql, sizeof sql,
             REPORT_Q "SELECT json_build_object('plan_id', q.plan_id, 'period', q.period, 'as_of', q.as_of, "
             "'items', (SELECT coalesce(json_agg(json_build_object(" MISSING_REPORT_MEMBERS ") ORDER BY m.n), '[]') "
             "FROM %s)) FROM q",
             rows);
    return report_run(c, q, REPORT_PLAN_ID | REPORT_PERIOD | REPORT_AS_OF, 0, sql, out);
}
