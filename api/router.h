/* The routes duban serves. Each resource file registers its own through
 * router_add; the router matches every request against them itself (ulfius
 * sees one endpoint), so that a request matching no route gets a 404
 * problem and a known path with the wrong method a 405 with Allow, and so
 * that `duban routes` can list them. */
#ifndef DUBAN_ROUTER_H
#define DUBAN_ROUTER_H

#include <stdio.h>
#include <ulfius.h>

struct app;
struct router;

/* What a route's callback receives as user_data. */
typedef int (*route_fn)(const struct _u_request *req, struct _u_response *res, void *route_ctx);

struct route_ctx {
    struct app *app;
    const void *target;   /* what the route serves, given at registration */
    route_fn fn;
    int access;           /* enum access: what a client needs to reach fn */
};

/* Priorities, in the order ulfius runs matching callbacks. */
enum route_priority { PRIORITY_EXCHANGE = 0, PRIORITY_HANDLER = 10 };

/* The name every route uses for its path variable (see route patterns). */
#define ROUTE_ID "_id"

struct router *router_new(struct _u_instance *instance, struct app *app);
void router_free(struct router *r);

/* Serves method on pattern ("/api/v1/tasks/:_id") with fn, which gets a
 * struct route_ctx holding target; fn runs only for clients with the
 * access the route needs (api/auth.h). A GET route answers HEAD too. */
void router_add(struct router *r, const char *method, const char *pattern, route_fn fn, const void *target);

/* Hands the routes to ulfius. Call after every route. */
void router_finish(struct router *r);

/* Writes "METHOD pattern" for every route, one per line. */
void router_list(const struct router *r, FILE *out);

#endif
