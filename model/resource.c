#include "model/resource.h"
#include "model/resource_def.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/sql.h"

enum { MAX_FIELDS = 24 };

void id_text(int64_t id, char buf[24]) { snprintf(buf, 24, "%lld", (long long)id); }

/* Parses the JSON text of res's first row in column `column` into *out
 * (NULL when there is no row or it is null). */
static duban_status json_cell(struct call *c, const PGresult *res, int column, json_t **out)
{
    *out = NULL;
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, column))
        return DUBAN_OK;
    json_error_t error;
    *out = json_loads(PQgetvalue(res, 0, column), 0, &error);
    return *out ? DUBAN_OK : call_fail(c, DUBAN_ERROR, "the database returned malformed JSON");
}

duban_status query_json(struct call *c, PGconn *conn, json_t **out, const char *sql, int nparams,
                        const char *const *params)
{
    PGresult *res;
    *out = NULL;
    duban_status s = db_exec(c, conn, &res, sql, nparams, params);
    if (s != DUBAN_OK)
        return s;
    s = json_cell(c, res, 0, out);
    PQclear(res);
    return s;
}

duban_status resource_fetch(struct call *c, PGconn *conn, const struct resource *r, int64_t id, int lock,
                            json_t **out)
{
    char sql[4096], idbuf[24];
    id_text(id, idbuf);
    const char *params[] = {idbuf};
    snprintf(sql, sizeof sql, "SELECT %s FROM %s r WHERE r.id = $1%s", r->ready ? r->ready : r->json, r->table,
             lock ? " FOR NO KEY UPDATE OF r" : "");
    duban_status s = query_json(c, conn, out, sql, 1, params);
    if (s == DUBAN_OK && !*out)
        return call_fail(c, DUBAN_NOT_FOUND, "%s %lld does not exist", r->name, (long long)id);
    return s;
}

struct get_args {
    const struct resource *r;
    int64_t id;
    char **text;
    int64_t *version;
};

/* One probe: the representation as the database writes it, and the
 * version beside it (the ETag, without reading the document); without
 * a->text the version alone, no representation computed. */
static duban_status get_work(struct call *c, PGconn *conn, void *arg)
{
    struct get_args *a = arg;
    char sql[4096], idbuf[24];
    id_text(a->id, idbuf);
    const char *params[] = {idbuf};
    const char *item = !a->text ? "''" : a->r->ready ? a->r->ready : a->r->json;
    snprintf(sql, sizeof sql, "SELECT (%s)::text, r.version FROM %s r WHERE r.id = $1", item, a->r->table);
    PGresult *res;
    duban_status s = db_exec(c, conn, &res, sql, 1, params);
    if (s != DUBAN_OK)
        return s;
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        *a->version = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        if (a->text && !(*a->text = strdup(PQgetvalue(res, 0, 0))))
            s = call_fail(c, DUBAN_ERROR, "out of memory");
    } else {
        s = call_fail(c, DUBAN_NOT_FOUND, "%s %lld does not exist", a->r->name, (long long)a->id);
    }
    PQclear(res);
    return s;
}

duban_status resource_get_text(struct call *c, const struct resource *r, int64_t id, char **text, int64_t *version)
{
    if (text)
        *text = NULL;
    *version = 0;
    struct get_args a = {r, id, text, version};
    return db_read(c, get_work, &a);
}

/* The column values of doc as SQL parameters, in field order (the
 * members of an object field in their own order, each its own column),
 * from values[n] on. Returns the new number of columns; names and
 * fallbacks are written into cols. */
static int set_params(const struct fieldset *set, const json_t *doc, char **values, const struct field **cols, int n)
{
    for (size_t i = 0; i < set->count && n < MAX_FIELDS; i++) {
        const struct field *f = &set->fields[i];
        if (f->type == FIELD_OBJECT) {
            n = set_params(f->members, json_object_get(doc, f->name), values, cols, n);
        } else if (f->column) {
            cols[n] = f;
            values[n] = sql_text(json_object_get(doc, f->name));
            n++;
        }
    }
    return n;
}

static int column_params(const struct resource *r, const json_t *doc, char **values,
                         const struct field **cols)
{
    return set_params(&r->fields, doc, values, cols, 0);
}

