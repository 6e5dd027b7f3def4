/* Tasks: the nodes of a plan's tree. A task has a parent in the same plan
 * (or none at the top), a level deeper than its parent's, a position kept
 * dense among its siblings and a path ("2.1.3") derived from the positions
 * above it. Its leaders and units are ordered: the first unit leads, the
 * others cooperate. What depends on the day (the colour and its reasons,
 * the expected progress, the next report due, the rollup) is computed at
 * read time from the row, its plan and its history (migration 0008). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/sql.h"
#include "model/resources.h"
#include "model/resource_def.h"

static const char *const STATUSES[] = {"not_started", "in_progress", "done", "cancelled", NULL};
static const char *const RECURRENCES[] = {"monthly", "bimonthly", "quarterly", "semiannual", "yearly", NULL};
static const char *const WARNINGS[] = {"none", "blue", "yellow", "red", NULL};
static const char *const CADENCES[] = {"none", "weekly", "monthly", "quarterly", NULL};
static const char *const ROLES[] = {"lead", "partner", NULL};

static const struct field FIELDS[] = {
    {"plan_id", FIELD_ID, 1, 0, 0, NULL, "plan_id", NULL, 0},
    {"parent_id", FIELD_ID, 0, 0, 0, NULL, "parent_id", NULL, 0},
    {"level", FIELD_INT, 0, 1, 4, NULL, "level", NULL, 0},
    {"outline", FIELD_TEXT, 0, 1, 20, NULL, "outline", NULL, 0},
    {"position", FIELD_INT, 0, 1, 1000000, NULL, "position", NULL, 1},
    {"title", FIELD_TEXT, 0, 1, 500, NULL, "title", NULL, 0},
    {"body", FIELD_TEXT, 0, 1, 20000, NULL, "body", NULL, 0},
    {"status", FIELD_ENUM, 0, 0, 0, STATUSES, "status", "'not_started'", 0},
    {"due_on", FIELD_DATE, 0, 0, 0, NULL, "due_on", NULL, 0},
    {"due_text", FIELD_TEXT, 0, 1, 200, NULL, "due_text", NULL, 0},
    {"recurrence", FIELD_ENUM, 0, 0, 0, RECURRENCES, "recurrence", NULL, 0},
    {"report_cadence", FIELD_ENUM, 0, 0, 0, CADENCES, "report_cadence", NULL, 0},
    {"leader_ids", FIELD_ID_LIST, 0, 0, 50, NULL, NULL, NULL, 0},
    {"unit_ids", FIELD_ID_LIST, 0, 0, 100, NULL, NULL, NULL, 0},
};
static const char *const READ_ONLY[] = {COMMON_READ_ONLY, "path", "progress", "warning", "warning_reasons",
                                     "expected_progress", "next_report_due", "rollup", "closure",
                                     "leaders", "units", NULL};

/* The members of the representation, as fields= knows them (model/
 * members.c reads the names from this json_build_object; it is never
 * run). task_doc (migration 0008) and task_render (0021) write the
 * document. */
#define TASK_SHAPE                                                                                             \
    "json_build_object('id', 0, 'plan_id', 0, 'parent_id', 0, 'level', 0, 'outline', 0, 'position', 0, "     \
    "'path', 0, 'title', 0, 'body', 0, 'status', 0, 'due_on', 0, 'due_text', 0, 'recurrence', 0, "            \
    "'report_cadence', 0, 'progress', 0, 'warning', 0, 'warning_reasons', json_build_object('code', 0, "      \
    "'detail', 0), 'expected_progress', 0, 'next_report_due', 0, 'rollup', json_build_object('tasks', 0, "   \
    "'done', 0, 'progress', 0, 'warning', 0), 'closure', json_build_object('state', 0, 'request_id', 0, "    \
    "'requested_at', 0, 'decided_at', 0, 'comment', 0), 'leader_ids', 0, 'leaders', "                        \
    "json_build_object('id', 0, 'name', 0), 'unit_ids', 0, 'units', json_build_object('id', 0, 'name', 0, "  \
    "'role', 0, 'acknowledged_at', 0), " COMMON_JSON ")"

/* The representation as text from the row: its doc, with what depends on
 * today as of today and a rollup when it has children (task_ready, 0021).
 * A list joins it (LATERAL, one row per task): the plan is then read once
 * per page, where a subquery in the select list scanned it for each row. */
#define TASK_READY_OF_R "task_ready(r.id, r.plan_id, r.today_on, r.today_plan, r.has_children, r.doc)"
#define TASK_READY "(SELECT d FROM " TASK_READY_OF_R " d)"

