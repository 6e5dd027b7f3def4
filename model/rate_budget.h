/* Request budgets shared by every instance (migration 0011): each instance
 * adds the requests it counted per token and minute, and learns the sum
 * over all instances. */
#ifndef DUBAN_RATE_BUDGET_H
#define DUBAN_RATE_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "model/call.h"

struct rate_count {
    int64_t token_id;
    long minute;     /* minutes since the Unix epoch */
    int added;       /* requests counted here since the last report */
    long total;      /* out: the minute's requests over all instances */
};

/* Adds each count to its token's shared count of its minute and sets its
 * total; forgets minutes before `oldest`. One statement on the primary.
 * The counts are left sorted by token and minute. */
duban_status rate_budget_add(struct call *c, struct rate_count *counts, size_t n, long oldest);

#endif
