/* Idempotent POSTs: the first answer to a request carrying an
 * Idempotency-Key is stored in the transaction that does the work, and a
 * retry with the same key and body gets that answer back instead of a
 * second write. Concurrent retries wait for the first to finish. A key is
 * remembered for a number of hours (DUBAN_IDEMPOTENCY_TTL_H); after that it
 * counts as never used, and its row is purged. */
#ifndef DUBAN_IDEMPOTENCY_H
#define DUBAN_IDEMPOTENCY_H

#include <jansson.h>

#include "model/call.h"

/* A POST that carries an Idempotency-Key. */
struct idempotency {
    const char *scope;            /* who and where: the same key may recur elsewhere */
    const char *key;
    const char *request;          /* the request body, compared on replay */
};

/* The outcome of a create: what was made, not where it lives (api/
 * builds the Location from the document's id). */
struct created {
    json_t *doc;        /* the representation (new reference) */
    int replayed;       /* 1 when an earlier answer to the same key was returned */
    int again;          /* 1 when the action had been done before: nothing new was written */
};

/* Empties out (freeing its doc): a transaction attempt starts with this,
 * so that the answer of an attempt rolled back is never kept. */
void created_reset(struct created *out);

/* Sets how many hours (at least 1) a key is remembered; 24 until called.
 * Called once at startup, before any request. */
void idempotency_set_ttl_hours(int hours);

#endif