/* Where a task sits: the fields of the document or row that decide it. */
struct place {
    char plan[24], parent[24];   /* parent "" at the top level */
    int has_parent;
    long position;
};

static void place_of(const json_t *doc, struct place *p)
{
    id_text(json_integer_value(json_object_get(doc, "plan_id")), p->plan);
    json_t *parent = json_object_get(doc, "parent_id");
    p->has_parent = json_is_integer(parent);
    if (p->has_parent)
        id_text(json_integer_value(parent), p->parent);
    else
        p->parent[0] = '\0';
    p->position = (long)json_integer_value(json_object_get(doc, "position"));
}

static long level_of(const json_t *doc) { return (long)json_integer_value(json_object_get(doc, "level")); }

static int same_group(const struct place *a, const struct place *b)
{
    return strcmp(a->plan, b->plan) == 0 && strcmp(a->parent, b->parent) == 0;
}

/* Shifts the positions of p's siblings (the task `except` left alone)
 * from p->position on: +1 opens a gap there, -1 closes the one just after
 * it. The place triggers (migrations 0004, 0007) give the shifted rows and
 * everything below them their new path and version. */
static duban_status shift_siblings(struct call *c, PGconn *conn, const struct place *p, int64_t except, int by)
{
    char ex[24], pos[24];
    id_text(except, ex);
    snprintf(pos, sizeof pos, "%ld", p->position);
    const char *params[] = {p->plan, p->has_parent ? p->parent : NULL, ex, pos};
    return db_run(c, conn,
                  by > 0 ? "UPDATE task SET position = position + 1 WHERE plan_id = $1 AND parent_id IS NOT DISTINCT "
                           "FROM $2::bigint AND id <> $3::bigint AND position >= $4::int"
                         : "UPDATE task SET position = position - 1 WHERE plan_id = $1 AND parent_id IS NOT DISTINCT "
                           "FROM $2::bigint AND id <> $3::bigint AND position > $4::int",
                  4, params);
}

static duban_status open_gap(struct call *c, PGconn *conn, const struct place *p, int64_t except)
{
    return shift_siblings(c, conn, p, except, +1);
}

static duban_status close_gap(struct call *c, PGconn *conn, const struct place *p, int64_t except)
{
    return shift_siblings(c, conn, p, except, -1);
}

/* Reports each id of `list` (a JSON array) missing from `table`. */
static duban_status check_ids_exist(struct call *c, PGconn *conn, const char *field, const char *table,
                                    const json_t *list)
{
    if (!json_array_size(list))
        return DUBAN_OK;
    char *ids = sql_text(list), sql[200];
    const char *params[] = {ids};
    snprintf(sql, sizeof sql, "SELECT x FROM unnest($1::bigint[]) x WHERE NOT EXISTS (SELECT 1 FROM %s WHERE id = x)",
             table);
    PGresult *res;
    duban_status s = db_exec(c, conn, &res, sql, 1, params);
    free(ids);
    if (s != DUBAN_OK)
        return s;
    for (int i = 0; i < PQntuples(res); i++)
        call_field_error(c, field, "%s %s does not exist", table, PQgetvalue(res, i, 0));
    PQclear(res);
    return DUBAN_OK;
}

/* Checks the parent (same plan, no cycle, shallower level) and fills in
 * the level when absent. */
static duban_status check_parent(struct call *c, PGconn *conn, struct write *w, const struct place *p)
{
    json_t *level = json_object_get(w->doc, "level");
    if (!p->has_parent) {
        if (!json_is_integer(level))
            json_object_set_new(w->doc, "level", json_integer(1));
        else if (json_integer_value(level) != 1)
            call_field_error(c, "level", "a task at the top of the plan has level 1");
        return DUBAN_OK;
    }
    char self[24];
    id_text(w->id, self);
    const char *params[] = {p->parent, self};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "SELECT plan_id, level, EXISTS (SELECT 1 FROM task me WHERE me.id = $2::bigint"
                             " AND p.path[1:array_length(me.path, 1)] = me.path AND p.plan_id = me.plan_id) "
                             "FROM task p WHERE p.id = $1::bigint FOR SHARE",
                             2, params);
    if (s != DUBAN_OK)
        return s;
    if (PQntuples(res) == 0) {
        call_field_error(c, "parent_id", "task %s does not exist", p->parent);
    } else if (strcmp(PQgetvalue(res, 0, 0), p->plan) != 0) {
        call_field_error(c, "parent_id", "task %s belongs to another plan", p->parent);
    } else if (strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
        call_field_error(c, "parent_id", "task %s is this task or below it: that would make a cycle", p->parent);
    } else {
        long parent_level = atol(PQgetvalue(res, 0, 1));
        if (parent_level >= 4)
            call_field_error(c, "parent_id", "task %s is a paragraph (level 4) and cannot have children", p->parent);
        else if (!json_is_integer(level))
            json_object_set_new(w->doc, "level", json_integer(parent_level + 1));
        else if (json_integer_value(level) <= parent_level)
            call_field_error(c, "level", "must be deeper than the parent's level %ld", parent_level);
    }
    PQclear(res);
    return DUBAN_OK;
}

