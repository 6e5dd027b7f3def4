/* Closure requests (办结 → 核查 → 销号): the lead unit of an open task asks
 * to close it, or reports it done when its plan requires verification; an
 * editor verifies (the task is done, progress 100) or rejects (the task is
 * in progress again). At most one request of a task waits for a decision.
 * What the task shows of its closure is rendered by the triggers of
 * migration 0008, which also give the task its new version when a request
 * is filed or decided. */
#include <string.h>

#include "model/action.h"
#include "model/resource_def.h"
#include "model/supervision_actions.h"

static const char *const STATES[] = {"requested", "rejected", "verified", NULL};
static const char *const DECISIONS[] = {"accept", "reject", NULL};

static const struct field FIELDS[] = {
    {"unit_id", FIELD_ID, 1, 0, 0, NULL, "unit_id", NULL},
    {"summary", FIELD_TEXT, 1, 1, 10000, NULL, "summary", NULL},
    {"evidence", FIELD_TEXT, 0, 0, 10000, NULL, "evidence", NULL},
};
static const struct field DECISION_FIELDS[] = {
    {"decision", FIELD_ENUM, 1, 0, 0, DECISIONS, NULL, NULL},
    {"comment", FIELD_TEXT, 0, 1, 10000, NULL, "comment", NULL},
};
static const struct fieldset DECISION_SET = {DECISION_FIELDS, sizeof DECISION_FIELDS / sizeof *DECISION_FIELDS, NULL};

#define CLOSURE_JSON                                                                                        \
    "json_build_object('id', r.id, 'task_id', r.task_id, 'unit_id', r.unit_id, 'summary', r.summary, "     \
    "'evidence', r.evidence, 'state', r.state, 'created_at', rfc3339(r.created_at), "                       \
    "'decided_at', rfc3339(r.decided_at), 'decided_by', r.decided_by, 'comment', r.comment, "               \
    "'progress_log_id', r.progress_log_id, 'updated_at', rfc3339(r.updated_at), 'version', r.version)"

const struct resource closure_request_resource = {
    .name = "closure request",
    .table = "closure_request",
    .json = CLOSURE_JSON,
    .fields = {FIELDS, sizeof FIELDS / sizeof *FIELDS, NULL},
};

static const struct filter FILTERS[] = {
    TASK_ROW_FILTERS,
    {"state", FILTER_ENUM, "r.state = $$", NULL, 0, 0, STATES},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};
static const struct sort_key SORTS[] = {COMMON_SORTS, {NULL, NULL}};

const struct list_spec closure_request_list = {"closure_request", CLOSURE_JSON, FILTERS, SORTS, "r.id"};

/* The id of the request of task `task` that waits for a decision, or 0. */
static duban_status waiting_request(struct call *c, PGconn *conn, const char *task, int64_t *id)
{
    const char *params[] = {task};
    return query_id(c, conn, id, "SELECT id FROM closure_request WHERE task_id = $1 AND state = 'requested'", 1,
                    params);
}

/* Files a request of task `task` by `unit` (evidence and log may be NULL);
 * *id is the new request's. */
