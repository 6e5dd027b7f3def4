/* The importer: plan_parse (model/plan_parser.c) makes the tree; this file
 * stores it. Leaders are found by name and units by name or alias (any of
 * a unit's names), created when new. Task ids are drawn from the sequence
 * first so that the whole tree and its assignments go in as three bulk
 * statements whatever the document's size. */
#include "model/plan_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/sql.h"
#include "model/plan_doc.h"
#include "model/plan_render.h"
#include "model/resource.h"
#include "model/resource_def.h"

/* A large plan's bulk statements may run longer than an ordinary request's,
 * and so may an import that waits for another one naming the same new
 * unit (lock waits still give up before the statement, as in db_open). */
#define IMPORT_TIMEOUTS_SQL "SELECT set_config('statement_timeout', '60s', true), set_config('lock_timeout', '45s', true)"
enum { IMPORT_DEADLINE_MS = 61000 };

/* A unit name taken by another transaction while this one creates it is
 * looked up again at most this many times. */
enum { NAME_RACES = 3 };

struct import {
    const struct plan_doc *doc;
    const struct import_options *opt;
    const struct idempotency *idem;
    struct created *out;
    const char *text;
    size_t len;
    json_t *base;             /* the report before any attempt: the parser's warnings */
    /* What one attempt finds and makes; start_attempt empties it, since a
     * retried transaction sees none of the rows an earlier attempt wrote. */
    json_t *report;           /* a copy of base, completed by the attempt */
    json_t *warnings;         /* the report's */
    int64_t plan_id;
    int64_t *task_ids;        /* per node */
    json_t *leader_ids;       /* name -> id */
    json_t *unit_ids;         /* name or alias -> id */
};

/* A unit's kind guessed from its name: 各镇街（管区） is a township, …领导小组
 * 成员单位 a group, a company an enterprise, the rest departments. */
static const char *unit_kind(const char *name)
{
    if (strstr(name, "镇") || strstr(name, "街道") || strstr(name, "管区"))
        return "township";
    if (strstr(name, "成员单位") || strstr(name, "领导小组"))
        return "group";
    if (strstr(name, "公司") || strstr(name, "集团") || strstr(name, "企业"))
        return "enterprise";
    return "department";
}

static void warn(struct import *im, int line, const char *message)
{
    json_array_append_new(im->warnings, json_pack("{s:i,s:s}", "line", line, "message", message));
}

/* Fails with DUBAN_CONFLICT when this document (same text or same 文号) is
 * already a plan, unless replacing, when that plan is deleted first. */
static duban_status check_duplicate(struct call *c, PGconn *conn, struct import *im)
{
    const char *params[] = {im->text, im->doc->doc_number};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "SELECT id FROM plan WHERE source_sha256 = encode(sha256(convert_to($1, 'UTF8')), 'hex') "
                             "OR doc_number = $2 ORDER BY id LIMIT 1",
                             2, params);
    if (s != DUBAN_OK || PQntuples(res) == 0) {
        PQclear(res);
        return s;
    }
    char existing[24];
    snprintf(existing, sizeof existing, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!im->opt->replace)
        return call_fail(c, DUBAN_CONFLICT, "this document is already plan %s; import it with replace=true to replace that plan",
                         existing);
    const char *del[] = {existing};
    json_object_set_new(im->report, "replaced_plan_id", json_integer(strtoll(existing, NULL, 10)));
    return db_run(c, conn, "DELETE FROM plan WHERE id = $1", 1, del);
}

static duban_status insert_plan(struct call *c, PGconn *conn, struct import *im)
{
    const struct plan_doc *d = im->doc;
    const char *title = d->title ? d->title : d->doc_number ? d->doc_number : "未命名方案";
    const char *params[] = {d->doc_number, title, d->issuer, d->issued_on[0] ? d->issued_on : NULL, d->basis,
                            im->text};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "INSERT INTO plan (doc_number, title, issuer, issued_on, basis, starts_on, source_sha256) "
                             "VALUES ($1, left($2, 500), $3, $4, left($5, 1000), $4, "
                             "encode(sha256(convert_to($6, 'UTF8')), 'hex')) RETURNING id",
                             6, params);
    if (s == DUBAN_OK) {
        im->plan_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
    }
    return s;
}

