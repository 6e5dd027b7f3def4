/* Inside model/ only: what the supervision reports (missing reports,
 * scorecards, the bulletin; model/supervision_reports.h) share: how one
 * runs (its query read strictly, the day and the window it stands at
 * resolved against the plan and today's date, its one statement), and the
 * pieces of SQL they have in common. */
#ifndef DUBAN_REPORT_WINDOW_H
#define DUBAN_REPORT_WINDOW_H

#ifdef DUBAN_HTTP_LAYER
#error "api/ reaches model/ through its public headers; this one stays inside model/"
#endif

#include "model/params.h"
#include "model/supervision_reports.h"

/* The query parameters a report reads. */
enum report_param {
    REPORT_PLAN_ID = 1,   /* plan_id, required */
    REPORT_PERIOD = 2,    /* period */
    REPORT_AS_OF = 4,     /* as_of */
    REPORT_WINDOW = 8,    /* from, to */
};

/* Runs a report: reads q (the parameters of `allowed`, a set of enum
 * report_param, each checked: plan_id a positive id, period as
 * model/periods.h says, as_of, from and to dates, to not before from;
 * every bad or unknown one named, DUBAN_BAD_INPUT), resolves the day and
 * the window against the plan (see below), then runs `sql`, a statement
 * starting with REPORT_Q whose single row and column is JSON: *out, a new
 * reference. plan_id is the plan when the path names it (0: q's plan_id).
 *
 * The day and the window, every date YYYY-MM-DD: as_of as given, else
 * today (current_date in the session's TimeZone); DUBAN_INVALID naming it
 * when it is before the plan's start (starts_on, else issued_on, else the
 * day the plan was created) or after today. The window from..to: as given,
 * else the plan's start and as_of, `to` never after as_of (nothing after
 * as_of is counted); DUBAN_BAD_INPUT naming from when it is after `to`.
 * The period: as given, else the last one of the plan's cadence that ended
 * before as_of; none when none was given and the cadence is none.
 * DUBAN_NOT_FOUND when the plan does not exist. */
duban_status report_run(struct call *c, const struct param_list *q, unsigned allowed, int64_t plan_id,
                        const char *sql, json_t **out);

/* Makes a report's document into text: render(doc, form), a new string
 * (NULL when out of memory). */
typedef char *(*report_render)(const json_t *doc, int form);

/* When s (the status of the call that made doc) is DUBAN_OK, *out is the
 * text of doc (DUBAN_ERROR when out of memory), else NULL and s is
 * returned. doc's reference is released either way. */
duban_status report_text(struct call *c, duban_status s, json_t *doc, report_render render, int form, char **out);

/* REPORT_Q binds the report's parameters to the one row q: q.plan_id,
 * q.as_of, q.wfrom and q.wto (the window), q.lo and q.hi (the period's
 * first and last days) and q.period (its name); the period's are null when
 * there is none. */
#define REPORT_Q                                                                                              \
    "WITH q AS (SELECT $1::bigint AS plan_id, $2::date AS as_of, $3::date AS wfrom, $4::date AS wto, "        \
    "$5::date AS lo, $6::date AS hi, $7::text AS period) "

/* Fragments of report statements (subqueries over q, in SQL text). */

/* How a report names task t: its title, else the start of its body. */
#define REPORT_TASK_TITLE "coalesce(t.title, left(t.body, 100))"

/* The missing reports of the period q.lo..q.hi as of q.as_of (see
 * model/missing_reports.c), a derived table m with columns task_id, path,
 * title, unit_id, unit_name, period, due_on and n, their order (by path).
 * Writes into buf. */
void missing_reports_sql(char *buf, size_t size);

/* The members of a missing report of m as an item. */
#define MISSING_REPORT_MEMBERS                                                                                \
    "'task_id', m.task_id, 'path', m.path, 'unit_id', m.unit_id, 'unit_name', m.unit_name, "                 \
    "'period', m.period, 'due_on', m.due_on"

/* The JSON array of the scorecard rows of the window q.wfrom..q.wto as of
 * q.as_of (see model/scorecard.c), best first. Writes into buf. */
void scorecard_sql(char *buf, size_t size, enum scorecard_kind kind);

/* A bulletin (model/bulletin.c, with its extra members) as a Chinese
 * document, plain text or Markdown (format, an enum bulletin_format;
 * model/bulletin_render.c). NULL when out of memory; the caller frees it.
 * Pure: the same document, the same bytes. */
char *bulletin_render(const json_t *doc, int format);

#endif