static void free_params(char **values, int n)
{
    for (int i = 0; i < n; i++)
        free(values[i]);
}

/* Writes the value expression of parameter $index for field f. */
static void value_expr(char *buf, size_t size, const struct field *f, int index)
{
    if (f->fallback)
        snprintf(buf, size, "COALESCE($%d, %s)", index, f->fallback);
    else
        snprintf(buf, size, "$%d", index);
}

/* INSERTs the column fields of w->doc; sets w->id. With `out`, the
 * INSERT also returns the new row's representation there. */
static duban_status insert_row(struct call *c, PGconn *conn, const struct resource *r, struct write *w,
                               json_t **out)
{
    char *values[MAX_FIELDS];
    const struct field *cols[MAX_FIELDS];
    int n = column_params(r, w->doc, values, cols);
    char names[1024] = "", exprs[2048] = "", expr[160];
    for (int i = 0; i < n; i++) {
        value_expr(expr, sizeof expr, cols[i], i + 1);
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", cols[i]->column);
        snprintf(exprs + strlen(exprs), sizeof exprs - strlen(exprs), "%s%s", i ? ", " : "", expr);
    }
    char sql[4096];
    snprintf(sql, sizeof sql, "INSERT INTO %s AS r (%s) VALUES (%s) RETURNING r.id%s%s", r->table, names, exprs,
             out ? ", " : "", out ? (r->ready ? r->ready : r->json) : "");
    PGresult *res;
    duban_status s = db_exec(c, conn, &res, sql, n, (const char *const *)values);
    free_params(values, n);
    if (s == DUBAN_OK) {
        w->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (out)
            s = json_cell(c, res, 1, out);
        PQclear(res);
    }
    return s;
}

/* UPDATEs the column fields of w->doc and bumps the version. */
static duban_status update_row(struct call *c, PGconn *conn, const struct resource *r, struct write *w)
{
    char *values[MAX_FIELDS + 1];
    const struct field *cols[MAX_FIELDS];
    char idbuf[24];
    id_text(w->id, idbuf);
    int n = column_params(r, w->doc, values + 1, cols);
    values[0] = idbuf;
    char sets[3072] = "", expr[160];
    for (int i = 0; i < n; i++) {
        value_expr(expr, sizeof expr, cols[i], i + 2);
        snprintf(sets + strlen(sets), sizeof sets - strlen(sets), "%s = %s, ", cols[i]->column, expr);
    }
    char sql[4096];
    snprintf(sql, sizeof sql, "UPDATE %s SET %sversion = version + 1, updated_at = now() WHERE id = $1",
             r->table, sets);
    duban_status s = db_run(c, conn, sql, n + 1, (const char *const *)values);
    free_params(values + 1, n);
    return s;
}

/* Names the field a unique violation is about, when the constraint says. */
static duban_status explain_conflict(struct call *c, const struct resource *r, duban_status s)
{
    if (s != DUBAN_CONFLICT)
        return s;
    for (size_t i = 0; i < r->fields.count; i++) {
        const struct field *f = &r->fields.fields[i];
        if (f->column && strstr(c->constraint, f->column))
            return call_fail(c, s, "another %s already has this %s", r->name, f->name);
    }
    return s;
}

static duban_status check_version(struct call *c, const struct resource *r, const json_t *old, int64_t want)
{
    json_int_t have = json_integer_value(json_object_get(old, "version"));
    if (want && have != want)
        return call_fail(c, DUBAN_STALE, "%s is at version %lld, not %lld: fetch it again and redo the change",
                         r->name, (long long)have, (long long)want);
    return DUBAN_OK;
}

/* Validates, then writes the row (insert when w->id is 0) between the
 * hooks, then reads back the new representation. before_write runs even
 * when some values are invalid, so that the rules needing the database
 * are reported with them; it must then check and never write. */
