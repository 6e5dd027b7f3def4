/* A per-token request budget: at most `limit` requests in each minute
 * (fixed windows), so that one client cannot starve the others. */
#ifndef DUBAN_RATELIMIT_H
#define DUBAN_RATELIMIT_H

#include <stdint.h>

struct ratelimit;

struct ratelimit *ratelimit_new(int per_minute);
void ratelimit_free(struct ratelimit *rl);

/* Counts one request of token; returns 0 when allowed, else the seconds
 * until the window ends (for Retry-After). A limit of 0 allows all. */
int ratelimit_take(struct ratelimit *rl, int64_t token_id);

#endif
