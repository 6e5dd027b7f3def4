/* Urges (催办): the office urges one of a task's units to act, asking for
 * a reply by a date (which may lie in the past: urges are often entered
 * after they were sent); the unit replies once. What the task shows of
 * its urges is kept by the triggers of migration 0008. */
#include <stdlib.h>
#include <string.h>

#include "model/action.h"
#include "model/resource_def.h"
#include "model/supervision_actions.h"

static const struct field FIELDS[] = {
    {"unit_id", FIELD_ID, 1, 0, 0, NULL, "unit_id", NULL},
    {"message", FIELD_TEXT, 1, 1, 10000, NULL, "message", NULL},
    {"reply_by", FIELD_DATE, 1, 0, 0, NULL, "reply_by", NULL},
};
static const struct field REPLY_FIELDS[] = {
    {"message", FIELD_TEXT, 1, 1, 10000, NULL, "reply", NULL},
};
static const struct fieldset REPLY_SET = {REPLY_FIELDS, sizeof REPLY_FIELDS / sizeof *REPLY_FIELDS, NULL};

#define URGE_JSON                                                                                           \
    "json_build_object('id', r.id, 'task_id', r.task_id, 'unit_id', r.unit_id, 'message', r.message, "     \
    "'reply_by', r.reply_by, 'created_at', rfc3339(r.created_at), 'reply', r.reply, "                       \
    "'replied_at', rfc3339(r.replied_at), 'updated_at', rfc3339(r.updated_at), 'version', r.version)"

const struct resource urge_resource = {
    .name = "urge",
    .table = "urge",
    .json = URGE_JSON,
    .fields = {FIELDS, sizeof FIELDS / sizeof *FIELDS, NULL},
};

static const struct filter FILTERS[] = {
    TASK_ROW_FILTERS,
    {"open", FILTER_BOOL, "r.replied_at IS NULL", "r.replied_at IS NOT NULL", 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};
static const struct sort_key SORTS[] = {COMMON_SORTS, {"reply_by", "r.reply_by"}, {NULL, NULL}};

const struct list_spec urge_list = {"urge", URGE_JSON, FILTERS, SORTS, "r.id"};

/* One attempt of an urge: 404, every bad field (422), then the urge. */
static duban_status urge_work(struct call *c, PGconn *conn, void *arg, struct created *out)
{
    const struct action_request *u = arg;
    json_t *doc;
    int64_t unit_id;
    struct task_facts facts;
    duban_status s = task_action_start(c, conn, &urge_resource.fields, UNIT_ASSIGNED, u, &doc, &unit_id, &facts);
    char task[24], unit[24];
    id_text(u->id, task);
    id_text(unit_id, unit);
    const char *params[] = {task, unit, json_string_value(json_object_get(doc, "message")),
                            json_string_value(json_object_get(doc, "reply_by"))};
    int64_t id = 0;
    if (s == DUBAN_OK && (s = call_errors_status(c, DUBAN_INVALID)) == DUBAN_OK)
        s = query_id(c, conn, &id,
                     "INSERT INTO urge (task_id, unit_id, message, reply_by) VALUES ($1, $2, $3, $4::date) RETURNING id",
                     4, params);
    if (s == DUBAN_OK)
        s = resource_fetch(c, conn, &urge_resource, id, 0, &out->doc);
    json_decref(doc);
    return s;
}

duban_status urge_create(struct call *c, const struct action_request *in, const struct idempotency *idem,
                         struct created *out)
{
    return idempotent_write(c, idem, out, urge_work, (void *)in);
}

/* One attempt of a reply: 404, 403 (another unit's reporter), every bad
 * field (422), 409 when replied already, then the reply. */
static duban_status reply_work(struct call *c, PGconn *conn, void *arg, struct created *out)
{
    const struct action_request *u = arg;
    json_t *doc;
    duban_status s = action_body(c, &REPLY_SET, u->body, &doc);
    PGresult *row = NULL;
    if (s == DUBAN_OK)
        s = action_stop(c, task_row_lock(c, conn, "urge", "urge", u->id, u->if_version, "unit_id, replied_at IS NOT NULL", &row));
    if (s == DUBAN_OK)
        s = action_stop(c, reporter_acts_for(c, strtoll(PQgetvalue(row, 0, 0), NULL, 10)));
    if (s == DUBAN_OK && (s = call_errors_status(c, DUBAN_INVALID)) == DUBAN_OK &&
        strcmp(PQgetvalue(row, 0, 1), "t") == 0)
        s = call_fail(c, DUBAN_CONFLICT, "urge %lld was replied to already", (long long)u->id);
    PQclear(row);
    char id[24];
    id_text(u->id, id);
    const char *params[] = {id, json_string_value(json_object_get(doc, "message"))};
    if (s == DUBAN_OK)
        s = db_run(c, conn,
                   "UPDATE urge SET reply = $2, replied_at = now(), updated_at = now(), version = version + 1 "
                   "WHERE id = $1",
                   2, params);
    if (s == DUBAN_OK)
        s = resource_fetch(c, conn, &urge_resource, u->id, 0, &out->doc);
    json_decref(doc);
    return s;
}

duban_status urge_reply(struct call *c, const struct action_request *in, const struct idempotency *idem,
                        struct created *out)
{
    return idempotent_write(c, idem, out, reply_work, (void *)in);
}
