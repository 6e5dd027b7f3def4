/* The database: what the rest of duban opens and closes. The work done on
 * it (model/sql.h) stays inside model/. A bounded pool of libpq
 * connections shared by all request threads, every query with parameters and a client-side deadline, and two
 * ways to run work: db_read (one connection, retried once if the connection
 * turns out to be lost) and db_write (one transaction, retried on
 * serialization failures and deadlocks). A connection lost to a database
 * restart is re-established on its next use. Every wait (for a pooled
 * connection, a new session, a statement, a retry) also ends at the call's
 * deadline_at, the deadline of the request it serves. */
#ifndef DUBAN_DB_H
#define DUBAN_DB_H

#include "model/call.h"

struct db_config {
    const char *url;          /* libpq connection string or URI */
    int pool_size;            /* connections at most */
    int statement_timeout_ms; /* server-side statement_timeout and client deadline */
    const char *timezone;     /* the session TimeZone: current_date is duban's today */
};

/* Creates the pool; connections are opened lazily. NULL on allocation failure. */
struct db *db_open(const struct db_config *config);
void db_close(struct db *db);

#endif
