/* What units do beyond the common resource life (model/resources.h). */
#ifndef DUBAN_UNIT_H
#define DUBAN_UNIT_H

#include "model/call.h"
#include "model/idempotency.h"

/* Merges unit `from` into unit `into` in one transaction: every assignment
 * and progress log of `from` moves to `into` (a task that had both keeps
 * one assignment, in the better of the two places), reporter tokens follow,
 * and every name of `from` becomes an alias of `into`; `from` is deleted.
 * out->doc is the merged unit's representation; with idem, a retry gets
 * the first answer back (out->replayed). */
duban_status unit_merge(struct call *c, int64_t into, int64_t from, const struct idempotency *idem,
                        struct created *out);

#endif