/* Finds or creates every leader the document names; counts both. The
 * INSERT skips a name another transaction holds (waiting for it to end),
 * and the SELECT after it, a statement of its own, sees that leader. */
static duban_status resolve_leaders(struct call *c, PGconn *conn, struct import *im)
{
    json_t *names = json_array();
    for (size_t i = 0; i < im->doc->n_nodes; i++)
        for (size_t j = 0; j < im->doc->nodes[i].n_leaders; j++)
            json_array_append_new(names, json_string(im->doc->nodes[i].leaders[j]));
    char *list = json_dumps(names, JSON_COMPACT);
    json_decref(names);
    const char *params[] = {list};
    PGresult *made = NULL, *res = NULL;
    duban_status s = db_exec(c, conn, &made,
                             "INSERT INTO leader (name) SELECT DISTINCT value FROM json_array_elements_text($1::json) "
                             "ON CONFLICT (name) DO NOTHING RETURNING id",
                             1, params);
    if (s == DUBAN_OK)
        s = db_exec(c, conn, &res,
                    "SELECT name, id FROM leader WHERE name IN (SELECT value FROM json_array_elements_text($1::json))",
                    1, params);
    free(list);
    if (s == DUBAN_OK) {
        int created = PQntuples(made);
        for (int i = 0; i < PQntuples(res); i++)
            json_object_set_new(im->leader_ids, PQgetvalue(res, i, 0),
                                json_integer(strtoll(PQgetvalue(res, i, 1), NULL, 10)));
        json_object_set_new(json_object_get(im->report, "counts"), "leaders",
                            json_pack("{s:i,s:i}", "created", created, "reused", PQntuples(res) - created));
    }
    PQclear(made);
    PQclear(res);
    return s;
}

/* Loads the ids of every existing unit known by a name the document uses. */
static duban_status load_known_units(struct call *c, PGconn *conn, struct import *im)
{
    json_t *names = json_array();
    for (size_t i = 0; i < im->doc->n_nodes; i++)
        for (size_t j = 0; j < im->doc->nodes[i].n_units; j++) {
            json_array_append_new(names, json_string(im->doc->nodes[i].units[j].name));
            if (im->doc->nodes[i].units[j].alias)
                json_array_append_new(names, json_string(im->doc->nodes[i].units[j].alias));
        }
    char *list = json_dumps(names, JSON_COMPACT);
    json_decref(names);
    const char *params[] = {list};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "SELECT name, unit_id FROM unit_name WHERE name IN "
                             "(SELECT value FROM json_array_elements_text($1::json))",
                             1, params);
    free(list);
    if (s != DUBAN_OK)
        return s;
    for (int i = 0; i < PQntuples(res); i++)
        json_object_set_new(im->unit_ids, PQgetvalue(res, i, 0), json_integer(strtoll(PQgetvalue(res, i, 1), NULL, 10)));
    PQclear(res);
    return DUBAN_OK;
}

/* Creates a unit never seen before, with its alias when that is free. */
static duban_status create_unit(struct call *c, PGconn *conn, struct import *im, const struct plan_unit_ref *u,
                                int line)
{
    const char *params[] = {u->name, unit_kind(u->name), u->alias};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "WITH made AS (INSERT INTO unit (name, kind) VALUES ($1, $2) RETURNING id), "
                             "alias AS (INSERT INTO unit_name (name, unit_id, is_alias) SELECT $3, id, true FROM made "
                             "WHERE $3::text IS NOT NULL ON CONFLICT DO NOTHING) SELECT id FROM made",
                             3, params);
    if (s != DUBAN_OK)
        return s;
    json_t *id = json_integer(strtoll(PQgetvalue(res, 0, 0), NULL, 10));
    PQclear(res);
    json_object_set(im->unit_ids, u->name, id);
    if (u->alias)
        json_object_set(im->unit_ids, u->alias, id);
    json_decref(id);
    char message[512];
    snprintf(message, sizeof message, "unit %s%s%s%s is new: created it", u->name, u->alias ? "（" : "",
             u->alias ? u->alias : "", u->alias ? "）" : "");
    warn(im, line, message);
    return DUBAN_OK;
}

