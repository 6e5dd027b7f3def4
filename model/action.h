/* Inside model/ only: what the supervision actions (acknowledgements,
 * closure requests and their decisions, urges and replies) share. Each
 * action is one transaction (idempotent_write) that claims its
 * Idempotency-Key, checks its body and the task it is about, writes, and
 * answers with a document. */
#ifndef DUBAN_ACTION_H
#define DUBAN_ACTION_H

#ifdef DUBAN_HTTP_LAYER
#error "api/ reaches model/ through its public headers; this one stays inside model/"
#endif

#include <stdint.h>

#include "model/idempotency_store.h"
#include "model/sql.h"
#include "model/supervision_actions.h"
#include "model/validate.h"

/* Checks a copy of body against set. *doc is the copy, with read-only
 * members dropped (new reference, NULL only when out of memory).
 * DUBAN_BAD_INPUT (a member unknown or of the wrong type) stops the
 * action; bad values are only collected in c->errors (DUBAN_OK), so that
 * the action goes on checking what needs the database and lists every
 * bad field at once (call_errors_status), writing nothing. */
duban_status action_body(struct call *c, const struct fieldset *set, const json_t *body, json_t **doc);

/* What an action needs to know of a task and one of its units. */
struct task_facts {
    int open;                    /* status not_started or in_progress */
    int done;                    /* status done */
    int assigned;                /* the unit is one of the task's units */
    int lead;                    /* the unit is its lead unit */
    int requires_verification;   /* its plan's setting */
};

/* Locks task task_id (actions on one task apply one at a time) and reads
 * its facts for unit unit_id (0: none). DUBAN_NOT_FOUND when there is no
 * such task. */
duban_status task_facts_lock(struct call *c, PGconn *conn, int64_t task_id, int64_t unit_id, struct task_facts *out);

/* DUBAN_FORBIDDEN (with the reason in c) when the call is a reporter's and
 * unit_id is not its unit; else DUBAN_OK. */
duban_status reporter_acts_for(struct call *c, int64_t unit_id);

/* What the unit_id of an action on a task must be. */
enum unit_rule {
    UNIT_ASSIGNED,   /* one of the task's units */
    UNIT_LEAD        /* its lead unit */
};

/* The start of an action on task in->id for the unit its body names: the
 * body checked against set (*doc, a new reference, and *unit_id), the task
 * locked (404), a reporter held to its unit (403), the unit held to `rule`
 * (a field error). DUBAN_OK lets the action go on: the field errors
 * collected so far make its 422 (call_errors_status). */
duban_status task_action_start(struct call *c, PGconn *conn, const struct fieldset *set, enum unit_rule rule,
                               const struct action_request *in, json_t **doc, int64_t *unit_id,
                               struct task_facts *facts);

/* Returns s; a failure other than DUBAN_INVALID drops the field errors
 * collected so far, since a 404, 403 or 409 is answered for itself. */
duban_status action_stop(struct call *c, duban_status s);

/* Locks row id of `table` (closure_request or urge, a row of one task)
 * after its task, the order every action on a task's rows follows, and
 * reads `columns` of the row into *row (the caller PQclears it).
 * DUBAN_NOT_FOUND naming `name` when there is no such row; DUBAN_STALE
 * when if_version is not 0 and the row is at another version. */
duban_status task_row_lock(struct call *c, PGconn *conn, const char *table, const char *name, int64_t id,
                           int64_t if_version, const char *columns, PGresult **row);

/* Runs a query whose first column is an id: *id is the first row's, or
 * 0 when there is no row. */
duban_status query_id(struct call *c, PGconn *conn, int64_t *id, const char *sql, int nparams,
                      const char *const *params);

/* The filters of every list of a task's rows: task_id and unit_id. */
#define TASK_ROW_FILTERS                                                                               \
    {"task_id", FILTER_ID, "r.task_id = $$", NULL, 0, 0, NULL},                                        \
    {"unit_id", FILTER_ID, "r.unit_id = $$", NULL, 0, 0, NULL}

/* The integer member `name` of doc, or 0 when it is absent or not one. */
int64_t member_id(const json_t *doc, const char *name);

/* A progress log with status "done" on task task_id by unit unit_id (log
 * log_id, its summary), inside the log's transaction, the task locked:
 * when the task's plan requires verification and the task is not done,
 * *hold is set (the task stays open: in_progress) and, when `filing` (the
 * log has just become "done") and the unit leads the task and no request
 * of the task waits, a closure request is filed with the log's summary. A
 * partner's "done" is a report like any other: stored, no request. */
duban_status closure_from_report(struct call *c, PGconn *conn, int64_t task_id, int64_t unit_id, int64_t log_id,
                                 const char *summary, int filing, int *hold);

#endif
