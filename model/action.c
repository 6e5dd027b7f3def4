/* What the supervision actions share: one idempotent transaction, the
 * body checked on a copy, the task locked and read, a reporter held to
 * its unit. */
#include "model/action.h"

#include <stdlib.h>
#include <string.h>

#include "model/resource_def.h"

duban_status action_body(struct call *c, const struct fieldset *set, const json_t *body, json_t **doc)
{
    *doc = json_deep_copy(body);
    if (!*doc)
        return call_fail(c, DUBAN_ERROR, "out of memory");
    duban_status s = validate_document(c, set, *doc);
    return s == DUBAN_INVALID ? DUBAN_OK : s;
}

duban_status task_facts_lock(struct call *c, PGconn *conn, int64_t task_id, int64_t unit_id, struct task_facts *out)
{
    char task[24], unit[24];
    id_text(task_id, task);
    id_text(unit_id, unit);
    const char *params[] = {task, unit};
    PGresult *res;
    memset(out, 0, sizeof *out);
    duban_status s = db_exec(c, conn, &res,
                             "SELECT t.status, EXISTS (SELECT 1 FROM task_unit tu WHERE tu.task_id = t.id "
                             "AND tu.unit_id = $2::bigint), EXISTS (SELECT 1 FROM task_unit tu WHERE tu.task_id = t.id "
                             "AND tu.unit_id = $2::bigint AND tu.position = 1), p.requires_verification "
                             "FROM task t JOIN plan p ON p.id = t.plan_id WHERE t.id = $1::bigint FOR NO KEY UPDATE OF t",
                             2, params);
    if (s != DUBAN_OK)
        return s;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return call_fail(c, DUBAN_NOT_FOUND, "task %s does not exist", task);
    }
    const char *status = PQgetvalue(res, 0, 0);
    out->open = strcmp(status, "not_started") == 0 || strcmp(status, "in_progress") == 0;
    out->done = strcmp(status, "done") == 0;
    out->assigned = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    out->lead = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
    out->requires_verification = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    PQclear(res);
    return DUBAN_OK;
}

duban_status reporter_acts_for(struct call *c, int64_t unit_id)
{
    if (c->unit_scope && unit_id != c->unit_scope)
        return call_fail(c, DUBAN_FORBIDDEN, "this token acts only for unit %lld", (long long)c->unit_scope);
    return DUBAN_OK;
}

duban_status query_id(struct call *c, PGconn *conn, int64_t *id, const char *sql, int nparams,
                      const char *const *params)
{
    PGresult *res;
    *id = 0;
    duban_status s = db_exec(c, conn, &res, sql, nparams, params);
    if (s != DUBAN_OK)
        return s;
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return DUBAN_OK;
}

int64_t member_id(const json_t *doc, const char *name)
{
    const json_t *v = json_object_get(doc, name);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

duban_status action_stop(struct call *c, duban_status s)
{
    if (s != DUBAN_OK && s != DUBAN_INVALID) {
        json_decref(c->errors);
        c->errors = NULL;
    }
    return s;
}

duban_status task_row_lock(struct call *c, PGconn *conn, const char *table, const char *name, int64_t id,
                           int64_t if_version, const char *columns, PGresult **row)
{
    char sql[256], idbuf[24];
    id_text(id, idbuf);
    const char *params[] = {idbuf};
    *row = NULL;
    snprintf(sql, sizeof sql, "SELECT task_id FROM %s WHERE id = $1", table);
    int64_t task_id;
    duban_status s = query_id(c, conn, &task_id, sql, 1, params);
    if (s != DUBAN_OK)
        return s;
    struct task_facts facts;
    s = task_id ? task_facts_lock(c, conn, task_id, 0, &facts) : DUBAN_NOT_FOUND;
    if (s == DUBAN_OK) {
        snprintf(sql, sizeof sql, "SELECT %s, version FROM %s WHERE id = $1 FOR UPDATE", columns, table);
        s = db_exec(c, conn, row, sql, 1, params);
    }
    if (s == DUBAN_OK && PQntuples(*row) == 0)
        s = DUBAN_NOT_FOUND;
    long long version = s == DUBAN_OK ? strtoll(PQgetvalue(*row, 0, PQnfields(*row) - 1), NULL, 10) : 0;
    if (s == DUBAN_OK && if_version && version != if_version)
        s = call_fail(c, DUBAN_STALE, "%s %s is at version %lld, not %lld: fetch it again and decide anew", name, idbuf,
                      version, (long long)if_version);
    if (s == DUBAN_NOT_FOUND)
        call_fail(c, s, "%s %s does not exist", name, idbuf);
    if (s != DUBAN_OK) {
        PQclear(*row);
        *row = NULL;
    }
    return s;
}

duban_status task_action_start(struct call *c, PGconn *conn, const struct fieldset *set, enum unit_rule rule,
                               const struct action_request *in, json_t **doc, int64_t *unit_id,
                               struct task_facts *facts)
{
    duban_status s = action_body(c, set, in->body, doc);
    *unit_id = member_id(*doc, "unit_id");
    if (s == DUBAN_OK)
        s = action_stop(c, task_facts_lock(c, conn, in->id, *unit_id, facts));
    if (s != DUBAN_OK || *unit_id <= 0)
        return s;
    s = action_stop(c, reporter_acts_for(c, *unit_id));
    if (s == DUBAN_OK && rule == UNIT_LEAD && !facts->lead)
        call_field_error(c, "unit_id", "unit %lld is not the lead unit of task %lld: the lead unit asks to close it",
                         (long long)*unit_id, (long long)in->id);
    else if (s == DUBAN_OK && rule == UNIT_ASSIGNED && !facts->assigned)
        call_field_error(c, "unit_id", "unit %lld is not one of the units of task %lld", (long long)*unit_id,
                         (long long)in->id);
    return s;
}
