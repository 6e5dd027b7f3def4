/* Plans (责任分解方案): the document a task tree belongs to, and how its
 * tasks are supervised (`supervision`: the reporting cadence and day, when
 * a task turns blue or yellow, whether closing needs verification), each
 * setting in its own column (migration 0008). Deleting a plan that still
 * has tasks needs cascade. */
#include <string.h>

#include "model/sql.h"
#include "model/resources.h"
#include "model/resource_def.h"

static const char *const CADENCES[] = {"none", "weekly", "monthly", "quarterly", NULL};

/* The supervision settings; an absent one takes its default (the column's
 * default in migration 0008), on a create as on a replacement. */
static const struct field SUPERVISION[] = {
    {"report_cadence", FIELD_ENUM, 0, 0, 0, CADENCES, "report_cadence", "'monthly'"},
    {"report_day", FIELD_INT, 0, 1, 31, NULL, "report_day", "28"},
    {"near_due_days", FIELD_INT, 0, 0, 3650, NULL, "near_due_days", "30"},
    {"lag_points", FIELD_INT, 0, 0, 100, NULL, "lag_points", "20"},
    {"requires_verification", FIELD_BOOL, 0, 0, 0, NULL, "requires_verification", "true"},
};
static const struct fieldset SUPERVISION_SET = {SUPERVISION, sizeof SUPERVISION / sizeof *SUPERVISION, NULL};

static const struct field FIELDS[] = {
    {"doc_number", FIELD_TEXT, 0, 1, 200, NULL, "doc_number", NULL},
    {"title", FIELD_TEXT, 1, 1, 500, NULL, "title", NULL},
    {"issuer", FIELD_TEXT, 0, 0, 500, NULL, "issuer", NULL},
    {"issued_on", FIELD_DATE, 0, 0, 0, NULL, "issued_on", NULL},
    {"basis", FIELD_TEXT, 0, 0, 1000, NULL, "basis", NULL},
    {"starts_on", FIELD_DATE, 0, 0, 0, NULL, "starts_on", NULL},
    {"ends_on", FIELD_DATE, 0, 0, 0, NULL, "ends_on", NULL},
    {"supervision", FIELD_OBJECT, 0, 0, 0, NULL, NULL, NULL, 0, &SUPERVISION_SET},
};
static const char *const READ_ONLY[] = {COMMON_READ_ONLY, NULL};

#define PLAN_JSON                                                                                           \
    "json_build_object('id', r.id, 'doc_number', r.doc_number, 'title', r.title, 'issuer', r.issuer, "     \
    "'issued_on', r.issued_on, 'basis', r.basis, 'starts_on', r.starts_on, 'ends_on', r.ends_on, "        \
    "'supervision', json_build_object('report_cadence', r.report_cadence, 'report_day', r.report_day, "    \
    "'near_due_days', r.near_due_days, 'lag_points', r.lag_points, "                                       \
    "'requires_verification', r.requires_verification), " COMMON_JSON ")"

/* A weekly cadence reports on a weekday: report_day (28 when absent)
 * must then be 1 (Monday) to 7. A day out of 1..31 is reported already. */
static void check_report_day(struct call *c, const json_t *supervision)
{
    const char *cadence = json_string_value(json_object_get(supervision, "report_cadence"));
    const json_t *day = json_object_get(supervision, "report_day");
    json_int_t value = json_is_integer(day) ? json_integer_value(day) : 28;
    if (!cadence || strcmp(cadence, "weekly") != 0 || value <= 7 || value > 31)
        return;
    if (json_is_integer(day))
        call_field_error(c, "supervision.report_day", "must be from 1 (Monday) to 7 (Sunday) with a weekly report_cadence");
    else
        call_field_error(c, "supervision.report_day",
                         "is required with a weekly report_cadence: a weekday from 1 (Monday) to 7 (Sunday)");
}

/* Before a write: the plan's dates in order, a weekday for a weekly cadence. */
static duban_status check_plan(struct call *c, PGconn *conn, struct write *w)
{
    (void)conn;
    const char *starts = json_string_value(json_object_get(w->doc, "starts_on"));
    const char *ends = json_string_value(json_object_get(w->doc, "ends_on"));
    if (starts && ends && strcmp(ends, starts) < 0)
        call_field_error(c, "ends_on", "must not be before starts_on");
    check_report_day(c, json_object_get(w->doc, "supervision"));
    return call_errors_status(c, DUBAN_INVALID);
}

/* Before a delete: a plan with tasks goes only with cascade. */
static duban_status refuse_orphans(struct call *c, PGconn *conn, struct write *w)
{
    char tops[128];
    long n;
    duban_status s = still_used(c, conn, "SELECT id FROM task WHERE plan_id = $1 AND parent_id IS NULL ORDER BY position",
                                w->id, tops, sizeof tops, &n);
    if (s != DUBAN_OK)
        return s;
    if (n > 0 && !w->cascade)
        return call_fail(c, DUBAN_CONFLICT, "plan %lld still has tasks (top level: %s); delete with ?cascade=true "
                         "to remove them too", (long long)w->id, tops);
    return DUBAN_OK;
}

const struct resource plan_resource = {
    .name = "plan",
    .table = "plan",
    .json = PLAN_JSON,
    .fields = {FIELDS, sizeof FIELDS / sizeof *FIELDS, READ_ONLY},
    .before_write = check_plan,
    .before_delete = refuse_orphans,
};

static const struct filter FILTERS[] = {
    {"doc_number", FILTER_TEXT, "r.doc_number = $$", NULL, 0, 0, NULL},
    {"q", FILTER_TEXT, "strpos(lower(r.title || ' ' || coalesce(r.doc_number, '')), lower($$)) > 0", NULL, 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};
static const struct sort_key SORTS[] = {COMMON_SORTS, {"title", "r.title"}, {"issued_on", "r.issued_on"}, {NULL, NULL}};

const struct list_spec plan_list = {"plan", PLAN_JSON, FILTERS, SORTS, "r.id"};
