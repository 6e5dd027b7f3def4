#include "api/router.h"

#include <stdlib.h>
#include <string.h>

#include <orcania.h>

#include "api/app.h"
#include "api/auth.h"
#include "api/exchange.h"
#include "api/problem.h"

struct route {
    char method[8];
    char pattern[128];
    struct route_ctx *ctx;
};

struct router {
    struct _u_instance *instance;
    struct app *app;
    struct route *routes;
    size_t count, capacity;
};

struct router *router_new(struct _u_instance *instance, struct app *app)
{
    struct router *r = calloc(1, sizeof *r);
    if (r) {
        r->instance = instance;
        r->app = app;
    }
    return r;
}

void router_free(struct router *r)
{
    for (size_t i = 0; r && i < r->count; i++)
        free(r->routes[i].ctx);
    if (r)
        free(r->routes);
    free(r);
}

static struct route_ctx *remember(struct router *r, const char *method, const char *pattern, route_fn fn,
                                   const void *target)
{
    if (r->count == r->capacity) {
        size_t capacity = r->capacity ? 2 * r->capacity : 64;
        struct route *grown = realloc(r->routes, capacity * sizeof *grown);
        if (!grown)
            abort();
        r->routes = grown;
        r->capacity = capacity;
    }
    struct route *route = &r->routes[r->count++];
    snprintf(route->method, sizeof route->method, "%s", method);
    snprintf(route->pattern, sizeof route->pattern, "%s", pattern);
    route->ctx = malloc(sizeof *route->ctx);
    if (!route->ctx)
        abort();
    route->ctx->app = r->app;
    route->ctx->target = target;
    route->ctx->fn = fn;
    route->ctx->access = access_of(method, pattern);
    return route->ctx;
}

void router_add(struct router *r, const char *method, const char *pattern, route_fn fn, const void *target)
{
    remember(r, method, pattern, fn, target);
    if (strcmp(method, "GET") == 0)
        remember(r, "HEAD", pattern, fn, target);
}

/* 1 when path matches pattern segment by segment, a ":name" segment
 * standing for any one non-empty segment and a final "*" for the rest.
 * Empty segments are ignored, as ulfius does with "//" and a trailing "/".
 * With bind, each ":name" segment's value is put into it as name, as ulfius
 * would (the path as libmicrohttpd decoded it): pass it only once the path
 * is known to match. */
static int path_matches(const char *pattern, const char *path, struct _u_map *bind)
{
    for (;;) {
        while (*pattern == '/')
            pattern++;
        while (*path == '/')
            path++;
        if (strcmp(pattern, "*") == 0)
            return 1;
        if (!*pattern || !*path)
            return !*pattern && !*path;
        size_t pl = strcspn(pattern, "/"), sl = strcspn(path, "/");
        if (!(pattern[0] == ':' || (pl == sl && memcmp(pattern, path, pl) == 0)))
            return 0;
        if (bind && pattern[0] == ':') {
            char name[64], *value = o_strndup(path, sl);
            snprintf(name, sizeof name, "%.*s", (int)(pl - 1), pattern + 1);
            if (value)
                u_map_put(bind, name, value);
            o_free(value);
        }
        pattern += pl;
        path += sl;
    }
}

/* Answers OPTIONS on a served path: 204 with Allow and, for an allowed
 * browser origin, what a CORS preflight needs. */
static int reply_options(struct _u_response *res, const char *allow)
{
    const struct exchange *ex = exchange_of(res);
    if (ex && ex->cors) {
        ulfius_add_header_to_response(res, "Access-Control-Allow-Methods", allow);
        ulfius_add_header_to_response(res, "Access-Control-Allow-Headers",
                                      "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-Id, "
                                      "Consistency-Token");
        ulfius_add_header_to_response(res, "Access-Control-Max-Age", "600");
    }
    return reply_empty(res, 204);
}

/* Answers a request no route matches. Under /api a client
 * learns nothing without a token (401); then 405 with Allow when the path
 * is served with other methods, else 404. */
static int cb_unrouted(const struct _u_request *req, struct _u_response *res, void *user_data)
{
    struct app *app = user_data;
    const struct router *r = app->router;
    char allow[128] = "";
    if (strcmp(req->http_verb, "OPTIONS") != 0 && path_matches("/api/*", req->url_path, NULL) &&
        auth_or_reply(req, res, app, ACCESS_READ) != 0)
        return U_CALLBACK_COMPLETE;
    for (size_t i = 0; i < r->count; i++) {
        if (!path_matches(r->routes[i].pattern, req->url_path, NULL))
            continue;
        size_t used = strlen(allow);
        snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "", r->routes[i].method);
    }
    if (!allow[0])
        return reply_problem(req, res, 404, "no resource at this path", NULL);
    strncat(allow, ", OPTIONS", sizeof allow - strlen(allow) - 1);
    ulfius_add_header_to_response(res, "Allow", allow);
    if (strcmp(req->http_verb, "OPTIONS") == 0)
        return reply_options(res, allow);
    char detail[192];
    snprintf(detail, sizeof detail, "this path answers %s", allow);
    return reply_problem(req, res, 405, detail, NULL);
}

/* The one ulfius callback of every route: finds the first route of the
 * request's method whose pattern its path matches (in the order they were
 * added), binds the path's variables, checks access, runs the handler;
 * with no such route, cb_unrouted answers. One linear pass over the
 * routes, without allocating: ulfius's own matching, one endpoint per
 * route, split and copied the path for every endpoint of every request. */
static int dispatch(const struct _u_request *req, struct _u_response *res, void *user_data)
{
    struct router *r = user_data;
    for (size_t i = 0; i < r->count; i++) {
        const struct route *route = &r->routes[i];
        if (strcmp(route->method, req->http_verb) != 0 || !path_matches(route->pattern, req->url_path, NULL))
            continue;
        path_matches(route->pattern, req->url_path, req->map_url);
        if (auth_or_reply(req, res, r->app, (enum access)route->ctx->access) != 0)
            return U_CALLBACK_COMPLETE;
        return route->ctx->fn(req, res, route->ctx);
    }
    return cb_unrouted(req, res, r->app);
}

void router_finish(struct router *r)
{
    ulfius_add_endpoint_by_val(r->instance, "*", NULL, "*", PRIORITY_HANDLER, dispatch, r);
}

void router_list(const struct router *r, FILE *out)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->routes[i].method, "HEAD") != 0)
            fprintf(out, "%s %s\n", r->routes[i].method, r->routes[i].pattern);
}
