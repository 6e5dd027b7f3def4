/* Inside model/ only: work on a pooled database connection, in one
 * transaction or as a read, and statements with parameters. See
 * model/db.h for the pool's rules (deadlines, retries, reconnects). */
#ifndef DUBAN_SQL_H
#define DUBAN_SQL_H

#ifdef DUBAN_HTTP_LAYER
#error "api/ reaches model/ through its public headers; this one stays inside model/"
#endif

#include <libpq-fe.h>

#include "model/db.h"

/* Work to run on a connection. It returns a status and explains failures in c. */
typedef duban_status (*db_work_fn)(struct call *c, PGconn *conn, void *arg);

duban_status db_read(struct call *c, db_work_fn work, void *arg);
duban_status db_write(struct call *c, db_work_fn work, void *arg);

/* Runs work on the primary outside a transaction of duban's own: each of
 * its statements commits by itself, with no journal nor change events
 * rendered. For a write of one statement that needs nothing more (a
 * claim with SKIP LOCKED): it spares the begin, actor settings, render
 * and commit statements of db_write. Retried once on a lost connection,
 * as reads are. */
duban_status db_autocommit(struct call *c, db_work_fn work, void *arg);

/* Runs one statement with text parameters (NULL for SQL NULL). On success
 * *res holds the result, which the caller frees with PQclear; on failure
 * *res is NULL and c says why (SQLSTATE mapped to a status here, the one
 * place that does it). */
duban_status db_exec(struct call *c, PGconn *conn, PGresult **res,
                     const char *sql, int nparams, const char *const *params);

/* A statement with its text parameters, for db_exec_all. */
struct db_statement {
    const char *sql;
    int nparams;
    const char *const *params;
};

/* Runs n statements as db_exec runs one, on a pooled connection in one
 * round trip (in order, each with its own snapshot); res[i] gets the i-th
 * one's result. On failure (the first one's explains it) every res[i] is
 * NULL. */
duban_status db_exec_all(struct call *c, PGconn *conn, int n, const struct db_statement *st, PGresult **res);

/* For a thread that keeps a database connection of its own (outside the
 * pool, never using the pool itself): the statements db_exec runs on conn
 * are prepared once, as on a pooled one, and remembered in `prepared`
 * (model/statements.h: reset it when conn is replaced). NULL: no more. */
struct statements;
void db_adopt(PGconn *conn, struct statements *prepared);

/* Runs a statement whose result is not needed. */
duban_status db_run(struct call *c, PGconn *conn, const char *sql,
                    int nparams, const char *const *params);

/* Inside db_write: sends a statement whose result is not needed without
 * waiting for it. It goes out with the next statement that waits (db_exec,
 * db_run, the commit), which also reports its failure. Elsewhere it runs
 * as db_run does. */
duban_status db_queue(struct call *c, PGconn *conn, const char *sql,
                      int nparams, const char *const *params);

/* Runs several statements without parameters (migrations). */
duban_status db_exec_script(struct call *c, PGconn *conn, const char *sql);

/* The client-side deadline of one statement, in milliseconds. */
int db_deadline_ms(const struct db *db);

#endif