/* Creates the units of the document that no unit answers to; counts them
 * and the units reused. */
static duban_status create_missing_units(struct call *c, PGconn *conn, struct import *im, int *created,
                                         int *reused)
{
    duban_status s = DUBAN_OK;
    json_t *seen = json_object();
    for (size_t i = 0; s == DUBAN_OK && i < im->doc->n_nodes; i++) {
        const struct plan_node *n = &im->doc->nodes[i];
        for (size_t j = 0; s == DUBAN_OK && j < n->n_units; j++) {
            const struct plan_unit_ref *u = &n->units[j];
            if (json_object_get(seen, u->name))
                continue;
            json_object_set_new(seen, u->name, json_true());
            if (json_object_get(im->unit_ids, u->name) || (u->alias && json_object_get(im->unit_ids, u->alias))) {
                (*reused)++;
                continue;
            }
            s = create_unit(c, conn, im, u, n->line);
            (*created)++;
        }
    }
    json_decref(seen);
    return s;
}

/* Finds or creates every unit the document names: by its name, else by
 * its alias; counts both. A name that another transaction took since it
 * was looked up (the INSERT waits for that one to end, then fails as a
 * unique violation, whether it took it as a name or as an alias) is no
 * error: back at the savepoint, the names are looked up again and that
 * unit is found. */
static duban_status resolve_units(struct call *c, PGconn *conn, struct import *im)
{
    size_t warned = json_array_size(im->warnings);
    int created = 0, reused = 0;
    duban_status s = db_run(c, conn, "SAVEPOINT new_units", 0, NULL);
    for (int race = 0; s == DUBAN_OK; race++) {
        created = reused = 0;
        json_object_clear(im->unit_ids);
        s = load_known_units(c, conn, im);
        if (s == DUBAN_OK)
            s = create_missing_units(c, conn, im, &created, &reused);
        if (s != DUBAN_CONFLICT || strcmp(c->sqlstate, "23505") != 0 || race == NAME_RACES)
            break;
        call_clear(c);
        c->detail[0] = '\0';
        while (json_array_size(im->warnings) > warned)
            json_array_remove(im->warnings, warned);
        s = db_run(c, conn, "ROLLBACK TO SAVEPOINT new_units", 0, NULL);
    }
    json_object_set_new(json_object_get(im->report, "counts"), "units",
                        json_pack("{s:i,s:i}", "created", created, "reused", reused));
    return s;
}

static int64_t unit_id_of(const struct import *im, const struct plan_unit_ref *u)
{
    json_t *id = json_object_get(im->unit_ids, u->name);
    if (!id && u->alias)
        id = json_object_get(im->unit_ids, u->alias);
    return json_integer_value(id);
}

/* Draws one task id per node from the task sequence. */
static duban_status reserve_task_ids(struct call *c, PGconn *conn, struct import *im)
{
    char count[24];
    snprintf(count, sizeof count, "%zu", im->doc->n_nodes);
    const char *params[] = {count};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "SELECT nextval(pg_get_serial_sequence('task', 'id')) FROM generate_series(1, $1::int)",
                             1, params);
    if (s != DUBAN_OK)
        return s;
    im->task_ids = calloc(im->doc->n_nodes + 1, sizeof *im->task_ids);
    for (int i = 0; i < PQntuples(res); i++)
        im->task_ids[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    PQclear(res);
    return DUBAN_OK;
}

