/* Units (责任单位): a unique name, aliases unique across every unit's names,
 * and a kind. A unit still assigned to a task or named on a progress log
 * cannot be deleted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/sql.h"
#include "model/resources.h"
#include "model/resource_def.h"
#include "model/unit.h"

static const char *const KINDS[] = {"department", "township", "enterprise", "group", "other", NULL};

static const struct field FIELDS[] = {
    {"name", FIELD_TEXT, 1, 1, 200, NULL, "name", NULL},
    {"kind", FIELD_ENUM, 0, 0, 0, KINDS, "kind", "'department'"},
    {"aliases", FIELD_TEXT_LIST, 0, 0, 50, NULL, NULL, NULL},
};
static const char *const READ_ONLY[] = {COMMON_READ_ONLY, NULL};

#define UNIT_JSON                                                                                       \
    "json_build_object('id', r.id, 'name', r.name, 'aliases', coalesce((SELECT json_agg(n.name ORDER BY " \
    "n.name) FROM unit_name n WHERE n.unit_id = r.id AND n.is_alias), '[]'), 'kind', r.kind, " COMMON_JSON ")"

/* Reports, as a conflict, any wanted alias that is already a name of
 * another unit or this unit's own name. */
static duban_status check_aliases(struct call *c, PGconn *conn, const char *id, const char *aliases)
{
    const char *params[] = {id, aliases};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "SELECT n.name, u.name, u.id FROM unit_name n JOIN unit u ON u.id = n.unit_id "
                             "WHERE n.name = ANY($2::text[]) AND NOT (n.unit_id = $1::bigint AND n.is_alias)",
                             2, params);
    if (s != DUBAN_OK)
        return s;
    for (int i = 0; i < PQntuples(res); i++)
        call_field_error(c, "aliases", "'%s' is already a name of unit %s (id %s)", PQgetvalue(res, i, 0),
                         PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
    PQclear(res);
    return call_errors_status(c, DUBAN_CONFLICT);
}

/* 1 when two lists of names (null meaning none) hold the same names. */
static int same_names(const json_t *a, const json_t *b)
{
    if (json_array_size(a) != json_array_size(b))
        return 0;
    size_t i, j;
    json_t *x, *y;
    json_array_foreach(a, i, x) {
        int found = 0;
        json_array_foreach(b, j, y) found |= json_equal(x, y);
        if (!found)
            return 0;
    }
    return 1;
}

/* Makes the unit's aliases exactly those of the document (rewritten only
 * when they differ, so the journal shows only real changes). */
static duban_status store_aliases(struct call *c, PGconn *conn, struct write *w)
{
    if (w->old && same_names(json_object_get(w->old, "aliases"), json_object_get(w->doc, "aliases")))
        return DUBAN_OK;
    char id[24];
    id_text(w->id, id);
    json_t *list = json_object_get(w->doc, "aliases");
    json_t *empty = json_array();
    char *aliases = sql_text(list && !json_is_null(list) ? list : empty);
    json_decref(empty);
    const char *params[] = {id, aliases};
    duban_status s = db_run(c, conn, "DELETE FROM unit_name WHERE unit_id = $1 AND is_alias", 1, params);
    if (s == DUBAN_OK)
        s = check_aliases(c, conn, id, aliases);
    if (s == DUBAN_OK)
        s = db_run(c, conn,
                   "INSERT INTO unit_name (name, unit_id, is_alias) SELECT unnest($2::text[]), $1, true", 2, params);
    free(aliases);
    return s;
}

/* Before a write: a new name shows in the unit's tasks, whose versions grow. */
static duban_status touch_unit_tasks(struct call *c, PGconn *conn, struct write *w)
{
    return c->errors ? DUBAN_INVALID : touch_tasks_showing(c, conn, w, "name", "task_unit", "unit_id");
}

/* Before a delete: refused while tasks or progress logs name the unit. */
static duban_status refuse_if_named(struct call *c, PGconn *conn, struct write *w)
{
    char tasks[128], logs[128];
    long ntasks, nlogs;
    duban_status s = still_used(c, conn, "SELECT task_id FROM task_unit WHERE unit_id = $1 ORDER BY task_id", w->id,
                                tasks, sizeof tasks, &ntasks);
    if (s == DUBAN_OK)
        s = still_used(c, conn, "SELECT id FROM progress_log WHERE unit_id = $1 ORDER BY id", w->id, logs,
                       sizeof logs, &nlogs);
    if (s != DUBAN_OK)
        return s;
    if (ntasks == 0 && nlogs == 0)
        return DUBAN_OK;
    return call_fail(c, DUBAN_CONFLICT,
                     "unit %lld is still assigned to %ld task(s)%s%s and named on %ld progress log(s)%s%s; "
                     "reassign them or merge the unit into another",
                     (long long)w->id, ntasks, ntasks ? ": " : "", tasks, nlogs, nlogs ? ": " : "", logs);
}

const struct resource unit_resource = {
    .name = "unit",
    .table = "unit",
    .json = UNIT_JSON,
    .fields = {FIELDS, sizeof FIELDS / sizeof *FIELDS, READ_ONLY},
    .before_write = touch_unit_tasks,
    .after_write = store_aliases,
    .before_delete = refuse_if_named,
};

