/* The exporter: a stored plan read back into a struct plan_doc (tree,
 * assignments, deadlines) and rendered by model/plan_render.c, so that
 * importing an export gives the same tree. Units are written by name.
 *
 * A task made through the API may lack what a document needs to show its
 * place, and then the export supplies it:
 * - a heading (level 1-3) without an outline is written with the
 *   conventional one for its position among its siblings (一、 （一） 1.),
 *   since a heading line is known by its outline; the import of the export
 *   keeps that outline, and exporting it again gives the same text;
 * - a paragraph (level 4) has no title in a document, so a level-4 task's
 *   title is written at the start of its text (on a line of its own when
 *   it ends a sentence, else running on as a document line would): nothing
 *   is lost, and the import holds it in the body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/sql.h"
#include "model/plan_doc.h"
#include "model/plan_import.h"
#include "model/plan_render.h"
#include "model/resource.h"
#include "model/resource_def.h"

struct export {
    int64_t plan_id;
    struct plan_doc *doc;
};

static char *copy_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : strdup(PQgetvalue(res, row, col));
}

static duban_status load_plan(struct call *c, PGconn *conn, struct export *ex)
{
    char id[24];
    id_text(ex->plan_id, id);
    const char *params[] = {id};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "SELECT doc_number, title, issuer, coalesce(issued_on::text, ''), basis FROM plan WHERE id = $1",
                             1, params);
    if (s != DUBAN_OK)
        return s;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return call_fail(c, DUBAN_NOT_FOUND, "plan %s does not exist", id);
    }
    ex->doc->doc_number = copy_or_null(res, 0, 0);
    ex->doc->title = copy_or_null(res, 0, 1);
    ex->doc->issuer = copy_or_null(res, 0, 2);
    snprintf(ex->doc->issued_on, sizeof ex->doc->issued_on, "%s", PQgetvalue(res, 0, 3));
    ex->doc->basis = copy_or_null(res, 0, 4);
    PQclear(res);
    return DUBAN_OK;
}

/* Splits a JSON array of strings into a malloc'd string array. */
static char **string_array(const char *json_text, size_t *n)
{
    json_t *list = json_loads(json_text, 0, NULL);
    *n = json_array_size(list);
    char **out = *n ? calloc(*n, sizeof *out) : NULL;
    for (size_t i = 0; i < *n; i++)
        out[i] = strdup(json_string_value(json_array_get(list, i)));
    json_decref(list);
    return out;
}

/* The conventional outline of a heading at this level and 1-based
 * position: 一 … 九十九, （一） … （九十九）, 1. … 99. (the parser reads
 * no more); NULL beyond, or for level 4. */
