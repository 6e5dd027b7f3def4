/* The database: a bounded pool of libpq connections shared by all request
 * threads, every query with parameters and a client-side deadline, and two
 * ways to run work: db_read (one connection, retried once if the connection
 * turns out to be lost) and db_write (one transaction, retried on
 * serialization failures and deadlocks). A connection lost to a database
 * restart is re-established on its next use. Every wait (for a pooled
 * connection, a new session, a statement, a retry) also ends at the call's
 * deadline_at, the deadline of the request it serves. */
#ifndef DUBAN_DB_H
#define DUBAN_DB_H

#include <libpq-fe.h>

#include "model/call.h"

struct db_config {
    const char *url;          /* libpq connection string or URI */
    int pool_size;            /* connections at most */
    int statement_timeout_ms; /* server-side statement_timeout and client deadline */
    int near_due_days;        /* the session setting duban.near_due_days */
};

/* Creates the pool; connections are opened lazily. NULL on allocation failure. */
struct db *db_open(const struct db_config *config);
void db_close(struct db *db);

/* Work to run on a connection. It returns a status and explains failures in c. */
typedef duban_status (*db_work_fn)(struct call *c, PGconn *conn, void *arg);

duban_status db_read(struct call *c, db_work_fn work, void *arg);
duban_status db_write(struct call *c, db_work_fn work, void *arg);

/* Runs one statement with text parameters (NULL for SQL NULL). On success
 * *res holds the result, which the caller frees with PQclear; on failure
 * *res is NULL and c says why (SQLSTATE mapped to a status here, the one
 * place that does it). */
duban_status db_exec(struct call *c, PGconn *conn, PGresult **res,
                     const char *sql, int nparams, const char *const *params);

/* Runs a statement whose result is not needed. */
duban_status db_run(struct call *c, PGconn *conn, const char *sql,
                    int nparams, const char *const *params);

/* Runs several statements without parameters (migrations). */
duban_status db_exec_script(struct call *c, PGconn *conn, const char *sql);

/* The client-side deadline of one statement, in milliseconds. */
int db_deadline_ms(const struct db *db);

#endif
