/* A call: the context of one model operation. It says who is acting (for
 * the audit journal) and collects why the operation failed: a sentence in
 * `detail` and, for validation, every bad field in `errors`. */
#ifndef DUBAN_CALL_H
#define DUBAN_CALL_H

#include <jansson.h>
#include <stdint.h>

#include "model/status.h"

struct db;

/* A consistency token: where in the primary's WAL a write's commit ends. */
enum { CONSISTENCY_TOKEN_SIZE = 32 };

struct call {
    struct db *db;
    int64_t token_id;        /* 0 when acting from the command line */
    const char *token_name;  /* borrowed; NULL from the command line */
    const char *request_id;  /* borrowed; may be NULL */
    int64_t unit_scope;      /* a reporter acts only for this unit; 0 for anyone */
    char detail[256];        /* why it failed, safe to show a client */
    char sqlstate[6];        /* of the last database error, "" if none */
    char constraint[64];     /* constraint named by that error, "" if none */
    int deadline_ms;         /* per-statement deadline; 0 for the pool's default */
    int64_t deadline_at;     /* CLOCK_MONOTONIC ms by which the request is answered, 0
                              * for none: every database wait of the call (pool, connect,
                              * statement, retry) ends by then. A call with its own
                              * deadline_ms (imports, migrations) is not held to it. */
    int connection_lost;     /* set by the db layer: the connection is unusable */
    int read_standby;        /* db_read may be answered by the streaming standby */
    const char *read_after;  /* borrowed: the consistency token of a write this read must
                              * see (the standby answers only once it has replayed it), or NULL */
    char *written;           /* where db_write leaves its commit's consistency token
                              * (CONSISTENCY_TOKEN_SIZE bytes, "" for none), or NULL */
    json_t *errors;          /* [{field, message}] or NULL; owned */
};

/* Starts a call on db with no actor. Release it with call_clear. */
void call_init(struct call *c, struct db *db);
void call_clear(struct call *c);

/* Records a sentence explaining a failure and returns status, so that a
 * model function can `return call_fail(c, DUBAN_CONFLICT, "...")`. */
duban_status call_fail(struct call *c, duban_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds one {field, message} to the list of validation errors. */
void call_field_error(struct call *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* DUBAN_INVALID (or `status`) when errors were collected, else DUBAN_OK. */
duban_status call_errors_status(struct call *c, duban_status status);

#endif
