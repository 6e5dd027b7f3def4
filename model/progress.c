/* Progress logs: a unit's report on a task. The unit must be one of the
 * task's units. Every change to a task's logs sets its progress to the
 * percent of its latest log (by reported_on, then id) and, when the log
 * gives one, its status, in the same transaction. When the task's plan
 * requires verification, a log saying "done" does not close the task: the
 * task stays in progress and, from its lead unit, the log files a closure
 * request (model/closure.c). */
#include <stdio.h>
#include <string.h>

#include "model/action.h"
#include "model/sql.h"
#include "model/resources.h"
#include "model/resource_def.h"

static const char *const STATUSES[] = {"not_started", "in_progress", "done", "cancelled", NULL};

static const struct field FIELDS[] = {
    {"task_id", FIELD_ID, 1, 0, 0, NULL, "task_id", NULL, 0},
    {"unit_id", FIELD_ID, 1, 0, 0, NULL, "unit_id", NULL, 0},
    {"reported_on", FIELD_DATE, 0, 0, 0, NULL, "reported_on", "current_date", 0},
    {"percent", FIELD_INT, 1, 0, 100, NULL, "percent", NULL, 0},
    {"status", FIELD_ENUM, 0, 0, 0, STATUSES, "status", NULL, 0},
    {"summary", FIELD_TEXT, 1, 1, 10000, NULL, "summary", NULL, 0},
    {"problems", FIELD_TEXT, 0, 0, 10000, NULL, "problems", NULL, 0},
    {"next_steps", FIELD_TEXT, 0, 0, 10000, NULL, "next_steps", NULL, 0},
    {"reporter", FIELD_TEXT, 0, 0, 100, NULL, "reporter", NULL, 0},
};
static const char *const READ_ONLY[] = {COMMON_READ_ONLY, NULL};

#define PROGRESS_JSON                                                                                      \
    "json_build_object('id', r.id, 'task_id', r.task_id, 'unit_id', r.unit_id, 'reported_on', "           \
    "r.reported_on, 'percent', r.percent, 'status', r.status, 'summary', r.summary, 'problems', "          \
    "r.problems, 'next_steps', r.next_steps, 'reporter', r.reporter, " COMMON_JSON ")"

/* A reporter (c->unit_scope) changes or deletes only its own unit's logs. */
static duban_status check_reporter_owns(struct call *c, PGconn *conn, struct write *w)
{
    (void)conn;
    if (c->unit_scope && w->old && json_integer_value(json_object_get(w->old, "unit_id")) != c->unit_scope)
        return call_fail(c, DUBAN_FORBIDDEN, "this token reports for unit %lld, not for the unit of this log",
                         (long long)c->unit_scope);
    return DUBAN_OK;
}

/* The task exists and is locked (reports on one task apply one at a time),
 * and the reporting unit is one of its units. A reporter (c->unit_scope)
 * acts only for its own unit. The report's task is then rendered by
 * update_task alone: the transaction tells the report triggers so
 * (migration 0013). Reports on a task queue first for an
 * advisory lock of their own, which takes no transaction id: each then
 * gets its id in the order it writes the task, and the change feed (which
 * orders by transaction id, migration 0009) need not retry one that drew
 * its id early but came to the task's row late. The statement refuses
 * (migration 0017) a missing task (404) and a unit not assigned (422, or
 * 403 for a reporter), so it goes out with the write that follows; it
 * waits for its answer only when fields are already invalid, to report
 * its finding with theirs. */
