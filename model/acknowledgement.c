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

#define ACKNOWLEDGEMENT_JSON                                                                           \
    "json_build_object('task_id', a.task_id, 'unit_id', a.unit_id, "                                   \
    "'acknowledged_at', rfc3339(a.acknowledged_at))"

struct acknowledge {
    int64_t task_id;
    const json_t *body;
};

/* One attempt: the checks, then the signature unless there is one. */
static duban_status acknowledge_work(struct call *c, PGconn *conn, void *arg, struct created *out)
{
    const struct acknowledge *a = arg;
    json_t *doc;
    duban_status s = action_body(c, &FIELD_SET, a->body, &doc);
    int64_t unit_id = member_id(doc, "unit_id");
    json_decref(doc);
    struct task_facts facts;
    if (s == DUBAN_OK)
        s = action_stop(c, task_facts_lock(c, conn, a->task_id, unit_id, &facts));
    if (s == DUBAN_OK && unit_id > 0) {
        s = action_stop(c, reporter_acts_for(c, unit_id));
        if (s == DUBAN_OK && !facts.assigned)
            call_field_error(c, "unit_id", "unit %lld is not one of the units of task %lld", (long long)unit_id,
                             (long long)a->task_id);
    }
    if (s != DUBAN_OK || (s = call_errors_status(c, DUBAN_INVALID)) != DUBAN_OK)
        return s;
    char task[24], unit[24];
    id_text(a->task_id, task);
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

duban_status acknowledgement_create(struct call *c, int64_t task_id, const json_t *body,
                                    const struct idempotency *idem, struct created *out)
{
    struct acknowledge a = {task_id, body};
    return action_run(c, idem, out, acknowledge_work, &a);
}
