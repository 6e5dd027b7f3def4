#include "model/listing.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/sql.h"
#include "model/resource.h"
#include "model/resource_def.h"
#include "model/validate.h"

enum { DEFAULT_LIMIT = 50, MAX_LIMIT = 500, SQL_SIZE = 16384 };


/* Strict non-negative integer parse with bounds; -1 on failure. */
static long parse_long(const char *text, long min, long max)
{
    if (!text || !*text || ((*text < '0' || *text > '9') && *text != '-'))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    return errno || *end || v < min || v > max ? -1 : v;
}

static const struct filter *find_filter(const struct list_spec *spec, const char *name)
{
    for (const struct filter *f = spec->filters; f && f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* The value of a filter: from the scope or the query string. */
static const char *filter_value(const struct list_query *qr, const char *name)
{
    if (qr->scope && strcmp(qr->scope->param, name) == 0)
        return qr->scope_id;
    return params_get(qr->q, name);
}

/* Checks a filter's value against its type; reports the problem in c. */
static int value_ok(struct call *c, const struct filter *f, const char *v)
{
    int ok = 1;
    switch (f->type) {
    case FILTER_ID:
        ok = parse_long(v, 1, LONG_MAX) > 0;
        break;
    case FILTER_ID_OR_NULL:
        ok = strcmp(v, "null") == 0 || parse_long(v, 1, LONG_MAX) > 0;
        break;
    case FILTER_INT:
        ok = parse_long(v, f->min, f->max) >= f->min;
        break;
    case FILTER_DATE:
        ok = date_valid(v);
        break;
    case FILTER_TIME:
        ok = date_valid(v) || timestamp_valid(v);
        break;
    case FILTER_TEXT:
        ok = *v && utf8_length(v) <= 200;
        break;
    case FILTER_BOOL:
        ok = strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
        break;
    case FILTER_ENUM:
    case FILTER_SWITCH:
        ok = 0;
        for (const char *const *p = f->choices; *p && !ok; p++)
            ok = strcmp(*p, v) == 0;
        break;
    }
    if (!ok) {
        char shown[256];
        text_quote(shown, sizeof shown, v, strlen(v), 60);
        if (f->type == FILTER_DATE)
            call_field_error(c, f->name, "'%s' is not %s", shown, DATE_RULE);
        else if (f->type == FILTER_TIME)
            call_field_error(c, f->name, "'%s' is not %s, nor an RFC 3339 date-time", shown, DATE_RULE);
        else
            call_field_error(c, f->name, "'%s' is not a valid value", shown);
    }
    return ok;
}

/* Expands a filter's SQL template into the WHERE clause: `$$` becomes its
 * own parameter, `{other}` the parameter of filter `other`. */
static int add_condition(struct call *c, struct list_query *qr, const struct filter *f, const char *tmpl,
                         const char *value)
{
    char cond[1024] = "";
    size_t len = 0;
    for (const char *p = tmpl; *p && len + 8 < sizeof cond;) {
        if (p[0] == '$' && p[1] == '$') {
            qr->values[qr->nvalues] = value;
            len += (size_t)snprintf(cond + len, sizeof cond - len, "$%d", ++qr->nvalues);
            p += 2;
        } else if (*p == '{') {
            size_t n = strcspn(p + 1, "}");
            char other[64];
            snprintf(other, sizeof other, "%.*s", (int)n, p + 1);
            const char *v = filter_value(qr, other);
            if (!v) {
                call_field_error(c, f->name, "needs %s as well", other);
                return 0;
            }
            qr->values[qr->nvalues] = v;
            len += (size_t)snprintf(cond + len, sizeof cond - len, "$%d", ++qr->nvalues);
            p += n + 2;
        } else {
            cond[len++] = *p++;
            cond[len] = '\0';
        }
    }
    size_t used = strlen(qr->where);
    snprintf(qr->where + used, sizeof qr->where - used, " AND (%s)", cond);
    return 1;
}

/* Turns "field,-field" into an ORDER BY over the allow-list. */
static int parse_sort(struct call *c, struct list_query *qr, const char *text)
{
    char copy[256], *save = NULL;
    snprintf(copy, sizeof copy, "%s", text);
    qr->order[0] = '\0';
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        int desc = item[0] == '-';
        const struct sort_key *k = qr->spec->sorts;
        while (k && k->name && strcmp(k->name, item + desc) != 0)
            k++;
        if (!k || !k->name) {
            char shown[160];
            call_field_error(c, "sort", "cannot sort by '%s'",
                             text_quote(shown, sizeof shown, item + desc, strlen(item + desc), 40));
            return 0;
        }
        size_t used = strlen(qr->order);
        snprintf(qr->order + used, sizeof qr->order - used, "%s%s%s", used ? ", " : "", k->sql,
                 desc ? " DESC" : "");
    }
    if (!qr->order[0]) {
        call_field_error(c, "sort", "names no field");
        return 0;
    }
    size_t used = strlen(qr->order);
    snprintf(qr->order + used, sizeof qr->order - used, ", r.id");
    return 1;
}

/* Reads limit, offset, sort and every filter; all problems are reported. */
static duban_status read_query(struct call *c, struct list_query *qr)
{
    qr->limit = DEFAULT_LIMIT;
    qr->offset = 0;
    snprintf(qr->where, sizeof qr->where, "TRUE");
    snprintf(qr->order, sizeof qr->order, "%s", qr->spec->default_order);
    if (qr->scope)
        add_condition(c, qr, find_filter(qr->spec, qr->scope->param), find_filter(qr->spec, qr->scope->param)->sql,
                      qr->scope_id);
    for (size_t i = 0; i < qr->q->count; i++) {
        const char *name = qr->q->items[i].name, *v = qr->q->items[i].value ? qr->q->items[i].value : "";
        const struct filter *f = find_filter(qr->spec, name);
        if (strcmp(name, "limit") == 0) {
            if ((qr->limit = parse_long(v, 1, MAX_LIMIT)) < 1)
                call_field_error(c, "limit", "must be an integer from 1 to %d", MAX_LIMIT);
        } else if (strcmp(name, "offset") == 0) {
            if ((qr->offset = parse_long(v, 0, 1000000000L)) < 0)
                call_field_error(c, "offset", "must be an integer from 0 to 1000000000");
        } else if (strcmp(name, "sort") == 0) {
            parse_sort(c, qr, v);
        } else if (!f) {
            call_field_error(c, name, "is not a parameter of this list");
        } else if (qr->scope && strcmp(name, qr->scope->param) == 0) {
            call_field_error(c, name, "is given by the path");
        } else if (qr->nvalues + 4 > LIST_MAX_PARAMS) {
            call_field_error(c, name, "too many filters");
        } else if (value_ok(c, f, v)) {
            int negative = (f->type == FILTER_BOOL && strcmp(v, "false") == 0) ||
                           (f->type == FILTER_ID_OR_NULL && strcmp(v, "null") == 0) ||
                           (f->type == FILTER_SWITCH && strcmp(v, f->choices[0]) != 0);
            add_condition(c, qr, f, negative ? f->sql_false : f->sql, v);
        }
    }
    if (c->errors)
        snprintf(c->detail, sizeof c->detail, "the query has %zu bad parameter(s)", json_array_size(c->errors));
    return call_errors_status(c, DUBAN_BAD_INPUT);
}

/* Fails with DUBAN_NOT_FOUND when the scope's parent row does not exist. */
static duban_status check_scope(struct call *c, PGconn *conn, const struct list_query *qr)
{
    char sql[160];
    const char *params[] = {qr->scope_id};
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id = $1", qr->scope->table);
    PGresult *res;
    duban_status s = db_exec(c, conn, &res, sql, 1, params);
    if (s != DUBAN_OK)
        return s;
    int found = PQntuples(res) == 1;
    PQclear(res);
    return found ? DUBAN_OK : call_fail(c, DUBAN_NOT_FOUND, "%s %s does not exist", qr->scope->name, qr->scope_id);
}

/* The entity-tag of a list. It must change whenever the page, its order or
 * its total would, and it must be cheap enough to compute without building
 * the page (a 304 then costs one aggregate over the filtered rows).
 *
 * A row's xmin is the transaction that wrote its current version: every
 * committed write of a row, whatever made it (a client's change, a sibling
 * renumbered by repath, a task touched because a unit it shows was renamed,
 * its progress set by a new log), gives it an xmin it never had before, and
 * nothing else does. So the set of (id, xmin) pairs of the filtered rows
 * changes exactly when a row enters the filter (a new pair), leaves it (a
 * pair gone, and the count falls unless another row entered) or a row in it
 * changes (its pair replaced). The order and the page's bounds follow from
 * the rows' values and from limit, offset and sort, which are hashed in
 * too. The set is summarised by its count and the XOR of a 64-bit hash of
 * each pair, which, unlike the highest of a write counter, also holds when
 * two writers commit in another order than they wrote. What a
 * representation derives from outside its rows (a task's warning, from
 * today's date and the near-due setting) is hashed in as well. Writes
 * cost nothing extra: no column, no trigger, no journal row. */
#define TAG_AGGREGATE "count(*) AS n, coalesce(bit_xor(hashint8extended(r.id, r.xmin::text::bigint)), 0) AS x"
#define TAG_CONTEXT "current_date::text, coalesce(current_setting('duban.near_due_days', true), '')"

/* FNV-1a over a string and its terminating NUL. */
static uint64_t mix(uint64_t h, const char *text)
{
    const char *p = text ? text : "";
    do {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    } while (*p++);
    return h;
}

/* The tag from what the SQL of the list answered (columns from `col`:
 * count, xor, date, setting) and what shaped the query. */
static void make_tag(const struct list_query *qr, PGresult *res, int col, char tag[LIST_TAG_SIZE])
{
    uint64_t h = mix(14695981039346656037ULL, qr->spec->table);
    h = mix(mix(h, qr->where), qr->order);
    for (int i = 0; i < qr->nvalues; i++)
        h = mix(h, qr->values[i]);
    for (int i = col; i < col + 4; i++)
        h = mix(h, PQgetvalue(res, 0, i));
    snprintf(tag, LIST_TAG_SIZE, "W/\"%016llx\"", (unsigned long long)h);
}

/* Writes the one statement that answers the list: the page of rows as
 * JSON, the total and the paging values, in one round trip. */
static duban_status build_sql(struct call *c, struct list_query *qr)
{
    snprintf(qr->limit_text, sizeof qr->limit_text, "%ld", qr->limit);
    snprintf(qr->offset_text, sizeof qr->offset_text, "%ld", qr->offset);
    int n = qr->nvalues;
    qr->values[n] = qr->limit_text;
    qr->values[n + 1] = qr->offset_text;
    qr->nvalues = n + 2;
    qr->sql = malloc(SQL_SIZE);
    if (!qr->sql)
        return call_fail(c, DUBAN_ERROR, "out of memory");
    const struct list_spec *spec = qr->spec;
    int len = snprintf(qr->sql, SQL_SIZE,
             "WITH page AS (SELECT r.id, row_number() OVER (ORDER BY %s) AS n FROM %s r WHERE %s "
             "ORDER BY %s LIMIT $%d OFFSET $%d), total AS (SELECT " TAG_AGGREGATE " FROM %s r WHERE %s) "
             "SELECT json_build_object('items', (SELECT coalesce(json_agg(%s ORDER BY page.n), '[]') "
             "FROM page JOIN %s r ON r.id = page.id), 'total', total.n, 'limit', %ld, 'offset', %ld), total.n, "
             "total.x, " TAG_CONTEXT " FROM total",
             qr->order, spec->table, qr->where, qr->order, n + 1, n + 2, spec->table, qr->where, spec->json,
             spec->table, qr->limit, qr->offset);
    return len < SQL_SIZE ? DUBAN_OK : call_fail(c, DUBAN_BAD_INPUT, "the query is too long");
}

duban_status list_prepare(struct call *c, const struct list_spec *spec, const struct param_list *q,
                          const struct list_scope *scope, struct list_query *out)
{
    memset(out, 0, sizeof *out);
    out->spec = spec;
    out->q = q;
    out->scope = scope;
    if (scope)
        id_text(scope->id, out->scope_id);
    duban_status s = read_query(c, out);
    return s == DUBAN_OK ? build_sql(c, out) : s;
}

void list_query_clear(struct list_query *qr)
{
    free(qr->sql);
    qr->sql = NULL;
}

struct run_args {
    struct list_query *qr;
    char **text;
    struct list_page *page;
};

/* Runs the prepared list; the envelope comes back as PostgreSQL wrote it. */
static duban_status list_work(struct call *c, PGconn *conn, void *arg)
{
    struct run_args *a = arg;
    duban_status s = a->qr->scope ? check_scope(c, conn, a->qr) : DUBAN_OK;
    PGresult *res = NULL;
    if (s == DUBAN_OK)
        s = db_exec(c, conn, &res, a->qr->sql, a->qr->nvalues, a->qr->values);
    if (s != DUBAN_OK)
        return s;
    *a->text = strdup(PQgetvalue(res, 0, 0));
    a->page->total = atol(PQgetvalue(res, 0, 1));
    make_tag(a->qr, res, 1, a->page->tag);
    a->page->limit = a->qr->limit;
    a->page->offset = a->qr->offset;
    PQclear(res);
    return *a->text ? DUBAN_OK : call_fail(c, DUBAN_ERROR, "out of memory");
}

duban_status list_run_text(struct call *c, const struct list_spec *spec, const struct param_list *q,
                           const struct list_scope *scope, char **text, struct list_page *page)
{
    struct list_query qr;
    *text = NULL;
    duban_status s = list_prepare(c, spec, q, scope, &qr);
    if (s == DUBAN_OK) {
        struct run_args a = {&qr, text, page};
        s = db_read(c, list_work, &a);
    }
    list_query_clear(&qr);
    return s;
}

struct tag_args {
    struct list_query *qr;
    char *tag;
};

/* The aggregate of the list's statement alone: the filtered rows are
 * counted, the page is not built. */
static duban_status tag_work(struct call *c, PGconn *conn, void *arg)
{
    struct tag_args *a = arg;
    duban_status s = a->qr->scope ? check_scope(c, conn, a->qr) : DUBAN_OK;
    char sql[6144];
    snprintf(sql, sizeof sql, "SELECT " TAG_AGGREGATE ", " TAG_CONTEXT " FROM %s r WHERE %s", a->qr->spec->table,
             a->qr->where);
    PGresult *res = NULL;
    if (s == DUBAN_OK)   /* limit and offset, the last two values, are not used here */
        s = db_exec(c, conn, &res, sql, a->qr->nvalues - 2, a->qr->values);
    if (s != DUBAN_OK)
        return s;
    make_tag(a->qr, res, 0, a->tag);
    PQclear(res);
    return DUBAN_OK;
}

duban_status list_tag(struct call *c, const struct list_spec *spec, const struct param_list *q,
                      const struct list_scope *scope, char tag[LIST_TAG_SIZE])
{
    struct list_query qr;
    tag[0] = '\0';
    duban_status s = list_prepare(c, spec, q, scope, &qr);
    if (s == DUBAN_OK) {
        struct tag_args a = {&qr, tag};
        s = db_read(c, tag_work, &a);
    }
    list_query_clear(&qr);
    return s;
}

duban_status list_run(struct call *c, const struct list_spec *spec, const struct param_list *q,
                      const struct list_scope *scope, json_t **out)
{
    char *text;
    struct list_page page;
    *out = NULL;
    duban_status s = list_run_text(c, spec, q, scope, &text, &page);
    if (s == DUBAN_OK && !(*out = json_loads(text, 0, NULL)))
        s = call_fail(c, DUBAN_ERROR, "the database returned malformed JSON");
    free(text);
    return s;
}