static const struct filter FILTERS[] = {
    {"name", FILTER_TEXT, "EXISTS (SELECT 1 FROM unit_name n WHERE n.unit_id = r.id AND n.name = $$)", NULL, 0, 0, NULL},
    {"kind", FILTER_ENUM, "r.kind = $$", NULL, 0, 0, KINDS},
    {"q", FILTER_TEXT, "EXISTS (SELECT 1 FROM unit_name n WHERE n.unit_id = r.id AND strpos(lower(n.name), lower($$)) > 0)",
     NULL, 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};
static const struct sort_key SORTS[] = {COMMON_SORTS, {"name", "r.name"}, {"kind", "r.kind"}, {NULL, NULL}};

const struct list_spec unit_list = {"unit", UNIT_JSON, FILTERS, SORTS, "r.id"};

struct merge {
    char into[24], from[24];
    const struct idempotency *idem;
    struct created *out;
};

/* Locks both units; fails when either is missing or they are the same. */
static duban_status lock_pair(struct call *c, PGconn *conn, const struct merge *m)
{
    if (strcmp(m->into, m->from) == 0) {
        call_field_error(c, "from", "a unit cannot be merged into itself");
        return call_errors_status(c, DUBAN_INVALID);
    }
    json_t *into = NULL, *from = NULL;
    duban_status s = resource_fetch(c, conn, &unit_resource, strtoll(m->into, NULL, 10), 1, &into);
    if (s == DUBAN_OK) {
        s = resource_fetch(c, conn, &unit_resource, strtoll(m->from, NULL, 10), 1, &from);
        if (s == DUBAN_NOT_FOUND) {
            c->detail[0] = '\0';
            call_field_error(c, "from", "unit %s does not exist", m->from);
            s = call_errors_status(c, DUBAN_INVALID);
        }
    }
    json_decref(into);
    json_decref(from);
    return s;
}

/* One attempt of the merge; it keeps nothing from an attempt rolled back. */
static duban_status merge_work(struct call *c, PGconn *conn, void *arg)
{
    struct merge *m = arg;
    const char *params[] = {m->into, m->from};
    /* Each step uses the parameters from `first`, `count` of them. */
    static const struct {
        const char *sql;
        int first, count;
    } steps[] = {
        /* the tasks of `from` get `into` at the better of the two places */
        {"CREATE TEMP TABLE merged ON COMMIT DROP AS "
         "SELECT task_id, unit_id, row_number() OVER (PARTITION BY task_id ORDER BY position) AS position FROM ("
         " SELECT task_id, CASE WHEN unit_id = $2::bigint THEN $1::bigint ELSE unit_id END AS unit_id,"
         " min(position) AS position FROM task_unit"
         " WHERE task_id IN (SELECT task_id FROM task_unit WHERE unit_id = $2::bigint) GROUP BY 1, 2) s",
         0, 2},
        {"DELETE FROM task_unit WHERE task_id IN (SELECT task_id FROM merged)", 0, 0},
        {"INSERT INTO task_unit (task_id, unit_id, position) SELECT task_id, unit_id, position FROM merged", 0, 0},
        {"UPDATE task SET version = version + 1, updated_at = now() WHERE id IN (SELECT task_id FROM merged)", 0, 0},
        {"UPDATE progress_log SET unit_id = $1, version = version + 1, updated_at = now() WHERE unit_id = $2", 0, 2},
        {"UPDATE api_token SET unit_id = $1, version = version + 1, updated_at = now() WHERE unit_id = $2", 0, 2},
        {"UPDATE unit_name SET unit_id = $1, is_alias = true WHERE unit_id = $2", 0, 2},
        {"DELETE FROM unit WHERE id = $1", 1, 1},
        {"UPDATE unit SET version = version + 1, updated_at = now() WHERE id = $1", 0, 1},
    };
    created_reset(m->out);
    int claimed = 1;
    duban_status s = m->idem ? idempotency_claim(c, conn, m->idem, m->out, &claimed) : DUBAN_OK;
    if (s != DUBAN_OK || !claimed)
        return s;
    s = lock_pair(c, conn, m);
    for (size_t i = 0; s == DUBAN_OK && i < sizeof steps / sizeof *steps; i++)
        s = db_run(c, conn, steps[i].sql, steps[i].count, params + steps[i].first);
    if (s == DUBAN_OK)
        s = resource_fetch(c, conn, &unit_resource, strtoll(m->into, NULL, 10), 0, &m->out->doc);
    if (s == DUBAN_OK && m->idem)
        s = idempotency_remember(c, conn, m->idem, m->out);
    return s;
}

duban_status unit_merge(struct call *c, int64_t into, int64_t from, const struct idempotency *idem,
                        struct created *out)
{
    struct merge m = {.idem = idem, .out = out};
    memset(out, 0, sizeof *out);
    id_text(into, m.into);
    id_text(from, m.from);
    duban_status s = db_write(c, merge_work, &m);
    if (s != DUBAN_OK) {
        json_decref(out->doc);
        out->doc = NULL;
    }
    return s;
}
