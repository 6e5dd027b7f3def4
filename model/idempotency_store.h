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

/* One attempt of a write answering with a document, inside its
 * transaction: it fills out->doc (and out->again), and must start afresh
 * on every attempt (a retried transaction runs it again). */
typedef duban_status (*idempotent_work)(struct call *c, PGconn *conn, void *arg, struct created *out);

/* Runs work in one transaction (db_write), idempotently when idem is not
 * NULL: the key is claimed first, and a retry with the same key and body
 * gets the first answer back (out->replayed) without work running. On
 * failure out->doc is NULL. */
duban_status idempotent_write(struct call *c, const struct idempotency *idem, struct created *out,
                              idempotent_work work, void *arg);

#endif