/* The number of tasks in p's sibling group, not counting `except`. */
static duban_status group_size(struct call *c, PGconn *conn, const struct place *p, int64_t except, long *n)
{
    char ex[24];
    id_text(except, ex);
    const char *params[] = {p->plan, p->has_parent ? p->parent : NULL, ex};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "SELECT count(*) FROM task WHERE plan_id = $1 AND parent_id IS NOT DISTINCT FROM $2::bigint "
                             "AND id <> $3::bigint",
                             3, params);
    if (s != DUBAN_OK)
        return s;
    *n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return DUBAN_OK;
}

/* Decides the position: kept when the task stays in its group and none is
 * given, appended when it moves or is new, else the one given (1..n+1). */
static duban_status choose_position(struct call *c, PGconn *conn, struct write *w, struct place *p,
                                    const struct place *was)
{
    long n;
    duban_status s = group_size(c, conn, p, w->id, &n);
    if (s != DUBAN_OK)
        return s;
    if (!p->position)
        p->position = was && same_group(p, was) ? was->position : n + 1;
    if (p->position > n + 1)
        call_field_error(c, "position", "must be from 1 to %ld among this task's siblings", n + 1);
    json_object_set_new(w->doc, "position", json_integer(p->position));
    return DUBAN_OK;
}

/* Serialises the changes of place in one plan's tree, so that concurrent
 * creations and moves see each other's positions. */
static duban_status lock_plan_tree(struct call *c, PGconn *conn, const char *plan)
{
    const char *params[] = {plan};
    return db_run(c, conn, "SELECT 1 FROM plan WHERE id = $1 FOR NO KEY UPDATE", 1, params);
}

/* Before a task's row is locked for a delete, a replace or a patch that
 * may move it: its plan's tree, which creations and moves take before any
 * row (check_and_place), so that a writer holding a row never waits for
 * the tree while the tree's holder waits for that row (closing or opening
 * a gap among siblings, or clearing the parent's has_children, 0024). */
static duban_status lock_tree_first(struct call *c, PGconn *conn, int64_t id, const json_t *patch)
{
    if (patch && !json_object_get(patch, "parent_id") && !json_object_get(patch, "position") &&
        !json_object_get(patch, "level"))
        return DUBAN_OK;
    char idbuf[24];
    id_text(id, idbuf);
    const char *params[] = {idbuf};
    return db_run(c, conn, "SELECT 1 FROM plan WHERE id = (SELECT plan_id FROM task WHERE id = $1) FOR NO KEY UPDATE",
                  1, params);
}

/* A task whose level grows takes its subtree down with it: refused when
 * that would go below level 4. */
static duban_status check_subtree_depth(struct call *c, PGconn *conn, struct write *w)
{
    long shift = level_of(w->doc) - level_of(w->old);
    if (shift <= 0)
        return DUBAN_OK;
    char id[24];
    id_text(w->id, id);
    const char *params[] = {id};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "WITH RECURSIVE d(id, level) AS (SELECT id, level FROM task WHERE parent_id = $1 "
                             "UNION ALL SELECT k.id, k.level FROM task k JOIN d ON k.parent_id = d.id) "
                             "SELECT coalesce(max(level), 0) FROM d",
                             1, params);
    if (s != DUBAN_OK)
        return s;
    long deepest = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (deepest && deepest + shift > 4)
        call_field_error(c, "level", "the tasks below this one would go deeper than level 4");
    return DUBAN_OK;
}

/* Before a delete: a task with children goes only with cascade. */
static duban_status refuse_orphans(struct call *c, PGconn *conn, struct write *w)
{
    char kids[128];
    long n;
    duban_status s = still_used(c, conn, "SELECT id FROM task WHERE parent_id = $1 ORDER BY position", w->id, kids,
                                sizeof kids, &n);
    if (s != DUBAN_OK)
        return s;
    if (n > 0 && !w->cascade)
        return call_fail(c, DUBAN_CONFLICT, "task %lld has %ld child task(s): %s; delete with ?cascade=true "
                         "to remove them too", (long long)w->id, n, kids);
    return DUBAN_OK;
}

