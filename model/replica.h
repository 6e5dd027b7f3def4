/* Inside model/ only: the streaming standby that reads may go to
 * (DUBAN_DATABASE_READ_URL), for db.c. Which reads it may answer, and the
 * consistency token a write's answer carries. */
#ifndef DUBAN_REPLICA_H
#define DUBAN_REPLICA_H

#ifdef DUBAN_HTTP_LAYER
#error "api/ reaches model/ through its public headers; this one stays inside model/"
#endif

#include <libpq-fe.h>

#include "model/db.h"

struct replica;

/* A pool of connections to config->read_url (opened lazily) and what is
 * known of the standby. NULL on allocation failure. */
struct replica *replica_open(const struct db_config *config);
void replica_close(struct replica *r);

/* The pool of the standby, to run a read on. */
struct db *replica_pool(struct replica *r);

/* Whether the standby may answer the read of c now: it is within the
 * allowed lag and has replayed c->read_after (waited for at most the read
 * wait, and never past the call's deadline). 0 sends the read to the
 * primary: so does a malformed token. */
int replica_chosen(struct replica *r, struct call *c);

/* The standby failed a read it was chosen for (the read then goes to the
 * primary): it is asked afresh before the next one. */
void replica_failed(struct replica *r);

/* After a commit on conn (the primary): writes the commit's consistency
 * token into c->written when c has somewhere to put it. A failure leaves
 * it empty (the write stands; a read without token may lag). */
void replica_note_commit(struct call *c, PGconn *conn);

/* See db_standby_state and db_standby_counts (model/db.h). */
const char *replica_state(struct replica *r);
void replica_counts(struct replica *r, long *standby, long *primary);

#endif
