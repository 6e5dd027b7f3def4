#include "model/stats.h"

#include <stdio.h>

#include "model/resource_def.h"

/* Counts over a set of tasks t: done, overdue, average progress. */
#define TASK_COUNTS                                                                                    \
    "count(*) FILTER (WHERE t.status = 'done') AS done, "                                             \
    "count(*) FILTER (WHERE t.status IN ('not_started', 'in_progress') AND t.due_on < current_date) "  \
    "AS overdue, "                                                                                     \
    "round(avg(t.progress), 1)::float8 AS average_progress"

/* A task set's counts by status and by colour, as two JSON objects. */
#define BY_STATUS_AND_WARNING                                                                          \
    "json_build_object('not_started', count(*) FILTER (WHERE t.status = 'not_started'), "             \
    "'in_progress', count(*) FILTER (WHERE t.status = 'in_progress'), "                               \
    "'done', count(*) FILTER (WHERE t.status = 'done'), "                                             \
    "'cancelled', count(*) FILTER (WHERE t.status = 'cancelled')) AS by_status, "                     \
    "json_build_object('none', count(*) FILTER (WHERE w.warning = 'none'), "                          \
    "'blue', count(*) FILTER (WHERE w.warning = 'blue'), "                                            \
    "'yellow', count(*) FILTER (WHERE w.warning = 'yellow'), "                                        \
    "'red', count(*) FILTER (WHERE w.warning = 'red')) AS by_warning"

/* The tasks t of plan p, each with its colour today (w.warning). */
#define TASKS_OF_PLAN "task t CROSS JOIN LATERAL task_colour(t) w(warning)"

static const char UNITS_SQL[] =
    "SELECT json_build_object('plan_id', $1::bigint, 'items', coalesce(json_agg(x ORDER BY x.led DESC, x.unit_id), '[]')) "
    "FROM (SELECT u.id AS unit_id, u.name, count(*) FILTER (WHERE tu.position = 1) AS led, "
    "count(*) FILTER (WHERE tu.position > 1) AS cooperated, " TASK_COUNTS ", "
    "(SELECT max(p.reported_on) FROM progress_log p JOIN task pt ON pt.id = p.task_id WHERE p.unit_id = u.id "
    " AND ($1::bigint IS NULL OR pt.plan_id = $1::bigint)) AS latest_report_on "
    "FROM unit u JOIN task_unit tu ON tu.unit_id = u.id JOIN task t ON t.id = tu.task_id "
    "WHERE $1::bigint IS NULL OR t.plan_id = $1::bigint GROUP BY u.id) x";

static const char LEADERS_SQL[] =
    "SELECT json_build_object('plan_id', $1::bigint, 'items', coalesce(json_agg(x ORDER BY x.tasks DESC, x.leader_id), '[]')) "
    "FROM (SELECT l.id AS leader_id, l.name, count(*) AS tasks, " TASK_COUNTS ", "
    "(SELECT max(p.reported_on) FROM progress_log p JOIN task_leader pl ON pl.task_id = p.task_id "
    " JOIN task pt ON pt.id = p.task_id WHERE pl.leader_id = l.id "
    " AND ($1::bigint IS NULL OR pt.plan_id = $1::bigint)) AS latest_report_on "
    "FROM leader l JOIN task_leader tl ON tl.leader_id = l.id JOIN task t ON t.id = tl.task_id "
    "WHERE $1::bigint IS NULL OR t.plan_id = $1::bigint GROUP BY l.id) x";

static const char SUMMARY_SQL[] =
    "SELECT json_build_object('plan_id', p.id, 'tasks', a.tasks, 'by_status', a.by_status, 'by_warning', a.by_warning, "
    "'sections', (SELECT coalesce(json_agg(json_build_object('task_id', s.id, 'path', array_to_string(s.path, '.'), "
    " 'title', s.title, 'tasks', c.tasks, 'by_status', c.by_status, 'by_warning', c.by_warning) ORDER BY s.position), '[]') "
    " FROM task s CROSS JOIN LATERAL (SELECT count(*) AS tasks, " BY_STATUS_AND_WARNING " FROM " TASKS_OF_PLAN
    "  WHERE t.plan_id = p.id AND t.path[1] = s.position) c WHERE s.plan_id = p.id AND s.parent_id IS NULL)) "
    "FROM plan p CROSS JOIN LATERAL (SELECT count(*) AS tasks, " BY_STATUS_AND_WARNING " FROM " TASKS_OF_PLAN
    " WHERE t.plan_id = p.id) a WHERE p.id = $1::bigint";

struct stats_query {
    const char *sql;
    int64_t plan_id;
    json_t **out;
};

static duban_status stats_work(struct call *c, PGconn *conn, void *arg)
{
    struct stats_query *q = arg;
    char id[24];
    id_text(q->plan_id, id);
    const char *params[] = {q->plan_id ? id : NULL};
    duban_status s = q->plan_id ? row_exists(c, conn, "plan", "plan", q->plan_id) : DUBAN_OK;
    if (s != DUBAN_OK)
        return s;
    return query_json(c, conn, q->out, q->sql, 1, params);
}

static duban_status run(struct call *c, const char *sql, int64_t plan_id, json_t **out)
{
    struct stats_query q = {sql, plan_id, out};
    *out = NULL;
    return db_read(c, stats_work, &q);
}

duban_status stats_units(struct call *c, int64_t plan_id, json_t **out) { return run(c, UNITS_SQL, plan_id, out); }

duban_status stats_leaders(struct call *c, int64_t plan_id, json_t **out) { return run(c, LEADERS_SQL, plan_id, out); }

duban_status plan_summary(struct call *c, int64_t plan_id, json_t **out) { return run(c, SUMMARY_SQL, plan_id, out); }
