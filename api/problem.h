/* RFC 9457 problem responses, and the one mapping from a model status to
 * an HTTP status. */
#ifndef DUBAN_PROBLEM_H
#define DUBAN_PROBLEM_H

#include <jansson.h>
#include <ulfius.h>

#include "model/call.h"

/* Answers with an application/problem+json body. `errors` (may be NULL) is
 * a list of {field, message}; it is copied. Returns U_CALLBACK_COMPLETE. */
int reply_problem(const struct _u_request *req, struct _u_response *res, int status,
                  const char *detail, json_t *errors);

/* The HTTP status of a model status. */
int problem_http_status(duban_status s);

/* Answers with the problem a failed call describes. Returns U_CALLBACK_COMPLETE. */
int reply_failure(const struct _u_request *req, struct _u_response *res, const struct call *c,
                  duban_status s);

#endif
