/* Statistics for supervisors: per unit, per leader, and a plan's summary
 * by status and warning, overall and per top-level section. */
#ifndef DUBAN_STATS_H
#define DUBAN_STATS_H

#include "model/call.h"

/* plan_id 0 means every plan. *out is {plan_id, items: [...]}. */
duban_status stats_units(struct call *c, int64_t plan_id, json_t **out);
duban_status stats_leaders(struct call *c, int64_t plan_id, json_t **out);

/* {plan_id, tasks, by_status, by_warning, sections: [...]}. */
duban_status plan_summary(struct call *c, int64_t plan_id, json_t **out);

#endif
