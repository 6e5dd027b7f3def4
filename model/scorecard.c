/* Scorecards and ranking (考评, supervision.md): one row per unit that
 * leads a task of the plan (per leader named on one), over those tasks,
 * closed ones included. With the window from..to (to never after as_of)
 * and the day as_of:
 *
 *   led           the tasks assigned by `to` (task_assigned_on <= to)
 *   open          of those, the ones not closed by `to`: status not done or
 *                 cancelled, or closed_on (the day the status became done or
 *                 cancelled, kept by a trigger) after `to`
 *   done_on_time  status done with closed_on within the window, on or before
 *                 due_on; a task with no due_on is on time when done
 *   done_late     status done with closed_on within the window, after due_on
 *                 (a cancelled task is neither)
 *   overdue_open  open, with due_on before `to` (red as of `to`)
 *   reports_*     per expected reporting period of the lead unit that ended
 *                 within the window and before as_of (task_report_periods,
 *                 migration 0008): on time, late or missing, counting only
 *                 the progress logs written by the end of as_of;
 *                 reports_expected = on_time + late + missing
 *   urges_*       the urges sent to each task's lead unit about it, created
 *                 within the window; answered on time when replied_at's day
 *                 is on or before reply_by and on or before as_of
 *   score, rank   supervision_score (migration 0008) and the competition
 *                 rank by score (1, 1, 3), best first, ties by name then id
 *
 * So led = open + done_on_time + done_late + the tasks cancelled by `to` or
 * done before `from`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/report_window.h"
#include "model/supervision_reports.h"

/* The members of a row, in their order; the first is unit_id or leader_id. */
static const char *const COLUMNS[] = {
    "name", "led", "open", "done_on_time", "done_late", "overdue_open", "reports_expected", "reports_on_time",
    "reports_late", "reports_missing", "urges_received", "urges_answered_on_time", "score", "rank",
};
enum { NCOLUMNS = sizeof COLUMNS / sizeof *COLUMNS };

/* How the rows of a kind are made: their key, and who (w) a task counts for. */
struct scorecard_def {
    const char *key;
    const char *join;
};

static const struct scorecard_def DEFS[] = {
    [SCORECARD_UNITS] = {"unit_id", "JOIN task_unit a ON a.task_id = t.id AND a.position = 1 JOIN unit w ON w.id = a.unit_id"},
    [SCORECARD_LEADERS] = {"leader_id", "JOIN task_leader a ON a.task_id = t.id JOIN leader w ON w.id = a.leader_id"},
};

/* The counts of each one's tasks (see the top of this file). */
static const char COUNTS_SQL[] =
    "SELECT w.id, w.name, count(*) AS led, count(*) FILTER (WHERE f.open) AS open, "
    "count(*) FILTER (WHERE f.done AND (t.due_on IS NULL OR t.closed_on <= t.due_on)) AS done_on_time, "
    "count(*) FILTER (WHERE f.done AND t.closed_on > t.due_on) AS done_late, "
    "count(*) FILTER (WHERE f.open AND t.due_on < q.wto) AS overdue_open, "
    "sum(r.expected)::bigint AS reports_expected, sum(r.on_time)::bigint AS reports_on_time, "
    "sum(r.late)::bigint AS reports_late, sum(r.missing)::bigint AS reports_missing, "
    "sum(g.received)::bigint AS urges_received, sum(g.answered)::bigint AS urges_answered_on_time "
    "FROM plan p JOIN task t ON t.plan_id = p.id %s "
    "CROSS JOIN LATERAL (SELECT t.status NOT IN ('done', 'cancelled') OR t.closed_on > q.wto AS open, "
    " t.status = 'done' AND t.closed_on BETWEEN q.wfrom AND q.wto AS done) f "
    "CROSS JOIN LATERAL (SELECT count(*) AS expected, count(*) FILTER (WHERE x.state = 'on_time') AS on_time, "
    " count(*) FILTER (WHERE x.state = 'late') AS late, count(*) FILTER (WHERE x.state = 'missing') AS missing "
    " FROM task_report_periods(p, t, q.wfrom, q.wto, q.as_of) x) r "
    "CROSS JOIN LATERAL (SELECT count(*) AS received, count(*) FILTER (WHERE u.replied_at::date <= u.reply_by "
    " AND u.replied_at::date <= q.as_of) AS answered "
    " FROM urge u JOIN task_unit l ON l.task_id = u.task_id AND l.unit_id = u.unit_id AND l.position = 1 "
    " WHERE u.task_id = t.id AND u.created_at::date BETWEEN q.wfrom AND q.wto) g "
    "WHERE p.id = q.plan_id AND task_assigned_on(p, t) <= q.wto GROUP BY w.id, w.name";

