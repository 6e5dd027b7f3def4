#include "api/auth.h"

#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "api/exchange.h"
#include "api/problem.h"
#include "api/ratelimit.h"
#include "api/request.h"
#include "model/token.h"

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

enum access access_of(const char *method, const char *pattern)
{
    if (!starts_with(pattern, "/api/v1/"))
        return ACCESS_OPEN;
    if (starts_with(pattern, "/api/v1/tokens") || starts_with(pattern, "/api/v1/audit") ||
        starts_with(pattern, "/api/v1/webhooks"))
        return ACCESS_ADMIN;
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return ACCESS_READ;
    if (strstr(pattern, "/progress-logs"))
        return ACCESS_REPORT;
    static const char *const unit_actions[] = {"/acknowledgements", "/closure-requests", "/reply", NULL};
    for (const char *const *a = unit_actions; *a; a++)
        if (ends_with(pattern, *a))
            return ACCESS_ACT;
    return ACCESS_WRITE;
}

static int role_allows(enum role role, enum access access)
{
    switch (access) {
    case ACCESS_OPEN:
    case ACCESS_READ:
        return 1;
    case ACCESS_REPORT:
        return role == ROLE_ADMIN || role == ROLE_REPORTER;
    case ACCESS_ACT:
        return role == ROLE_ADMIN || role == ROLE_EDITOR || role == ROLE_REPORTER;
    case ACCESS_WRITE:
        return role == ROLE_ADMIN || role == ROLE_EDITOR;
    case ACCESS_ADMIN:
        return role == ROLE_ADMIN;
    }
    return 0;
}

static int unauthorized(const struct _u_request *req, struct _u_response *res, const char *detail, int invalid)
{
    ulfius_add_header_to_response(res, "WWW-Authenticate",
                                  invalid ? "Bearer realm=\"duban\", error=\"invalid_token\"" : "Bearer realm=\"duban\"");
    return reply_problem(req, res, 401, detail, NULL);
}

/* The token of an Authorization header "Bearer <token>" (scheme in any
 * case), or NULL. */
static const char *bearer_token(const struct _u_request *req)
{
    const char *value = header(req, "Authorization");
    if (!value || strncasecmp(value, "Bearer ", 7) != 0)
        return NULL;
    value += 7;
    while (*value == ' ')
        value++;
    return *value ? value : NULL;
}

int auth_or_reply(const struct _u_request *req, struct _u_response *res, struct app *app, enum access access)
{
    struct exchange *ex = exchange_of(res);
    if (access == ACCESS_OPEN)
        return 0;
    const char *secret = bearer_token(req);
    if (!secret || !ex) {
        unauthorized(req, res, "send Authorization: Bearer <token>", 0);
        return -1;
    }
    struct call c;
    call_init(&c, app->db);
    c.deadline_at = ex->deadline_ms;
    duban_status s = token_authenticate(&c, app->tokens, secret, &ex->actor);
    if (s == DUBAN_NOT_FOUND)
        unauthorized(req, res, "the token is unknown, expired or revoked", 1);
    else if (s != DUBAN_OK)
        reply_failure(req, res, &c, s);
    call_clear(&c);
    if (s != DUBAN_OK)
        return -1;
    ex->authenticated = 1;

    int wait = ratelimit_take(app->ratelimit, ex->actor.token_id);
    if (wait > 0) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%d", wait);
        ulfius_add_header_to_response(res, "Retry-After", seconds);
        reply_problem(req, res, 429, "this token has used its requests for this minute", NULL);
        return -1;
    }
    if (!role_allows(ex->actor.role, access)) {
        reply_problem(req, res, 403, "this token's role does not allow this request", NULL);
        return -1;
    }
    return 0;
}