static char *conventional_outline(int level, long position)
{
    static const char *const digit[10] = {"", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
    char numeral[32], out[40];
    if (level < 1 || level > 3 || position < 1 || position > 99)
        return NULL;
    long tens = position / 10, ones = position % 10;
    snprintf(numeral, sizeof numeral, "%s%s%s", tens > 1 ? digit[tens] : "", tens ? "十" : "", digit[ones]);
    if (level == 1)
        snprintf(out, sizeof out, "%s", numeral);
    else if (level == 2)
        snprintf(out, sizeof out, "（%s）", numeral);
    else
        snprintf(out, sizeof out, "%ld.", position);
    return strdup(out);
}

/* Makes node n writable as document text (see the top of this file):
 * the outline of a heading that has none, a paragraph's title moved into
 * its text. position is n's 1-based place among its siblings. */
static void fit_document(struct plan_node *n, long position)
{
    /* a line ending otherwise runs on into the next one (plan_parser.c, "Joining") */
    static const char *const stops[] = {"。", "．", "！", "？", "；", "：", "”", "’", "」", "』", "…",
                                        "!", "?", ";", ":", NULL};
    if (n->level < 4 && !n->outline)
        n->outline = conventional_outline(n->level, position);
    if (n->level == 4 && n->title) {
        size_t a = strlen(n->title), b = n->body ? strlen(n->body) : 0;
        int own_line = 0;
        for (size_t k = 0; stops[k]; k++)
            own_line |= a >= strlen(stops[k]) && strcmp(n->title + a - strlen(stops[k]), stops[k]) == 0;
        char *text = malloc(a + b + 2);
        if (!text)
            return;
        snprintf(text, a + b + 2, "%s%s%s", n->title, n->body && own_line ? "\n" : "", n->body ? n->body : "");
        free(n->title);
        free(n->body);
        n->title = NULL;
        n->body = text;
    }
}

/* Adds every task, in path order, as a node whose parent index is found
 * from the ids already added. */
static duban_status load_tasks(struct call *c, PGconn *conn, struct export *ex)
{
    char id[24];
    id_text(ex->plan_id, id);
    const char *params[] = {id};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "SELECT t.id, t.parent_id, t.level, t.outline, t.title, t.body, coalesce(t.due_on::text, ''), "
                             "t.due_text, t.recurrence, "
                             "coalesce((SELECT json_agg(l.name ORDER BY tl.position) FROM task_leader tl JOIN leader l "
                             "ON l.id = tl.leader_id WHERE tl.task_id = t.id), '[]'), "
                             "coalesce((SELECT json_agg(u.name ORDER BY tu.position) FROM task_unit tu JOIN unit u "
                             "ON u.id = tu.unit_id WHERE tu.task_id = t.id), '[]'), t.position "
                             "FROM task t WHERE t.plan_id = $1 ORDER BY t.path",
                             1, params);
    if (s != DUBAN_OK)
        return s;
    int rows = PQntuples(res);
    int64_t *ids = calloc((size_t)rows + 1, sizeof *ids);
    for (int i = 0; i < rows; i++) {
        int k = plan_doc_add_node(ex->doc);
        struct plan_node *n = &ex->doc->nodes[k];
        ids[k] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        int64_t parent = PQgetisnull(res, i, 1) ? 0 : strtoll(PQgetvalue(res, i, 1), NULL, 10);
        for (int j = k - 1; parent && j >= 0 && n->parent < 0; j--)
            n->parent = ids[j] == parent ? j : -1;
        n->level = atoi(PQgetvalue(res, i, 2));
        n->outline = copy_or_null(res, i, 3);
        n->title = copy_or_null(res, i, 4);
        n->body = copy_or_null(res, i, 5);
        fit_document(n, atol(PQgetvalue(res, i, 11)));
        snprintf(n->due_on, sizeof n->due_on, "%s", PQgetvalue(res, i, 6));
        n->due_text = copy_or_null(res, i, 7);
        plan_recurrence_from_name(PQgetisnull(res, i, 8) ? NULL : PQgetvalue(res, i, 8), &n->recurrence);
        n->leaders = string_array(PQgetvalue(res, i, 9), &n->n_leaders);
        size_t n_units;
        char **units = string_array(PQgetvalue(res, i, 10), &n_units);
        n->units = n_units ? calloc(n_units, sizeof *n->units) : NULL;
        for (size_t j = 0; j < n_units; j++)
            n->units[j].name = units[j];
        n->n_units = n_units;
        free(units);
    }
    free(ids);
    PQclear(res);
    return DUBAN_OK;
}

static duban_status export_work(struct call *c, PGconn *conn, void *arg)
{
    duban_status s = load_plan(c, conn, arg);
    return s == DUBAN_OK ? load_tasks(c, conn, arg) : s;
}

duban_status plan_export(struct call *c, int64_t plan_id, enum plan_format format, char **out)
{
    struct plan_doc doc;
    memset(&doc, 0, sizeof doc);
    struct export ex = {plan_id, &doc};
    *out = NULL;
    duban_status s = db_read(c, export_work, &ex);
    if (s == DUBAN_OK) {
        *out = format == PLAN_CSV ? plan_render_csv(&doc) : plan_render_text(&doc);
        if (!*out)
            s = call_fail(c, DUBAN_ERROR, "the plan could not be rendered");
    }
    plan_doc_free(&doc);
    return s;
}