void scorecard_sql(char *buf, size_t size, enum scorecard_kind kind)
{
    const struct scorecard_def *d = &DEFS[kind];
    char counts[sizeof COUNTS_SQL + 256];
    snprintf(counts, sizeof counts, COUNTS_SQL, d->join);
    snprintf(buf, size,
             "(SELECT coalesce(json_agg(json_build_object('%s', s.id, 'name', s.name, 'led', s.led, 'open', s.open, "
             "'done_on_time', s.done_on_time, 'done_late', s.done_late, 'overdue_open', s.overdue_open, "
             "'reports_expected', s.reports_expected, 'reports_on_time', s.reports_on_time, "
             "'reports_late', s.reports_late, 'reports_missing', s.reports_missing, "
             "'urges_received', s.urges_received, 'urges_answered_on_time', s.urges_answered_on_time, "
             "'score', s.score, 'rank', s.rank) ORDER BY s.rank, s.name, s.id), '[]') "
             "FROM (SELECT c.*, rank() OVER (ORDER BY c.score DESC) AS rank "
             "FROM (SELECT n.*, supervision_score(n.done_on_time, n.done_late, n.overdue_open, n.open, "
             "n.reports_on_time, n.reports_expected, n.urges_answered_on_time, n.urges_received) AS score "
             "FROM (%s) n) c) s)",
             d->key, counts);
}

duban_status scorecard_get(struct call *c, enum scorecard_kind kind, const struct param_list *q, json_t **out)
{
    char rows[6144], sql[6400];
    scorecard_sql(rows, sizeof rows, kind);
    snprintf(sql, sizeof sql,
             REPORT_Q "SELECT json_build_object('plan_id', q.plan_id, 'from', q.wfrom, 'to', q.wto, 'items', %s) "
             "FROM q",
             rows);
    return report_run(c, q, REPORT_PLAN_ID | REPORT_AS_OF | REPORT_WINDOW, 0, sql, out);
}

/* Writes one CSV field, quoted (quotes doubled) when it holds a comma, a
 * quote or a line break (RFC 4180). */
static void csv_field(FILE *f, const char *text)
{
    if (!text[strcspn(text, ",\"\r\n")]) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

/* Writes a member's value: a string as is, a score with one decimal, an
 * integer, null as nothing. */
static void csv_value(FILE *f, const json_t *v)
{
    if (json_is_string(v))
        csv_field(f, json_string_value(v));
    else if (json_is_real(v))
        fprintf(f, "%.1f", json_real_value(v));
    else if (json_is_integer(v))
        fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
}

/* The rows of doc, a scorecard of kind (an enum scorecard_kind), as CSV;
 * NULL when out of memory. */
static char *csv_of(const json_t *doc, int kind)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fputs(DEFS[kind].key, f);
    for (size_t k = 0; k < NCOLUMNS; k++)
        fprintf(f, ",%s", COLUMNS[k]);
    fputs("\r\n", f);
    size_t i;
    const json_t *row;
    json_array_foreach(json_object_get(doc, "items"), i, row) {
        csv_value(f, json_object_get(row, DEFS[kind].key));
        for (size_t k = 0; k < NCOLUMNS; k++) {
            fputc(',', f);
            csv_value(f, json_object_get(row, COLUMNS[k]));
        }
        fputs("\r\n", f);
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

duban_status scorecard_csv(struct call *c, enum scorecard_kind kind, const struct param_list *q, char **out)
{
    json_t *doc = NULL;
    duban_status s = scorecard_get(c, kind, q, &doc);
    return report_text(c, s, doc, csv_of, (int)kind, out);
}