/* Before a task is written: every rule that needs the database, then room
 * made among the new siblings. */
static duban_status check_and_place(struct call *c, PGconn *conn, struct write *w)
{
    struct place p, was;
    if (w->old)
        place_of(w->old, &was);
    place_of(w->doc, &p);
    if (w->old && strcmp(p.plan, was.plan) != 0)
        call_field_error(c, "plan_id", "a task cannot move to another plan");
    if (!json_is_string(json_object_get(w->doc, "title")) && !json_is_string(json_object_get(w->doc, "body")))
        call_field_error(c, "title", "a task needs a title or a body");
    json_t *plan = json_pack("[O]", json_object_get(w->doc, "plan_id"));
    duban_status s = check_ids_exist(c, conn, "plan_id", "plan", plan);
    json_decref(plan);
    /* the plan's tree first, then the parent (read FOR SHARE): a creation
     * holding the tree marks the parent (migration 0020), which must not
     * wait for one that holds the parent and waits for the tree */
    int placing = !w->old || !same_group(&p, &was) || (p.position && p.position != was.position);
    if (s == DUBAN_OK && placing)
        s = lock_plan_tree(c, conn, p.plan);
    if (s == DUBAN_OK)
        s = check_parent(c, conn, w, &p);
    if (s == DUBAN_OK)
        s = check_ids_exist(c, conn, "leader_ids", "leader", json_object_get(w->doc, "leader_ids"));
    if (s == DUBAN_OK)
        s = check_ids_exist(c, conn, "unit_ids", "unit", json_object_get(w->doc, "unit_ids"));
    if (s == DUBAN_OK && w->old && !c->errors)
        s = check_subtree_depth(c, conn, w);
    if (s == DUBAN_OK)
        s = choose_position(c, conn, w, &p, w->old ? &was : NULL);
    if (s == DUBAN_OK && (s = call_errors_status(c, DUBAN_INVALID)) == DUBAN_OK) {
        int moved = !w->old || !same_group(&p, &was) || p.position != was.position;
        if (moved && w->old)
            s = close_gap(c, conn, &was, w->id);
        if (moved && s == DUBAN_OK)
            s = open_gap(c, conn, &p, w->id);
    }
    return s;
}

/* Makes the task's leaders or units exactly the ordered ids of `want`
 * (absent counts as empty), given the ids it had (`had`). Only the rows
 * that differ are written, so that the journal shows the assignments that
 * changed and nothing for a list sent back unchanged: rows no longer
 * wanted are deleted, kept rows whose place changed are moved (one UPDATE,
 * the positions' uniqueness being checked at its end), new ones inserted. */
static duban_status store_assignments(struct call *c, PGconn *conn, const char *table, const char *column,
                                      const char *id, const json_t *had, const json_t *want)
{
    if (json_array_size(had) == json_array_size(want) && (!json_array_size(want) || json_equal(had, want)))
        return DUBAN_OK;
    char *ids = json_array_size(want) ? sql_text(want) : strdup("{}");
    const char *params[] = {id, ids};
    /* each statement names the table, then the column, at most twice */
    const char *const steps[] = {
        "DELETE FROM %s WHERE task_id = $1 AND %s <> ALL ($2::bigint[])",
        "UPDATE %s t SET position = a.n FROM unnest($2::bigint[]) WITH ORDINALITY a(x, n) "
        "WHERE t.task_id = $1 AND t.%s = a.x AND t.position <> a.n",
        "INSERT INTO %s (task_id, %s, position) SELECT $1, x, n FROM unnest($2::bigint[]) WITH ORDINALITY a(x, n) "
        "WHERE NOT EXISTS (SELECT 1 FROM %s t WHERE t.task_id = $1 AND t.%s = a.x)",
    };
    duban_status s = ids ? DUBAN_OK : DUBAN_ERROR;
    for (size_t i = 0; s == DUBAN_OK && i < sizeof steps / sizeof *steps; i++) {
        char sql[512];
        snprintf(sql, sizeof sql, steps[i], table, column, table, column);
        s = db_run(c, conn, sql, 2, params);
    }
    free(ids);
    return s;
}

/* After a delete: the task's old place closed up among its siblings. */
static duban_status close_place(struct call *c, PGconn *conn, struct write *w)
{
    struct place was;
    place_of(w->old, &was);
    return close_gap(c, conn, &was, w->id);
}

