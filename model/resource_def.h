/* Inside model/ only: what a resource is made of (its table, its
 * representation in SQL, its fields and the hooks of its writes) and the
 * helpers the resource files share. */
#ifndef DUBAN_RESOURCE_DEF_H
#define DUBAN_RESOURCE_DEF_H

#ifdef DUBAN_HTTP_LAYER
#error "api/ reaches model/ through its public headers; this one stays inside model/"
#endif

#include "model/idempotency_store.h"
#include "model/resource.h"
#include "model/sql.h"
#include "model/validate.h"

/* One write as the hooks see it. */
struct write {
    int64_t id;     /* the row; 0 before it exists */
    json_t *doc;    /* the validated new state (only writable fields); NULL on delete */
    json_t *old;    /* the current representation; NULL on create */
    int cascade;    /* delete: take dependent rows along */
};

typedef duban_status (*write_hook)(struct call *c, PGconn *conn, struct write *w);

/* Locks what a change or delete of row id must hold before the row itself,
 * so that writers take their locks in one order; patch is the merge patch
 * of a PATCH, NULL for a replace or a delete. */
typedef duban_status (*lock_hook)(struct call *c, PGconn *conn, int64_t id, const json_t *patch);

struct resource {
    const char *name;       /* singular, for messages: "unit" */
    const char *table;      /* the table, aliased r in `json` */
    const char *json;       /* SQL expression: the representation of row r */
    const char *ready;      /* NULL, or a cheaper expression giving the same representation as
                               text from what writes keep ready (a task's doc): what reads use */
    struct fieldset fields;
    /* Each hook may be NULL; they run inside the write's transaction. */
    lock_hook before_fetch;    /* before the row of a change or delete is read and locked */
    write_hook before_write;   /* checks needing the database; may complete w->doc, a copy made
                                  for this attempt (a retried transaction starts afresh) */
    write_hook after_write;    /* rows that follow the written one: assignments, aliases, paths */
    int keeps_inserted_row;    /* after_write leaves a new row as inserted: the INSERT returns its
                                  representation, and no read-back follows */
    write_hook before_delete;  /* refuses a delete that would orphan rows, unless w->cascade */
    write_hook after_delete;   /* what follows the row's removal */
};

/* Inside a transaction: the representation of row id, locked when `lock`
 * (FOR NO KEY UPDATE: rows that refer to it may still be written, so a
 * task can take a unit while the unit is being changed). DUBAN_NOT_FOUND
 * naming the resource when there is none. */
duban_status resource_fetch(struct call *c, PGconn *conn, const struct resource *r, int64_t id, int lock,
                            json_t **out);

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

/* DUBAN_OK when `table` holds row id, else DUBAN_NOT_FOUND saying that
 * the `name` ("plan") with that id does not exist. */
duban_status row_exists(struct call *c, PGconn *conn, const char *table, const char *name, int64_t id);

/* Formats an id for a SQL parameter. */
void id_text(int64_t id, char buf[24]);

/* The fields every representation carries and no client writes. */
#define COMMON_READ_ONLY "id", "created_at", "updated_at", "version"
#define COMMON_JSON "'created_at', rfc3339(r.created_at), 'updated_at', rfc3339(r.updated_at), 'version', r.version"
#define COMMON_SORTS {"id", "r.id"}, {"created_at", "r.created_at"}, {"updated_at", "r.updated_at"}

#endif
