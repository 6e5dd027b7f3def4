/* The reports of the supervision loop (supervision.md): the missing
 * reports of a period, the scorecards of units and leaders with their
 * ranking, and a plan's bulletin (情况通报). Each stands as of a day
 * (as_of, default today) and counts nothing written after it, so that a
 * past month is reproduced exactly. Every query parameter is checked;
 * bad or unknown ones are DUBAN_BAD_INPUT naming each of them. */
#ifndef DUBAN_SUPERVISION_REPORTS_H
#define DUBAN_SUPERVISION_REPORTS_H

#include "model/call.h"
#include "model/params.h"

/* Missing reports: q holds plan_id (required), period and as_of. *out
 * (new reference) is {plan_id, period, as_of, items}, each item {task_id,
 * path, unit_id, unit_name, period, due_on}, in path order; period is null
 * when none was asked for and the plan's cadence is none. */
duban_status missing_reports_list(struct call *c, const struct param_list *q, json_t **out);

/* Scorecards are per unit or per leader. */
enum scorecard_kind { SCORECARD_UNITS, SCORECARD_LEADERS };

/* A scorecard: q holds plan_id (required), from, to and as_of. *out (new
 * reference) is {plan_id, from, to, items}, the rows best first with the
 * members of supervision.md. */
duban_status scorecard_get(struct call *c, enum scorecard_kind kind, const struct param_list *q, json_t **out);

/* The same rows as CSV: *out (malloc'd, the caller frees it) is a header
 * row of the member names, then one row each, CRLF after every row. */
duban_status scorecard_csv(struct call *c, enum scorecard_kind kind, const struct param_list *q, char **out);

enum bulletin_format { BULLETIN_JSON, BULLETIN_TEXT, BULLETIN_MARKDOWN };

/* A plan's bulletin for a period: q holds period and as_of. *out (new
 * reference) is the bulletin as JSON (see model/bulletin.c). */
duban_status bulletin_get(struct call *c, int64_t plan_id, const struct param_list *q, json_t **out);

/* The same bulletin as a Chinese document ready to circulate, plain text
 * or Markdown: *out (malloc'd, the caller frees it). The same plan, period
 * and as_of give the same bytes. */
duban_status bulletin_text(struct call *c, int64_t plan_id, const struct param_list *q,
                           enum bulletin_format format, char **out);

#endif