/* One task row as JSON for json_to_recordset; positions and paths follow
 * document order among siblings. */
static json_t *task_row(struct import *im, size_t i, int *positions, char **paths)
{
    const struct plan_node *n = &im->doc->nodes[i];
    int parent = n->parent;
    int position = ++positions[parent + 1];
    char path[512];
    snprintf(path, sizeof path, "%s%s%d", parent >= 0 ? paths[parent] : "", parent >= 0 ? "," : "", position);
    paths[i] = strdup(path);
    char array[520];
    snprintf(array, sizeof array, "{%s}", path);
    json_t *row = json_pack("{s:I,s:i,s:i,s:s}", "id", (json_int_t)im->task_ids[i], "level", n->level, "position",
                            position, "path", array);
    if (parent >= 0)
        json_object_set_new(row, "parent_id", json_integer(im->task_ids[parent]));
    json_object_set_new(row, "outline", n->outline ? json_string(n->outline) : json_null());
    json_object_set_new(row, "title", n->title ? json_string(n->title) : json_null());
    json_object_set_new(row, "body", n->body ? json_string(n->body) : json_null());
    json_object_set_new(row, "due_on", n->due_on[0] ? json_string(n->due_on) : json_null());
    json_object_set_new(row, "due_text", n->due_text ? json_string(n->due_text) : json_null());
    const char *recurrence = plan_recurrence_name(n->recurrence);
    json_object_set_new(row, "recurrence", recurrence ? json_string(recurrence) : json_null());
    return row;
}

/* Adds the deadlines and cadences found to the report, by path. */
static void report_schedule(struct import *im, size_t i, char **paths)
{
    const struct plan_node *n = &im->doc->nodes[i];
    char path[512];
    snprintf(path, sizeof path, "%s", paths[i]);
    for (char *p = path; *p; p++)
        *p = *p == ',' ? '.' : *p;
    if (n->due_on[0])
        json_array_append_new(json_object_get(im->report, "deadlines"),
                              json_pack("{s:s,s:s,s:s?}", "path", path, "due_on", n->due_on, "due_text", n->due_text));
    if (n->recurrence != RECUR_NONE)
        json_array_append_new(json_object_get(im->report, "recurrences"),
                              json_pack("{s:s,s:s,s:s?}", "path", path, "recurrence", plan_recurrence_name(n->recurrence),
                                        "text", n->recurrence_text));
}

/* 1 when names[j] already appears among names[0..j). */
static int named_before(char **names, size_t j)
{
    for (size_t k = 0; k < j; k++)
        if (strcmp(names[k], names[j]) == 0)
            return 1;
    return 0;
}

/* 1 when the node's unit j is the same unit as one listed before it. */
static int unit_before(const struct import *im, const struct plan_node *node, size_t j)
{
    for (size_t k = 0; k < j; k++)
        if (unit_id_of(im, &node->units[k]) == unit_id_of(im, &node->units[j]))
            return 1;
    return 0;
}

/* Inserts every task, then every leader and unit assignment, in bulk. A
 * leader or unit named twice on one task is assigned once. */