static duban_status store(struct call *c, PGconn *conn, const struct resource *r, struct write *w, json_t **out)
{
    duban_status s = validate_document(c, &r->fields, w->doc);
    if (s != DUBAN_BAD_INPUT && r->before_write) {
        duban_status checked = r->before_write(c, conn, w);
        if (s == DUBAN_OK || (checked != DUBAN_OK && checked != DUBAN_INVALID))
            s = checked;
    }
    json_t **inserted = !w->id && r->keeps_inserted_row ? out : NULL;   /* the INSERT answers */
    if (s == DUBAN_OK)
        s = explain_conflict(c, r, w->id ? update_row(c, conn, r, w) : insert_row(c, conn, r, w, inserted));
    if (s == DUBAN_OK && r->after_write)
        s = r->after_write(c, conn, w);
    if (s == DUBAN_OK && !inserted)
        s = resource_fetch(c, conn, r, w->id, 0, out);
    return s;
}

struct create_args {
    const struct resource *r;
    json_t *body;
};

/* One attempt: the hooks work on a copy of the body, so that a retried
 * transaction starts again from the request as the client sent it. */
static duban_status create_work(struct call *c, PGconn *conn, void *arg, struct created *out)
{
    struct create_args *a = arg;
    struct write w = {.doc = json_deep_copy(a->body)};
    if (!w.doc)
        return call_fail(c, DUBAN_ERROR, "out of memory");
    duban_status s = store(c, conn, a->r, &w, &out->doc);
    json_decref(w.doc);
    return s;
}

duban_status resource_create(struct call *c, const struct resource *r, json_t *body,
                             const struct idempotency *idem, struct created *out)
{
    struct create_args a = {r, body};
    return idempotent_write(c, idem, out, create_work, &a);
}

/* Keeps only the writable fields of a representation that a patch carries
 * over, copied: the patch merges into them. */
static json_t *writable(const struct resource *r, const json_t *doc)
{
    json_t *out = json_object();
    for (size_t i = 0; i < r->fields.count; i++) {
        json_t *v = json_object_get(doc, r->fields.fields[i].name);
        if (v && !r->fields.fields[i].transient)
            json_object_set_new(out, r->fields.fields[i].name, json_deep_copy(v));
    }
    return out;
}

/* Applies an RFC 7396 merge patch to target: a null removes the member,
 * an object merges into an object member, anything else replaces. */
static void merge_patch(json_t *target, json_t *patch)
{
    json_t *value;
    const char *key;
    json_object_foreach(patch, key, value) {
        json_t *current = json_object_get(target, key);
        if (json_is_null(value))
            json_object_del(target, key);
        else if (json_is_object(value) && json_is_object(current))
            merge_patch(current, value);
        else
            json_object_set_new(target, key, json_deep_copy(value));
    }
}

struct change_args {
    const struct resource *r;
    int64_t id, if_version;
    json_t *body;     /* the replacement, or the patch */
    int patch;
    json_t **out;
};

/* One attempt: like create_work, it leaves the client's body untouched. */
static duban_status change_work(struct call *c, PGconn *conn, void *arg)
{
    struct change_args *a = arg;
    json_decref(*a->out);
    *a->out = NULL;
    struct write w = {.id = a->id};
    duban_status s = a->r->before_fetch ? a->r->before_fetch(c, conn, a->id, a->patch ? a->body : NULL) : DUBAN_OK;
    if (s == DUBAN_OK)
        s = resource_fetch(c, conn, a->r, a->id, 1, &w.old);
    if (s == DUBAN_OK)
        s = check_version(c, a->r, w.old, a->if_version);
    if (s == DUBAN_OK) {
        if (a->patch) {
            w.doc = writable(a->r, w.old);
            merge_patch(w.doc, a->body);
        } else {
            w.doc = json_deep_copy(a->body);
        }
        s = w.doc ? store(c, conn, a->r, &w, a->out) : call_fail(c, DUBAN_ERROR, "out of memory");
    }
    json_decref(w.doc);
    json_decref(w.old);
    return s;
}

static duban_status change(struct call *c, struct change_args *a)
{
    *a->out = NULL;
    duban_status s = db_write(c, change_work, a);
    if (s != DUBAN_OK) {
        json_decref(*a->out);
        *a->out = NULL;
    }
    return s;
}

