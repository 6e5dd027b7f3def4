/* What every HTTP callback shares: the configuration, the database pool and
 * the routes. Read-only once serving starts, except the counters. */
#ifndef DUBAN_APP_H
#define DUBAN_APP_H

#include <stdatomic.h>

#include "api/config.h"

struct db;
struct ratelimit;
struct token_cache;
struct router;
struct change_hub;

struct app {
    struct config cfg;
    struct db *db;
    struct router *router;
    struct ratelimit *ratelimit;
    struct token_cache *tokens;   /* authenticated tokens, or NULL */
    struct change_hub *changes;   /* follows the change feed for the streams */
    atomic_int in_flight;          /* requests begun (headers read) and not finished */
    atomic_long requests_total;
    atomic_long responses_5xx;
};

#endif