static duban_status insert_tree(struct call *c, PGconn *conn, struct import *im)
{
    size_t n = im->doc->n_nodes;
    int *positions = calloc(n + 1, sizeof *positions);
    char **paths = calloc(n + 1, sizeof *paths);
    json_t *tasks = json_array(), *leaders = json_array(), *units = json_array();
    size_t assignments = 0, sections = 0, subsections = 0;
    for (size_t i = 0; i < n; i++) {
        const struct plan_node *node = &im->doc->nodes[i];
        json_array_append_new(tasks, task_row(im, i, positions, paths));
        report_schedule(im, i, paths);
        int position = 0;
        for (size_t j = 0; j < node->n_leaders; j++)
            if (!named_before(node->leaders, j))
                json_array_append_new(leaders, json_pack("{s:I,s:O,s:i}", "task_id", (json_int_t)im->task_ids[i],
                                                         "leader_id", json_object_get(im->leader_ids, node->leaders[j]),
                                                         "position", ++position));
        position = 0;
        for (size_t j = 0; j < node->n_units; j++)
            if (!unit_before(im, node, j))
                json_array_append_new(units, json_pack("{s:I,s:I,s:i}", "task_id", (json_int_t)im->task_ids[i], "unit_id",
                                                       (json_int_t)unit_id_of(im, &node->units[j]), "position", ++position));
        assignments += node->n_units > 0;
        sections += node->level == 1;
        subsections += node->level == 2;
    }
    char plan[24];
    id_text(im->plan_id, plan);
    char *task_json = json_dumps(tasks, JSON_COMPACT), *leader_json = json_dumps(leaders, JSON_COMPACT),
         *unit_json = json_dumps(units, JSON_COMPACT);
    const char *tp[] = {plan, task_json}, *lp[] = {leader_json}, *up[] = {unit_json};
    /* each task's representation rendered once, after its assignments */
    duban_status s = db_run(c, conn, "SELECT set_config('duban.render_later', 'on', true)", 0, NULL);
    if (s == DUBAN_OK)
        s = db_run(c, conn,
                   "INSERT INTO task (id, plan_id, parent_id, level, outline, position, path, title, body, "
                   "due_on, due_text, recurrence) OVERRIDING SYSTEM VALUE "
                   "SELECT t.id, $1, t.parent_id, t.level, t.outline, t.position, t.path::int[], t.title, t.body, "
                   "t.due_on, t.due_text, t.recurrence FROM json_to_recordset($2::json) AS t(id bigint, "
                   "parent_id bigint, level smallint, outline text, position int, path text, title text, "
                   "body text, due_on date, due_text text, recurrence text)",
                   2, tp);
    if (s == DUBAN_OK)
        s = db_run(c, conn,
                   "INSERT INTO task_leader (task_id, leader_id, position) SELECT task_id, leader_id, position "
                   "FROM json_to_recordset($1::json) AS a(task_id bigint, leader_id bigint, position int)",
                   1, lp);
    if (s == DUBAN_OK)
        s = db_run(c, conn,
                   "INSERT INTO task_unit (task_id, unit_id, position) SELECT task_id, unit_id, position "
                   "FROM json_to_recordset($1::json) AS a(task_id bigint, unit_id bigint, position int)",
                   1, up);
    if (s == DUBAN_OK)
        s = db_run(c, conn, "SELECT task_render_pending()", 0, NULL);
    json_t *counts = json_object_get(im->report, "counts");
    json_object_set_new(counts, "sections", json_integer((json_int_t)sections));
    json_object_set_new(counts, "subsections", json_integer((json_int_t)subsections));
    json_object_set_new(counts, "tasks", json_integer((json_int_t)n));
    json_object_set_new(counts, "assignments", json_integer((json_int_t)assignments));
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    free(positions);
    free(task_json);
    free(leader_json);
    free(unit_json);
    json_decref(tasks);
    json_decref(leaders);
    json_decref(units);
    return s;
}

/* Empties what an earlier attempt found and made: its rows are gone. */
static duban_status start_attempt(struct call *c, struct import *im)
{
    created_reset(im->out);
    json_decref(im->report);
    im->report = json_deep_copy(im->base);
    im->warnings = json_object_get(im->report, "warnings");
    im->plan_id = 0;
    free(im->task_ids);
    im->task_ids = NULL;
    json_object_clear(im->leader_ids);
    json_object_clear(im->unit_ids);
    return im->report ? DUBAN_OK : call_fail(c, DUBAN_ERROR, "out of memory");
}