duban_status resource_replace(struct call *c, const struct resource *r, int64_t id, int64_t if_version,
                              json_t *body, json_t **out)
{
    struct change_args a = {r, id, if_version, body, 0, out};
    return change(c, &a);
}

duban_status resource_patch(struct call *c, const struct resource *r, int64_t id, int64_t if_version,
                            json_t *patch, json_t **out)
{
    struct change_args a = {r, id, if_version, patch, 1, out};
    return change(c, &a);
}

struct delete_args {
    const struct resource *r;
    int64_t id, if_version;
    int cascade;
};

static duban_status delete_work(struct call *c, PGconn *conn, void *arg)
{
    struct delete_args *a = arg;
    struct write w = {.id = a->id, .cascade = a->cascade};
    duban_status s = a->r->before_fetch ? a->r->before_fetch(c, conn, a->id, NULL) : DUBAN_OK;
    if (s == DUBAN_OK)
        s = resource_fetch(c, conn, a->r, a->id, 1, &w.old);
    if (s == DUBAN_OK)
        s = check_version(c, a->r, w.old, a->if_version);
    if (s == DUBAN_OK && a->r->before_delete)
        s = a->r->before_delete(c, conn, &w);
    if (s == DUBAN_OK) {
        char sql[256], idbuf[24];
        id_text(a->id, idbuf);
        const char *params[] = {idbuf};
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = $1", a->r->table);
        s = db_run(c, conn, sql, 1, params);
        if (s == DUBAN_INVALID && strcmp(c->sqlstate, "23503") == 0) {
            call_clear(c); /* no field of the request is wrong */
            s = call_fail(c, DUBAN_CONFLICT, "%s %lld is still referenced", a->r->name, (long long)a->id);
        }
    }
    if (s == DUBAN_OK && a->r->after_delete)
        s = a->r->after_delete(c, conn, &w);
    json_decref(w.old);
    return s;
}

duban_status resource_delete(struct call *c, const struct resource *r, int64_t id, int64_t if_version,
                             int cascade)
{
    struct delete_args a = {r, id, if_version, cascade};
    return db_write(c, delete_work, &a);
}

duban_status still_used(struct call *c, PGconn *conn, const char *sql, int64_t id, char *ids, size_t size,
                        long *count)
{
    char idbuf[24], counted[512];
    id_text(id, idbuf);
    const char *params[] = {idbuf};
    snprintf(counted, sizeof counted, "SELECT count(*), (SELECT string_agg(x::text, ', ') FROM (%s LIMIT 10) s(x)) "
             "FROM (%s) all_rows", sql, sql);
    PGresult *res;
    *count = 0;
    duban_status s = db_exec(c, conn, &res, counted, 1, params);
    if (s != DUBAN_OK)
        return s;
    *count = atol(PQgetvalue(res, 0, 0));
    snprintf(ids, size, "%s%s", PQgetvalue(res, 0, 1), *count > 10 ? ", ..." : "");
    PQclear(res);
    return DUBAN_OK;
}

duban_status touch_tasks_showing(struct call *c, PGconn *conn, const struct write *w, const char *field,
                                 const char *link, const char *column)
{
    if (!w->old || !w->doc || json_equal(json_object_get(w->old, field), json_object_get(w->doc, field)))
        return DUBAN_OK;
    char sql[256], id[24];
    id_text(w->id, id);
    const char *params[] = {id};
    snprintf(sql, sizeof sql,
             "UPDATE task SET version = version + 1, updated_at = now() "
             "WHERE id IN (SELECT task_id FROM %s WHERE %s = $1)", link, column);
    return db_run(c, conn, sql, 1, params);
}

duban_status row_exists(struct call *c, PGconn *conn, const char *table, const char *name, int64_t id)
{
    char sql[128], idbuf[24];
    id_text(id, idbuf);
    const char *params[] = {idbuf};
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id = $1", table);
    PGresult *res;
    duban_status s = db_exec(c, conn, &res, sql, 1, params);
    if (s != DUBAN_OK)
        return s;
    int found = PQntuples(res) == 1;
    PQclear(res);
    return found ? DUBAN_OK : call_fail(c, DUBAN_NOT_FOUND, "%s %s does not exist", name, idbuf);
}
