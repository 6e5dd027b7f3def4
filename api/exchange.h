/* One request and its answer: the state kept from the first middleware to
 * the access-log line, and the helpers every callback answers through (so
 * the log knows the status). */
#ifndef DUBAN_EXCHANGE_H
#define DUBAN_EXCHANGE_H

#include <jansson.h>
#include <stdint.h>
#include <ulfius.h>

#include "model/call.h"
#include "model/token.h"

struct app;

struct exchange {
    struct app *app;
    const struct _u_request *request;   /* valid while callbacks run */
    char request_id[65];
    char method[16];
    char path[256];
    int64_t started_ns;
    int64_t deadline_ms;     /* CLOCK_MONOTONIC ms: the request's database work ends by then */
    int status;
    int authenticated;       /* actor is set */
    int cors;                /* the Origin is allowed: CORS headers were added */
    struct actor actor;
    char consistency[CONSISTENCY_TOKEN_SIZE];   /* a write's token, sent as Consistency-Token; "" for none */
};

/* The exchange of this response, set by cb_exchange_begin. */
struct exchange *exchange_of(const struct _u_response *res);

/* Middleware, first of all: opens the exchange (request id, timing),
 * refuses bodies over the limit (413) and sets the common headers. */
int cb_exchange_begin(const struct _u_request *req, struct _u_response *res, void *app);

/* The largest body a request to path may send (DUBAN_MAX_IMPORT_BYTES for
 * plan imports, else DUBAN_MAX_BODY_BYTES). */
size_t exchange_body_limit(const struct app *app, const char *path);

/* 1 when req declares (Content-Length) or holds more body than limit. */
int exchange_body_too_large(const struct _u_request *req, size_t limit);

/* Answers with a JSON object or array (the reference stays the caller's). */
int reply_json(struct _u_response *res, int status, const json_t *body);
int reply_json_as(struct _u_response *res, int status, const json_t *body, const char *content_type);
/* Answers with a body of the given type (copied). */
int reply_text(struct _u_response *res, int status, const char *body, size_t len, const char *content_type);
/* Answers with no body (204, 304). */
int reply_empty(struct _u_response *res, int status);

#endif
