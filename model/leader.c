/* Leaders (责任领导): a unique name, a title (职务) and contact details. A
 * leader still assigned to a task cannot be deleted. */
#include "model/resources.h"
#include "model/resource_def.h"

static const struct field FIELDS[] = {
    {"name", FIELD_TEXT, 1, 1, 100, NULL, "name", NULL},
    {"title", FIELD_TEXT, 0, 0, 200, NULL, "title", NULL},
    {"contact", FIELD_TEXT, 0, 0, 200, NULL, "contact", NULL},
};
static const char *const READ_ONLY[] = {COMMON_READ_ONLY, NULL};

#define LEADER_JSON \
    "json_build_object('id', r.id, 'name', r.name, 'title', r.title, 'contact', r.contact, " COMMON_JSON ")"

/* Before a write: a new name shows in the leader's tasks, whose versions grow. */
static duban_status touch_leader_tasks(struct call *c, PGconn *conn, struct write *w)
{
    return c->errors ? DUBAN_INVALID : touch_tasks_showing(c, conn, w, "name", "task_leader", "leader_id");
}

/* Before a delete: refused while tasks name the leader. */
static duban_status refuse_if_assigned(struct call *c, PGconn *conn, struct write *w)
{
    char tasks[128];
    long n;
    duban_status s = still_used(c, conn, "SELECT task_id FROM task_leader WHERE leader_id = $1 ORDER BY task_id",
                                w->id, tasks, sizeof tasks, &n);
    if (s != DUBAN_OK || n == 0)
        return s;
    return call_fail(c, DUBAN_CONFLICT, "leader %lld is still assigned to %ld task(s): %s; reassign them first",
                     (long long)w->id, n, tasks);
}

const struct resource leader_resource = {
    .name = "leader",
    .table = "leader",
    .json = LEADER_JSON,
    .fields = {FIELDS, sizeof FIELDS / sizeof *FIELDS, READ_ONLY},
    .before_write = touch_leader_tasks,
    .before_delete = refuse_if_assigned,
};

static const struct filter FILTERS[] = {
    {"name", FILTER_TEXT, "r.name = $$", NULL, 0, 0, NULL},
    {"q", FILTER_TEXT, "strpos(lower(r.name || ' ' || coalesce(r.title, '')), lower($$)) > 0", NULL, 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};
static const struct sort_key SORTS[] = {COMMON_SORTS, {"name", "r.name"}, {NULL, NULL}};

const struct list_spec leader_list = {"leader", LEADER_JSON, FILTERS, SORTS, "r.id"};
