/* A per-token request budget: at most `limit` requests in each minute
 * (fixed windows), so that one client cannot starve the others. The
 * budget is shared by every instance on the same database (see
 * ratelimit.c): counted here, added up there about once a second. */
#ifndef DUBAN_RATELIMIT_H
#define DUBAN_RATELIMIT_H

#include <stdint.h>

struct db;
struct ratelimit;

/* A budget of per_minute requests per token, shared through db (NULL: this
 * instance's alone). NULL when it cannot start. */
struct ratelimit *ratelimit_new(int per_minute, struct db *db);
void ratelimit_free(struct ratelimit *rl);

/* Counts one request of token; returns 0 when allowed, else the seconds
 * until the window ends (for Retry-After). A limit of 0 allows all. */
int ratelimit_take(struct ratelimit *rl, int64_t token_id);

#endif
