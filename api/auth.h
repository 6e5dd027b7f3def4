/* Who may do what. The guard runs before every /api/v1 route: it
 * authenticates the bearer token (401), spends the token's rate budget
 * (429) and checks the role against the route (403). Checks that need the
 * data, such as a reporter's own unit, happen in the model through the
 * call's unit_scope. */
#ifndef DUBAN_AUTH_H
#define DUBAN_AUTH_H

#include <ulfius.h>

int cb_auth_guard(const struct _u_request *req, struct _u_response *res, void *app);

#endif
