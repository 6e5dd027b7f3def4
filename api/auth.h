/* Who may do what. Every route carries the access it needs, decided once
 * from its method and pattern when it is registered (never from the path a
 * client sends, which may be spelled many ways). Before a protected
 * route's handler runs, auth_or_reply authenticates the bearer token (401),
 * spends the token's rate budget (429) and checks its role (403). Checks
 * that need the data, such as a reporter's own unit, happen in the model
 * through the call's unit_scope. */
#ifndef DUBAN_AUTH_H
#define DUBAN_AUTH_H

#include <ulfius.h>

struct app;

enum access {
    ACCESS_OPEN,     /* anyone, no token: health, metrics, the contract */
    ACCESS_READ,     /* every role */
    ACCESS_REPORT,   /* reporters (for their unit) and admins */
    ACCESS_ACT,      /* reporters (for their unit), editors and admins: what a unit does on a
                        task (sign for it, ask to close it, reply to an urge) */
    ACCESS_WRITE,    /* editors and admins */
    ACCESS_ADMIN     /* admins only: tokens, the audit journal and webhooks */
};

/* The access a route needs: admins do everything; tokens and the journal
 * are theirs alone; anyone may read; progress logs are written by
 * reporters; acknowledgements, closure requests (not their decisions) and
 * replies to urges by reporters and editors; everything else under
 * /api/v1 by editors. */
enum access access_of(const char *method, const char *pattern);

/* 0 when the request may go on to a route needing `access`; otherwise the
 * problem has been answered and -1 is returned. */
int auth_or_reply(const struct _u_request *req, struct _u_response *res, struct app *app, enum access access);

#endif