/* After a task is written: its leaders and units. (Paths, and the levels
 * below a task whose level changed, follow in the place triggers.) */
static duban_status store_leaders_and_units(struct call *c, PGconn *conn, struct write *w)
{
    char id[24];
    id_text(w->id, id);
    duban_status s = store_assignments(c, conn, "task_leader", "leader_id", id, json_object_get(w->old, "leader_ids"),
                                       json_object_get(w->doc, "leader_ids"));
    if (s == DUBAN_OK)
        s = store_assignments(c, conn, "task_unit", "unit_id", id, json_object_get(w->old, "unit_ids"),
                              json_object_get(w->doc, "unit_ids"));
    return s;
}

const struct resource task_resource = {
    .name = "task",
    .table = "task",
    .json = TASK_SHAPE,
    .ready = TASK_READY,
    .fields = {FIELDS, sizeof FIELDS / sizeof *FIELDS, READ_ONLY},
    .before_fetch = lock_tree_first,
    .before_write = check_and_place,
    .after_write = store_leaders_and_units,
    .before_delete = refuse_orphans,
    .after_delete = close_place,
};

#define OPEN "r.status IN ('not_started', 'in_progress')"

static const struct filter FILTERS[] = {
    {"plan_id", FILTER_ID, "r.plan_id = $$", NULL, 0, 0, NULL},
    {"parent_id", FILTER_ID_OR_NULL, "r.parent_id = $$", "r.parent_id IS NULL", 0, 0, NULL},
    {"level", FILTER_INT, "r.level = $$", NULL, 1, 4, NULL},
    /* role's two conditions name the unit: with role, this one is redundant */
    {"unit_id", FILTER_ID, "r.id IN (SELECT tu.task_id FROM task_unit tu WHERE tu.unit_id = $$)", NULL, 0, 0, NULL,
     "role"},
    {"role", FILTER_SWITCH,
     "r.lead_unit_id = {unit_id}",
     "r.id IN (SELECT tu.task_id FROM task_unit tu WHERE tu.unit_id = {unit_id} AND tu.position > 1)", 0, 0, ROLES},
    {"leader_id", FILTER_ID, "r.id IN (SELECT tl.task_id FROM task_leader tl WHERE tl.leader_id = $$)", NULL, 0, 0, NULL},
    {"status", FILTER_ENUM, "r.status = $$", NULL, 0, 0, STATUSES},
    {"warning", FILTER_ENUM_LIST, "(SELECT c FROM task_colour(r) c) = ANY (string_to_array($$, ','))", NULL, 0, 0,
     WARNINGS},
    {"overdue", FILTER_BOOL, OPEN " AND r.due_on < current_date",
     "NOT (" OPEN " AND r.due_on IS NOT NULL AND r.due_on < current_date)", 0, 0, NULL},
    {"due_before", FILTER_DATE, "r.due_on <= $$::date", NULL, 0, 0, NULL},
    {"due_after", FILTER_DATE, "r.due_on >= $$::date", NULL, 0, 0, NULL},
    {"q", FILTER_TEXT, "strpos(lower(coalesce(r.title, '') || ' ' || coalesce(r.body, '')), lower($$)) > 0", NULL, 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static const struct sort_key SORTS[] = {
    COMMON_SORTS,
    {"path", "r.plan_id, r.path"},
    {"due_on", "r.due_on"},
    {"status", "r.status"},
    {"progress", "r.progress"},
    {"title", "r.title"},
    {"level", "r.level"},
    {NULL, NULL},
};

/* The overdue lists' totals: open tasks counted per plan and due date at
 * write time (migration 0022), summed over the dates before today. */
#define OVERDUE_TOTAL "SELECT coalesce(sum(c.n), 0) AS n FROM task_open_due_count c WHERE c.due_on < current_date"

/* A unit's lead list's total: tasks counted per lead unit and plan at
 * write time (migration 0025); role=lead's value is the unit's id. */
#define LEAD_TOTAL "SELECT coalesce(sum(c.n), 0) AS n FROM task_lead_count c WHERE c.unit_id = $1"

static const struct kept_count KEPT[] = {
    {{"overdue", NULL}, OVERDUE_TOTAL},
    {{"overdue", "plan_id", NULL}, OVERDUE_TOTAL " AND c.plan_id = $1"},
    {{"role", NULL}, LEAD_TOTAL},
    {{NULL}, NULL},
};

const struct list_spec task_list = {"task", "ready", FILTERS, SORTS, "r.plan_id, r.path, r.id", KEPT,
                                     "LATERAL " TASK_READY_OF_R " ready"};
