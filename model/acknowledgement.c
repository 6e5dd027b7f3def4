/* Acknowledgements (签收): a unit assigned to a task signs for it, once. A
 * second signature changes nothing and gets the same answer. */
#include <string.h>

#include "model/action.h"
#include "model/resource_def.h"
#include "model/supervision_actions.h"

static const struct field FIELDS[] = {
    {"unit_id", FIELD_ID, 1, 0, 0, NULL, "unit_id", NULL},
};
static const struct fieldset FIELD_SET = {FIELDS, sizeof FIELDS / sizeof *FIELDS, NULL};

struct replay {
    const struct idempotency *idem;
    struct created *out;
};

#define ACKNOWLEDGEMENT_JSON                                                                           \
    "json_build_object('task_id', a.task_id, 'unit_id', a.unit_id, "                                   \
    "'acknowledged_at', rfc3339(a.acknowledged_at))"

const char acknowledgement_json[] = ACKNOWLEDGEMENT_JSON;

/* One attempt: the checks, then the signature unless there is one. */
static duban_status acknowledge_work(struct call *c, PGconn *conn, void *arg, struct created *out)
{
    const struct action_request *a = arg;
    json_t *doc;
    int64_t unit_id;
    struct task_facts facts;
    duban_status s = task_action_start(c, conn, &FIELD_SET, UNIT_ASSIGNED, a, &doc, &unit_id, &facts);
    json_decref(doc);
    if (s != DUBAN_OK || (s = call_errors_status(c, DUBAN_INVALID)) != DUBAN_OK)
        return s;
    char task[24], unit[24];
    id_text(a->id, task);
    id_text(unit_id, unit);
    const char *params[] = {task, unit};
    PGresult *res;
    s = db_exec(c, conn, &res,
                "INSERT INTO acknowledgement (task_id, unit_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
                2, params);
    if (s != DUBAN_OK)
        return s;
    out->again = PQntuples(res) == 0;
    PQclear(res);
    s = query_json(c, conn, &out->doc,
                   "SELECT " ACKNOWLEDGEMENT_JSON " FROM acknowledgement a WHERE a.task_id = $1 AND a.unit_id = $2",
                   2, params);
    return s == DUBAN_OK && !out->doc ? call_fail(c, DUBAN_ERROR, "the acknowledgement was not stored") : s;
}

/* On a replay: the first answer found the signature there already when
 * the signature is older than the key (a key and the row written with it
 * share their transaction's now()). */
static duban_status replay_work(struct call *c, PGconn *conn, void *arg)
{
    const struct replay *r = arg;
    char task[24], unit[24];
    id_text(member_id(r->out->doc, "task_id"), task);
    id_text(member_id(r->out->doc, "unit_id"), unit);
    const char *params[] = {r->idem->scope, r->idem->key, task, unit};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "SELECT a.acknowledged_at < k.created_at FROM idempotency_key k, acknowledgement a "
                             "WHERE k.scope = $1 AND k.key = $2 AND a.task_id = $3 AND a.unit_id = $4",
                             4, params);
    if (s != DUBAN_OK)
        return s;
    r->out->again = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return DUBAN_OK;
}

duban_status acknowledgement_create(struct call *c, const struct action_request *in,
                                    const struct idempotency *idem, struct created *out)
{
    duban_status s = idempotent_write(c, idem, out, acknowledge_work, (void *)in);
    struct replay r = {idem, out};
    if (s == DUBAN_OK && out->replayed)
        s = db_read(c, replay_work, &r);
    if (s != DUBAN_OK) {
        json_decref(out->doc);
        out->doc = NULL;
    }
    return s;
}
