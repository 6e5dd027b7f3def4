/* Plans (责任分解方案): the document a task tree belongs to. Deleting a plan
 * that still has tasks needs cascade. */
#include <string.h>

#include "model/sql.h"
#include "model/resources.h"
#include "model/resource_def.h"

static const struct field FIELDS[] = {
    {"doc_number", FIELD_TEXT, 0, 1, 200, NULL, "doc_number", NULL},
    {"title", FIELD_TEXT, 1, 1, 500, NULL, "title", NULL},
    {"issuer", FIELD_TEXT, 0, 0, 500, NULL, "issuer", NULL},
    {"issued_on", FIELD_DATE, 0, 0, 0, NULL, "issued_on", NULL},
    {"basis", FIELD_TEXT, 0, 0, 1000, NULL, "basis", NULL},
    {"starts_on", FIELD_DATE, 0, 0, 0, NULL, "starts_on", NULL},
    {"ends_on", FIELD_DATE, 0, 0, 0, NULL, "ends_on", NULL},
};
static const char *const READ_ONLY[] = {COMMON_READ_ONLY, NULL};

#define PLAN_JSON                                                                                           \
    "json_build_object('id', r.id, 'doc_number', r.doc_number, 'title', r.title, 'issuer', r.issuer, "     \
    "'issued_on', r.issued_on, 'basis', r.basis, 'starts_on', r.starts_on, 'ends_on', r.ends_on, "        \
    COMMON_JSON ")"

/* Before a write: the plan's dates in order. */
static duban_status check_dates(struct call *c, PGconn *conn, struct write *w)
{
    (void)conn;
    const char *starts = json_string_value(json_object_get(w->doc, "starts_on"));
    const char *ends = json_string_value(json_object_get(w->doc, "ends_on"));
    if (starts && ends && strcmp(ends, starts) < 0)
        call_field_error(c, "ends_on", "must not be before starts_on");
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
    .before_write = check_dates,
    .before_delete = refuse_orphans,
};

static const struct filter FILTERS[] = {
    {"doc_number", FILTER_TEXT, "r.doc_number = $$", NULL, 0, 0, NULL},
    {"q", FILTER_TEXT, "strpos(lower(r.title || ' ' || coalesce(r.doc_number, '')), lower($$)) > 0", NULL, 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};
static const struct sort_key SORTS[] = {COMMON_SORTS, {"title", "r.title"}, {"issued_on", "r.issued_on"}, {NULL, NULL}};

const struct list_spec plan_list = {"plan", PLAN_JSON, FILTERS, SORTS, "r.id"};
