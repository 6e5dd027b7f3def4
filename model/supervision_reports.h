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

/* Missing reports: q holds plan_id (required), period, as_of, limit and
 * offset. *out (new reference) is {items, total, limit, offset}, each item
 * {task_id, path, unit_id, unit_name, period, due_on}. */
duban_status missing_reports_list(struct call *c, const struct param_list *q, json_t **out);

/* Scorecards are per unit or per leader. */
enum scorecard_kind { SCORECARD_UNITS, SCORECARD_LEADERS };

/* A scorecard: q holds plan_id (required), from, to and as_of. *out (new
 * reference) is {plan_id, from, to, as_of, items}, the rows best first
 * with the members of supervision.md. */
duban_status scorecard_get(struct call *c, enum scorecard_kind kind, const struct param_list *q, json_t **out);

/* The rows of a scorecard (as scorecard_get made it) as CSV: a header row
 * of the member names, then one row each, CRLF after every row. NULL when
 * out of memory; the caller frees it. */
char *scorecard_csv(enum scorecard_kind kind, const json_t *doc);

/* A plan's bulletin for a period: q holds period and as_of. *out (new
 * reference) is the bulletin as JSON (see model/bulletin.c). */
duban_status bulletin_get(struct call *c, int64_t plan_id, const struct param_list *q, json_t **out);

enum bulletin_format { BULLETIN_TEXT, BULLETIN_MARKDOWN };

/* The bulletin (as bulletin_get made it) as a Chinese document ready to
 * circulate, plain text or Markdown. NULL when out of memory; the caller
 * frees it. The same document gives the same bytes. */
char *bulletin_render(const json_t *doc, enum bulletin_format format);

#endif
