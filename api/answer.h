/* Answering a model call: the call built from the request (who acts, its
 * request id and deadline), and the outcome turned into HTTP: the
 * document with its ETag, or the problem. */
#ifndef DUBAN_ANSWER_H
#define DUBAN_ANSWER_H

#include <jansson.h>
#include <stdint.h>
#include <ulfius.h>

#include "model/call.h"

struct app;

/* Starts a call for this request (the database, the actor, the request id
 * and its deadline). Release it with call_clear. */
void call_for_request(struct call *c, const struct _u_response *res, struct app *app);

/* What the answer to a successful call carries besides its status. */
enum answer_flags {
    ANSWER_VERSIONED = 1, /* the document is a stored row: send its version as ETag */
    ANSWER_MINIMAL = 2,   /* Prefer: return=minimal honoured: no body (a 200 becomes 204) */
};

/* Answers the outcome of a call: `status` with doc as shaped by `flags`
 * when s is DUBAN_OK, else the problem the call recorded. Takes doc's
 * reference and clears the call. */
int reply_call(const struct _u_request *req, struct _u_response *res, struct call *c, duban_status s, json_t *doc,
               int status, unsigned flags);

/* Sets ETag to the entity-tag of a row's version. */
void set_version_etag(struct _u_response *res, int64_t version);

/* Keeps an answer that shows a secret out of every cache, the client's
 * own included (answers are otherwise `private, no-cache`). */
void keep_out_of_caches(struct _u_response *res);

/* Answers `status` with a stored row's representation and its ETag. */
int reply_document(struct _u_response *res, int status, const json_t *doc);

/* ANSWER_MINIMAL when the Prefer header asks for return=minimal, else 0. */
unsigned preferred_return(const struct _u_request *req);

#endif
