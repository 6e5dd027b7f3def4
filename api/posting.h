/* The POST every create and action shares: an optional Idempotency-Key
 * (scoped to the token and the path, so a retry with the same key and
 * body gets the first answer back), one model operation, and its answer
 * with Location and Idempotent-Replayed. */
#ifndef DUBAN_POSTING_H
#define DUBAN_POSTING_H

#include <ulfius.h>

#include "model/idempotency.h"

struct app;

/* The model operation of a POST: runs it for `input`, idempotently when
 * idem is not NULL, and fills out. */
typedef duban_status (*post_run)(struct call *c, const void *input, const struct idempotency *idem,
                                 struct created *out);

struct post {
    post_run run;
    const void *input;
    int status;             /* the answer's status on success: 201, or 200 */
    int status_again;       /* when not 0: the status when the action had been done before (the
                               model says so in created.again, also of a replay whose first
                               answer found it so), e.g. 200 for an acknowledgement given before */
    unsigned flags;         /* enum answer_flags */
    const char *items;      /* Location is this plus the answer's `id_member`; NULL: no Location */
    const char *id_member;  /* the member naming the row; "id" when NULL */
    void (*after)(struct app *app);  /* run after a success (not a replay), or NULL */
};

/* Reads the Idempotency-Key (400 when malformed), runs p in a call and
 * answers. Returns the callback's result for ulfius. */
int post_and_reply(const struct _u_request *req, struct _u_response *res, struct app *app, const struct post *p);

#endif
