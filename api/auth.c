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

/* The role rule of a route: admins do everything; tokens and the journal
 * are theirs alone; anyone may read; progress logs are written by
 * reporters (for their unit); everything else by editors. */
static int role_allows(enum role role, const char *method, const char *path)
{
    if (role == ROLE_ADMIN)
        return 1;
    if (starts_with(path, "/api/v1/tokens") || starts_with(path, "/api/v1/audit"))
        return 0;
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return 1;
    if (strstr(path, "/progress-logs"))
        return role == ROLE_REPORTER;
    return role == ROLE_EDITOR;
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

int cb_auth_guard(const struct _u_request *req, struct _u_response *res, void *user_data)
{
    struct app *app = user_data;
    struct exchange *ex = exchange_of(res);
    if (strcmp(req->http_verb, "OPTIONS") == 0)
        return U_CALLBACK_CONTINUE;
    const char *secret = bearer_token(req);
    if (!secret)
        return unauthorized(req, res, "send Authorization: Bearer <token>", 0);

    struct call c;
    call_init(&c, app->db);
    duban_status s = token_authenticate(&c, app->tokens, secret, &ex->actor);
    int rc = U_CALLBACK_CONTINUE;
    if (s == DUBAN_NOT_FOUND)
        rc = unauthorized(req, res, "the token is unknown, expired or revoked", 1);
    else if (s != DUBAN_OK)
        rc = reply_failure(req, res, &c, s);
    call_clear(&c);
    if (rc != U_CALLBACK_CONTINUE)
        return rc;
    ex->authenticated = 1;

    int wait = ratelimit_take(app->ratelimit, ex->actor.token_id);
    if (wait > 0) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%d", wait);
        ulfius_add_header_to_response(res, "Retry-After", seconds);
        return reply_problem(req, res, 429, "this token has used its requests for this minute", NULL);
    }
    if (!role_allows(ex->actor.role, req->http_verb, req->url_path))
        return reply_problem(req, res, 403, "this token's role does not allow this request", NULL);
    return U_CALLBACK_CONTINUE;
}
