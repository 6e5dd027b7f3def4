/* Inside model/ only: what the supervision reports (missing reports,
 * scorecards, the bulletin; model/supervision_reports.h) share. Their
 * query read strictly, and the day and window they stand at, resolved
 * against the plan and today's date in the database. */
#ifndef DUBAN_REPORT_WINDOW_H
#define DUBAN_REPORT_WINDOW_H

#ifdef DUBAN_HTTP_LAYER
#error "api/ reaches model/ through its public headers; this one stays inside model/"
#endif

#include "model/params.h"
#include "model/periods.h"
#include "model/sql.h"
#include "model/supervision_reports.h"

/* The query parameters a report reads. */
enum report_param {
    REPORT_PLAN_ID = 1,   /* plan_id, required */
    REPORT_PERIOD = 2,    /* period */
    REPORT_AS_OF = 4,     /* as_of */
    REPORT_WINDOW = 8,    /* from, to */
    REPORT_PAGE = 16,     /* limit, offset */
};

/* A report's query as given; every member is optional but plan_id. */
struct report_request {
    int64_t plan_id;
    int has_period;
    struct period period;
    const char *as_of, *from, *to;   /* borrowed from the query, or NULL */
    long limit, offset;              /* 50 and 0 unless given */
};

/* Reads q: the parameters of `allowed` (a set of enum report_param), each
 * checked (plan_id a positive id, period as model/periods.h says, as_of,
 * from and to dates, limit 1..500, offset 0..1000000000). Every bad or
 * unknown parameter is reported by name: DUBAN_BAD_INPUT. Pure. */
duban_status report_request_read(struct call *c, const struct param_list *q, unsigned allowed,
                                 struct report_request *out);

/* Where a report stands, every date YYYY-MM-DD. */
struct report_window {
    char plan_id[24];
    char plan_start[11];   /* the plan's starts_on, else issued_on, else the day it was created */
    char as_of[11];        /* as given, else today (current_date in the session's TimeZone) */
    char from[11], to[11]; /* the window counted: as given, else the plan's start and as_of;
                              `to` never after as_of (nothing after as_of is counted) */
    char period[12];       /* the period shown: as given, else the last one of the plan's cadence
                              (monthly when it is none) that ended before as_of */
    char period_start[11], period_end[11];
};

/* Resolves rq against its plan: DUBAN_NOT_FOUND when the plan does not
 * exist; DUBAN_INVALID naming as_of when it is before the plan's start or
 * after today, naming from when the window is empty (from after to). */
duban_status report_window_resolve(struct call *c, PGconn *conn, const struct report_request *rq,
                                   struct report_window *w);

/* Every report statement starts with REPORT_Q, which names its first
 * REPORT_NVALUES parameters (report_values gives them) as the one row q:
 * q.plan_id, q.as_of, q.wfrom and q.wto (the window), q.lo and q.hi (the
 * period). The statement's own parameters follow. */
#define REPORT_Q                                                                                              \
    "WITH q AS (SELECT $1::bigint AS plan_id, $2::date AS as_of, $3::date AS wfrom, $4::date AS wto, "        \
    "$5::date AS lo, $6::date AS hi) "
enum { REPORT_NVALUES = 6 };
void report_values(const struct report_window *w, const char *values[REPORT_NVALUES]);

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

#endif
