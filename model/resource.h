/* The life of a resource row, shared by plans, tasks, units, leaders and
 * progress logs: fetch, create (optionally idempotent), replace, merge-patch
 * and delete, each in one transaction, with optimistic concurrency through
 * the row's version. A resource describes its table, its representation
 * and its fields; hooks add what is particular to it (tree positions,
 * assignments, aliases, a task's progress) inside the same transaction. */
#ifndef DUBAN_RESOURCE_H
#define DUBAN_RESOURCE_H

#include <libpq-fe.h>

#include "model/call.h"
#include "model/idempotency.h"
#include "model/validate.h"

/* One write as the hooks see it. */
struct write {
    int64_t id;     /* the row; 0 before it exists */
    json_t *doc;    /* the validated new state (only writable fields); NULL on delete */
    json_t *old;    /* the current representation; NULL on create */
    int cascade;    /* delete: take dependent rows along */
};

typedef duban_status (*write_hook)(struct call *c, PGconn *conn, struct write *w);

struct resource {
    const char *name;       /* singular, for messages: "unit" */
    const char *table;      /* the table, aliased r in `json` */
    const char *json;       /* SQL expression: the representation of row r */
    struct fieldset fields;
    /* Each hook may be NULL; they run inside the write's transaction. */
    write_hook before_write;   /* checks needing the database; may complete w->doc, a copy made
                                  for this attempt (a retried transaction starts afresh) */
    write_hook after_write;    /* rows that follow the written one: assignments, aliases, paths */
    write_hook before_delete;  /* refuses a delete that would orphan rows, unless w->cascade */
    write_hook after_delete;   /* what follows the row's removal */
};

/* The representation of row id; *out is a new reference. */
duban_status resource_get(struct call *c, const struct resource *r, int64_t id, json_t **out);

/* Inside a transaction: the representation of row id, locked when `lock`
 * (FOR NO KEY UPDATE: rows that refer to it may still be written, so a
 * task can take a unit while the unit is being changed). DUBAN_NOT_FOUND
 * naming the resource when there is none. */
duban_status resource_fetch(struct call *c, PGconn *conn, const struct resource *r, int64_t id, int lock,
                            json_t **out);

/* Creates a row from body, which stays as the client sent it: every
 * attempt of the transaction works on a copy. With idem, a retry with
 * the same key and request returns the first answer without writing. */
duban_status resource_create(struct call *c, const struct resource *r, json_t *body,
                             const struct idempotency *idem, struct created *out);

/* Replaces row id with body. if_version 0 means any version. */
duban_status resource_replace(struct call *c, const struct resource *r, int64_t id, int64_t if_version,
                              json_t *body, json_t **out);

/* Applies an RFC 7396 merge patch to row id. */
duban_status resource_patch(struct call *c, const struct resource *r, int64_t id, int64_t if_version,
                            json_t *patch, json_t **out);

/* Deletes row id. */
duban_status resource_delete(struct call *c, const struct resource *r, int64_t id, int64_t if_version,
                             int cascade);

/* Runs a query whose single row and column is JSON text; *out is the
 * parsed value (new reference), or NULL when there is no row. */
duban_status query_json(struct call *c, PGconn *conn, json_t **out, const char *sql, int nparams,
                        const char *const *params);

/* Counts the rows that still use something, for a 409's detail: `sql`
 * selects their ids for parameter $1; up to ten go into ids, the count
 * (0 when none) into *count. Fails as the query did. */
duban_status still_used(struct call *c, PGconn *conn, const char *sql, int64_t id, char *ids, size_t size,
                        long *count);

/* Before a write of row w->id that changes `field`, gives a new version
 * to the tasks that show it (their representation changes too): `link` is
 * the assignment table (task_unit or task_leader), `column` its key. Run
 * it before the row is written, so that tasks are always locked before
 * the unit or leader they show, as a task's own writes do. */
duban_status touch_tasks_showing(struct call *c, PGconn *conn, const struct write *w, const char *field,
                                 const char *link, const char *column);

/* Formats an id for a SQL parameter. */
void id_text(int64_t id, char buf[24]);

#endif
