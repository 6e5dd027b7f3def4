/* Inside model/ only: claiming an Idempotency-Key and remembering its
 * answer, in the transaction that does the work. */
#ifndef DUBAN_IDEMPOTENCY_STORE_H
#define DUBAN_IDEMPOTENCY_STORE_H

#ifdef DUBAN_HTTP_LAYER
#error "api/ reaches model/ through its public headers; this one stays inside model/"
#endif

#include "model/idempotency.h"
#include "model/sql.h"

/* Claims the key inside the current transaction, first purging some
 * expired keys. *claimed is 1 when this request is the first (or the key
 * had expired); otherwise *replay holds the stored answer, or the call
 * fails (DUBAN_INVALID) because the key came with another request. */
duban_status idempotency_claim(struct call *c, PGconn *conn, const struct idempotency *idem, struct created *replay,
                               int *claimed);

/* Stores the answer to a claimed key, in the same transaction. */
duban_status idempotency_remember(struct call *c, PGconn *conn, const struct idempotency *idem,
                                  const struct created *answer);

#endif