static duban_status check_report(struct call *c, PGconn *conn, struct write *w)
{
    duban_status owned = check_reporter_owns(c, conn, w);
    if (owned != DUBAN_OK)
        return owned;
    if (c->unit_scope && json_integer_value(json_object_get(w->doc, "unit_id")) != c->unit_scope)
        return call_fail(c, DUBAN_FORBIDDEN, "this token reports only for unit %lld", (long long)c->unit_scope);
    if (!json_is_integer(json_object_get(w->doc, "task_id")) || !json_is_integer(json_object_get(w->doc, "unit_id")))
        return call_errors_status(c, DUBAN_INVALID);
    json_int_t task = json_integer_value(json_object_get(w->doc, "task_id"));
    if (w->old && task != json_integer_value(json_object_get(w->old, "task_id"))) {
        call_field_error(c, "task_id", "a progress log cannot move to another task");
        return call_errors_status(c, DUBAN_INVALID);
    }
    char task_id[24], unit_id[24], missing[96], unassigned[160];
    id_text(task, task_id);
    id_text(json_integer_value(json_object_get(w->doc, "unit_id")), unit_id);
    snprintf(missing, sizeof missing, "task %s does not exist", task_id);
    if (c->unit_scope)
        snprintf(unassigned, sizeof unassigned, "unit %s is not assigned to task %s", unit_id, task_id);
    else
        snprintf(unassigned, sizeof unassigned, "unit %s is not one of the units of task %s", unit_id, task_id);
    const char *params[] = {task_id, unit_id, c->unit_scope ? "403" : "422", missing, unassigned};
    const char *sql =
        "WITH locked AS (SELECT t.id, EXISTS (SELECT 1 FROM task_unit WHERE task_id = t.id AND unit_id = $2::bigint) "
        "AS assigned FROM task t, pg_advisory_xact_lock(734202, ($1::bigint % 2147483647)::integer) "
        "WHERE t.id = $1::bigint FOR UPDATE OF t) "
        "SELECT CASE WHEN l.id IS NULL THEN refuse(404, NULL, $4) "
        "WHEN NOT l.assigned THEN refuse($3::integer, 'unit_id', $5) END, "
        "set_config('duban.reports_render_tasks', 'off', true) FROM (SELECT) one LEFT JOIN locked l ON true";
    duban_status s = c->errors ? db_run(c, conn, sql, 5, params) : db_queue(c, conn, sql, 5, params);
    return s != DUBAN_OK ? s : call_errors_status(c, DUBAN_INVALID);
}

/* The status a log gives its task: its own, except that a "done" waits
 * for verification when the plan requires it (closure_from_report). */
static duban_status status_given(struct call *c, PGconn *conn, struct write *w, const char **status)
{
    *status = w->doc ? json_string_value(json_object_get(w->doc, "status")) : NULL;
    if (!*status || strcmp(*status, "done") != 0)
        return DUBAN_OK;
    const char *was = w->old ? json_string_value(json_object_get(w->old, "status")) : NULL;
    int hold;
    duban_status s = closure_from_report(c, conn, member_id(w->doc, "task_id"), member_id(w->doc, "unit_id"), w->id,
                                         json_string_value(json_object_get(w->doc, "summary")),
                                         !was || strcmp(was, "done") != 0, &hold);
    if (hold)
        *status = "in_progress";
    return s;
}

/* Brings the task's progress (and status, when the log gives one) in line
 * with its logs, and renders it (what it shows today follows its reports
 * even when neither changed); the task's version and updated_at move only
 * when something changed. */
static duban_status update_task(struct call *c, PGconn *conn, struct write *w)
{
    const json_t *doc = w->doc ? w->doc : w->old;
    char task_id[24];
    id_text(json_integer_value(json_object_get(doc, "task_id")), task_id);
    const char *status;
    duban_status s = status_given(c, conn, w, &status);
    if (s != DUBAN_OK)
        return s;
    const char *params[] = {task_id, status};
    return db_queue(c, conn,
                    "WITH latest AS (SELECT coalesce((SELECT percent FROM progress_log WHERE task_id = $1 "
                    "ORDER BY reported_on DESC, id DESC LIMIT 1), 0) AS percent), "
                    "t AS (SELECT task.id, task.progress <> latest.percent OR task.status <> coalesce($2, task.status) "
                    "AS changed FROM task, latest WHERE task.id = $1) "
                    "UPDATE task SET progress = latest.percent, status = coalesce($2, task.status), "
                    "version = version + t.changed::integer, "
                    "updated_at = CASE WHEN t.changed THEN now() ELSE task.updated_at END "
                    "FROM latest, t WHERE task.id = t.id",
                    2, params);
}

const struct resource progress_resource = {
    .name = "progress log",
    .table = "progress_log",
    .json = PROGRESS_JSON,
    .fields = {FIELDS, sizeof FIELDS / sizeof *FIELDS, READ_ONLY},
    .before_write = check_report,
    .after_write = update_task,
    .keeps_inserted_row = 1,
    .before_delete = check_reporter_owns,
    .after_delete = update_task,
};

static const struct filter FILTERS[] = {
    {"task_id", FILTER_ID, "r.task_id = $$", NULL, 0, 0, NULL},
    {"unit_id", FILTER_ID, "r.unit_id = $$", NULL, 0, 0, NULL},
    {"since", FILTER_DATE, "r.reported_on >= $$::date", NULL, 0, 0, NULL},
    {"until", FILTER_DATE, "r.reported_on <= $$::date", NULL, 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};
static const struct sort_key SORTS[] = {COMMON_SORTS, {"reported_on", "r.reported_on"}, {"percent", "r.percent"}, {NULL, NULL}};

const struct list_spec progress_list = {"progress_log", PROGRESS_JSON, FILTERS, SORTS, "r.id"};
