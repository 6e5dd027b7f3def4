/* The database: what the rest of duban opens and closes. The work done on
 * it (model/sql.h) stays inside model/. A bounded pool of libpq
 * connections shared by all request threads, every query with parameters and a client-side deadline, and two
 * ways to run work: db_read (one connection, retried once if the connection
 * turns out to be lost) and db_write (one transaction, retried on
 * serialization failures and deadlocks; it waits for the database only
 * where its work needs an answer: BEGIN, the actor settings and the
 * statements queued with db_queue go out with the next statement that
 * waits, the render of its change events with COMMIT). A connection lost
 * to a database restart is re-established on its next use. Every wait (for a pooled
 * connection, a new session, a statement, a retry) also ends at the call's
 * deadline_at, the deadline of the request it serves.
 *
 * Several machines: the URL may list several hosts (libpq's
 * target_session_attrs=read-write finds the primary again after a
 * failover). With a read URL, a read whose call allows it goes to a
 * streaming standby when that standby is within the allowed lag and has
 * replayed the call's consistency token (waiting for it at most
 * read_wait_ms), else to the primary; a write then leaves its commit's
 * token in the call (model/replica.c). */
#ifndef DUBAN_DB_H
#define DUBAN_DB_H

#include "model/call.h"

struct db_config {
    const char *url;          /* libpq connection string or URI */
    int pool_size;            /* connections at most */
    int statement_timeout_ms; /* server-side statement_timeout and client deadline */
    const char *timezone;     /* the session TimeZone: current_date is duban's today */
    const char *read_url;     /* a streaming standby for reads (see db_read), NULL or "" for none */
    int read_wait_ms;         /* longest a read waits for the standby to replay its token */
    int max_replica_lag_ms;   /* a standby further behind than this answers no read */
};

/* Creates the pool; connections are opened lazily. NULL on allocation failure. */
struct db *db_open(const struct db_config *config);
void db_close(struct db *db);

/* Has committed(arg) called after each transaction db_write commits, and
 * tells the change triggers of those transactions that the writer, not the
 * transaction, announces their events (duban.notify_after_commit, migration
 * 0016). Set it before any write; NULL leaves each transaction to notify. */
void db_on_commit(struct db *db, void (*committed)(void *arg), void *arg);

/* Every connection of the pool is opened anew on its next use (a read URL
 * with several hosts then finds its standby again). */
void db_reconnect_all(struct db *db);

/* The standby's state for readiness: "none" (no read URL), "up", "lagging"
 * (further behind than allowed), "primary" (the read URL leads to a
 * primary: reads go to the primary) or "unreachable". Asks it afresh. */
const char *db_standby_state(struct db *db);

/* Reads the standby answered, and reads it could have answered that went
 * to the primary (it lagged, had not replayed the token, or failed). */
void db_standby_counts(struct db *db, long *standby, long *primary);

#endif