static duban_status import_work(struct call *c, PGconn *conn, void *arg)
{
    struct import *im = arg;
    int claimed = 1;
    duban_status s = start_attempt(c, im);
    if (s == DUBAN_OK)
        s = db_run(c, conn, IMPORT_TIMEOUTS_SQL, 0, NULL);
    if (s == DUBAN_OK && im->opt->dry_run)
        s = db_run(c, conn, "SAVEPOINT dry_run", 0, NULL);
    if (s == DUBAN_OK && im->idem)
        s = idempotency_claim(c, conn, im->idem, im->out, &claimed);
    if (s != DUBAN_OK || !claimed)
        return s;
    if (s == DUBAN_OK)
        s = check_duplicate(c, conn, im);
    if (s == DUBAN_OK)
        s = insert_plan(c, conn, im);
    if (s == DUBAN_OK)
        s = resolve_leaders(c, conn, im);
    if (s == DUBAN_OK)
        s = resolve_units(c, conn, im);
    if (s == DUBAN_OK)
        s = reserve_task_ids(c, conn, im);
    if (s == DUBAN_OK)
        s = insert_tree(c, conn, im);
    if (s == DUBAN_OK && im->opt->dry_run)
        return db_run(c, conn, "ROLLBACK TO SAVEPOINT dry_run", 0, NULL);
    if (s == DUBAN_OK) {
        json_object_set_new(im->report, "plan_id", json_integer(im->plan_id));
        im->out->doc = json_incref(im->report);
        if (im->idem)
            s = idempotency_remember(c, conn, im->idem, im->out);
    }
    return s;
}

/* Turns the parser's issues into the report's warnings, or, when the
 * document is refused, into the call's field errors ("line N"). */
static void collect_issues(struct call *c, struct import *im)
{
    for (size_t i = 0; i < im->doc->n_issues; i++) {
        const struct plan_issue *issue = &im->doc->issues[i];
        if (!issue->is_error) {
            warn(im, issue->line, issue->message);
            continue;
        }
        char field[32];
        snprintf(field, sizeof field, issue->line > 0 ? "line %d" : "document", issue->line);
        call_field_error(c, field, "%s", issue->message);
    }
}

duban_status plan_import(struct call *c, const char *text, size_t len, const struct import_options *opt,
                         const struct idempotency *idem, struct created *out)
{
    memset(out, 0, sizeof *out);
    struct plan_doc doc;
    int parsed = opt->format == PLAN_CSV ? plan_parse_csv(text, len, &doc) : plan_parse(text, len, &doc);
    char *copy = strndup(text, len);
    struct import im = {.doc = &doc, .opt = opt, .idem = opt->dry_run ? NULL : idem, .out = out, .text = copy, .len = len};
    im.base = json_pack("{s:o,s:b,s:{},s:[],s:[],s:[]}", "plan_id", json_null(), "dry_run", opt->dry_run, "counts",
                        "deadlines", "recurrences", "warnings");
    im.warnings = json_object_get(im.base, "warnings");
    im.leader_ids = json_object();
    im.unit_ids = json_object();
    collect_issues(c, &im);
    duban_status s;
    if (parsed != 0 || !copy) {
        s = call_fail(c, DUBAN_INVALID, "the document cannot be imported: %zu line(s) are wrong",
                      json_array_size(c->errors));
    } else if (doc.n_nodes == 0) {
        s = call_fail(c, DUBAN_INVALID, "the document has no tasks");
    } else {
        c->deadline_ms = IMPORT_DEADLINE_MS;
        s = db_write(c, import_work, &im);
        c->deadline_ms = 0;
    }
    if (s == DUBAN_OK && !out->doc)
        out->doc = json_incref(im.report);
    if (s != DUBAN_OK) {
        json_decref(out->doc);
        out->doc = NULL;
    }
    json_decref(im.report);
    json_decref(im.base);
    json_decref(im.leader_ids);
    json_decref(im.unit_ids);
    free(im.task_ids);
    free(copy);
    plan_doc_free(&doc);
    return s;
}
