/* What units do beyond the common resource life (model/resources.h). */
#ifndef DUBAN_UNIT_H
#define DUBAN_UNIT_H

#include "model/call.h"

/* Merges unit `from` into unit `into` in one transaction: every assignment
 * and progress log of `from` moves to `into` (a task that had both keeps
 * one assignment, in the better of the two places), reporter tokens follow,
 * and every name of `from` becomes an alias of `into`; `from` is deleted.
 * *out is the merged unit's representation. */
duban_status unit_merge(struct call *c, int64_t into, int64_t from, json_t **out);

#endif