static duban_status file_request(struct call *c, PGconn *conn, const char *task, const char *unit,
                                 const char *summary, const char *evidence, const char *log, int64_t *id)
{
    const char *params[] = {task, unit, summary, evidence, log};
    return query_id(c, conn, id,
                    "INSERT INTO closure_request (task_id, unit_id, summary, evidence, progress_log_id) "
                    "VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    5, params);
}

/* One attempt of a request: 404, 403, every bad field (422), then the
 * task's state (409), then the request. */
static duban_status request_work(struct call *c, PGconn *conn, void *arg, struct created *out)
{
    const struct action_request *f = arg;
    json_t *doc;
    int64_t unit_id, waiting = 0;
    struct task_facts facts;
    duban_status s = task_action_start(c, conn, &closure_request_resource.fields, UNIT_LEAD, f, &doc, &unit_id, &facts);
    char task[24], unit[24];
    id_text(f->id, task);
    id_text(unit_id, unit);
    if (s == DUBAN_OK && (s = call_errors_status(c, DUBAN_INVALID)) == DUBAN_OK && !facts.open)
        s = call_fail(c, DUBAN_CONFLICT, "task %s is closed", task);
    if (s == DUBAN_OK)
        s = waiting_request(c, conn, task, &waiting);
    if (s == DUBAN_OK && waiting)
        s = call_fail(c, DUBAN_CONFLICT, "closure request %lld of task %s waits for a decision", (long long)waiting,
                      task);
    int64_t id = 0;
    if (s == DUBAN_OK)
        s = file_request(c, conn, task, unit, json_string_value(json_object_get(doc, "summary")),
                         json_string_value(json_object_get(doc, "evidence")), NULL, &id);
    if (s == DUBAN_OK)
        s = resource_fetch(c, conn, &closure_request_resource, id, 0, &out->doc);
    json_decref(doc);
    return s;
}

duban_status closure_request_create(struct call *c, const struct action_request *in,
                                    const struct idempotency *idem, struct created *out)
{
    return idempotent_write(c, idem, out, request_work, (void *)in);
}

duban_status closure_from_report(struct call *c, PGconn *conn, int64_t task_id, int64_t unit_id, int64_t log_id,
                                 const char *summary, int filing, int *hold)
{
    struct task_facts facts;
    *hold = 0;
    duban_status s = task_facts_lock(c, conn, task_id, unit_id, &facts);
    if (s != DUBAN_OK || !facts.requires_verification || facts.done)
        return s;
    *hold = 1;
    char task[24], unit[24], log[24];
    id_text(task_id, task);
    id_text(unit_id, unit);
    id_text(log_id, log);
    int64_t waiting = 0, id;
    if (filing && facts.lead)
        s = waiting_request(c, conn, task, &waiting);
    if (s == DUBAN_OK && filing && facts.lead && !waiting)
        s = file_request(c, conn, task, unit, summary, NULL, log, &id);
    return s;
}

/* The task of a request decided: done with progress 100 when accepted,
 * in progress again when rejected. Its version has grown with the request
 * (migration 0008's trigger), so this statement leaves the version alone. */
static duban_status follow_decision(struct call *c, PGconn *conn, int64_t request_id, int accept)
{
    char id[24];
    id_text(request_id, id);
    const char *params[] = {id};
    return db_run(c, conn,
                  accept ? "UPDATE task SET status = 'done', progress = 100 FROM closure_request r "
                           "WHERE r.id = $1 AND task.id = r.task_id AND (task.status <> 'done' OR task.progress <> 100)"
                         : "UPDATE task SET status = 'in_progress' FROM closure_request r "
                           "WHERE r.id = $1 AND task.id = r.task_id AND task.status <> 'in_progress'",
                  1, params);
}

/* One attempt of a decision: 404, every bad field (422), the request's
 * state (409), then the request decided and its task following. */
static duban_status decide_work(struct call *c, PGconn *conn, void *arg, struct created *out)
{
    const struct action_request *d = arg;
    json_t *doc;
    duban_status s = action_body(c, &DECISION_SET, d->body, &doc);
    const char *decision = json_string_value(json_object_get(doc, "decision"));
    const char *comment = json_string_value(json_object_get(doc, "comment"));
    int accept = decision && strcmp(decision, "accept") == 0;
    if (s == DUBAN_OK && decision && strcmp(decision, "reject") == 0 && !comment)
        call_field_error(c, "comment", "is required to reject: say what is missing");
    PGresult *row = NULL;
    if (s == DUBAN_OK)
        s = action_stop(c, task_row_lock(c, conn, "closure_request", "closure request", d->id, d->if_version, "state", &row));
    if (s == DUBAN_OK && (s = call_errors_status(c, DUBAN_INVALID)) == DUBAN_OK &&
        strcmp(PQgetvalue(row, 0, 0), "requested") != 0)
        s = call_fail(c, DUBAN_CONFLICT, "closure request %lld was already decided: it is %s", (long long)d->id,
                      PQgetvalue(row, 0, 0));
    PQclear(row);
    char id[24];
    id_text(d->id, id);
    const char *params[] = {id, accept ? "verified" : "rejected", c->token_name, comment};
    if (s == DUBAN_OK)
        s = db_run(c, conn,
                   "UPDATE closure_request SET state = $2, decided_at = now(), decided_by = $3, comment = $4, "
                   "updated_at = now(), version = version + 1 WHERE id = $1",
                   4, params);
    if (s == DUBAN_OK)
        s = follow_decision(c, conn, d->id, accept);
    if (s == DUBAN_OK)
        s = resource_fetch(c, conn, &closure_request_resource, d->id, 0, &out->doc);
    json_decref(doc);
    return s;
}

duban_status closure_request_decide(struct call *c, const struct action_request *in, const struct idempotency *idem,
                                    struct created *out)
{
    return idempotent_write(c, idem, out, decide_work, (void *)in);
}
