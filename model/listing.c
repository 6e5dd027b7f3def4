#include "model/listing.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/changes.h"
#include "model/list_tags.h"
#include "model/resource_def.h"
#include "model/validate.h"

enum { DEFAULT_LIMIT = 50, MAX_LIMIT = 500, SQL_SIZE = 16384, MAX_KEYS = LIST_MAX_KEYS, MAX_PARAMS = LIST_MAX_PARAMS };



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

/* The index of the choice equal to the len bytes at v, or -1. */
static int choice_index(const char *const *choices, const char *v, size_t len)
{
    for (int i = 0; choices[i]; i++)
        if (strlen(choices[i]) == len && memcmp(choices[i], v, len) == 0)
            return i;
    return -1;
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
        ok = choice_index(f->choices, v, strlen(v)) >= 0;
        break;
    case FILTER_ENUM_LIST:
        for (const char *item = v; ok; item += strcspn(item, ",") + 1) {
            ok = choice_index(f->choices, item, strcspn(item, ",")) >= 0;
            if (!item[strcspn(item, ",")])
                break;
        }
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
    if (qr->napplied < LIST_MAX_PARAMS)
        qr->applied[qr->napplied++] = tmpl == f->sql ? f : NULL;
    return 1;
}

/* Whether the filter applied at i is positive and named `name`. */
static int applied_as(const struct list_query *qr, int i, const char *name)
{
    return qr->applied[i] && strcmp(qr->applied[i]->name, name) == 0;
}

/* Whether the names list exactly the filters applied, each once and
 * positive. */
static int same_filters(const struct list_query *qr, const char *const *names)
{
    int n = 0;
    while (names[n])
        n++;
    if (n != qr->napplied)
        return 0;
    for (int i = 0; i < n; i++) {
        int matches = 0;
        for (int j = 0; j < n; j++)
            matches += applied_as(qr, j, names[i]);
        if (matches != 1)
            return 0;
    }
    return 1;
}

/* The total the spec keeps for exactly the filters applied, or NULL. */
static const char *kept_total(const struct list_query *qr)
{
    for (const struct kept_count *k = qr->spec->kept; k && k->sql; k++)
        if (same_filters(qr, k->filters))
            return k->sql;
    return NULL;
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

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding; 0 when out (size bytes) is too small. */
static int b64url_encode(const unsigned char *in, size_t n, char *out, size_t size)
{
    if ((n + 2) / 3 * 4 + 1 > size)
        return 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16 | (i + 1 < n ? (unsigned long)in[i + 1] << 8 : 0) |
                          (i + 2 < n ? in[i + 2] : 0);
        for (size_t k = 0; k < 4 && k <= n - i; k++)
            out[o++] = B64URL[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
    return 1;
}

/* Strict base64url without padding: -1 on any other character, a length
 * no encoding has, or bits set past the end; else the decoded length. */
static long b64url_decode(const char *in, unsigned char *out, size_t size)
{
    size_t n = strlen(in), o = 0;
    if (n % 4 == 1 || n / 4 * 3 + 3 > size)
        return -1;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        const char *at = strchr(B64URL, in[i]);
        if (!at)
            return -1;
        v = v << 6 | (unsigned long)(at - B64URL);
        if (i % 4 == 3) {
            out[o++] = (unsigned char)(v >> 16);
            out[o++] = (unsigned char)(v >> 8);
            out[o++] = (unsigned char)v;
            v = 0;
        }
    }
    if (n % 4 == 2) {
        if (v & 15)
            return -1;
        out[o++] = (unsigned char)(v >> 4);
    } else if (n % 4 == 3) {
        if (v & 3)
            return -1;
        out[o++] = (unsigned char)(v >> 10);
        out[o++] = (unsigned char)(v >> 2);
    }
    return (long)o;
}

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

/* What a cursor belongs to: the list's table and order, so that a cursor
 * of another list or sort is refused rather than misread. */
static void order_tag(const struct list_query *qr, char out[20])
{
    uint64_t h = mix(mix(14695981039346656037ULL, qr->spec->table), qr->order);
    snprintf(out, 20, "%08llx", (unsigned long long)(h & 0xffffffffULL));
}

/* Splits the ORDER BY into its keys ("expr" or "expr DESC"). */
static int split_order(struct call *c, struct list_query *qr)
{
    int depth = 0;
    const char *start = qr->order;
    qr->nkeys = 0;
    for (const char *p = qr->order;; p++) {
        if (*p == '(')
            depth++;
        else if (*p == ')')
            depth--;
        if ((*p == ',' && depth == 0) || !*p) {
            if (qr->nkeys == MAX_KEYS) {
                call_field_error(c, "sort", "names too many fields");
                return 0;
            }
            while (*start == ' ')
                start++;
            size_t len = (size_t)(p - start);
            int desc = len > 5 && strncmp(p - 5, " DESC", 5) == 0;
            snprintf(qr->keys[qr->nkeys], sizeof qr->keys[0], "%.*s", (int)(desc ? len - 5 : len), start);
            qr->desc[qr->nkeys++] = desc;
            start = p + 1;
        }
        if (!*p)
            return 1;
    }
}

/* The condition "row r comes after the cursor" in the order of the keys
 * (ascending puts NULLs last, descending first, as PostgreSQL does). The
 * default order's columns are never NULL and ascending: one row
 * comparison, which an index serves. Other orders compare key by key,
 * NULLs included. */
static void keyset_condition(struct list_query *qr, int plain)
{
    size_t len = 0, size = sizeof qr->keyset;
    char *k = qr->keyset;
    if (plain) {
        len += (size_t)snprintf(k + len, size - len, " AND ((");
        for (int i = 0; i < qr->nkeys; i++)
            len += (size_t)snprintf(k + len, size - len, "%s%s", i ? ", " : "", qr->keys[i]);
        len += (size_t)snprintf(k + len, size - len, ") > (");
        for (int i = 0; i < qr->nkeys; i++) {
            qr->values[qr->nvalues] = json_string_value(json_array_get(qr->cursor, (size_t)i + 1));
            len += (size_t)snprintf(k + len, size - len, "%s$%d", i ? ", " : "", ++qr->nvalues);
        }
        snprintf(k + len, size - len, "))");
        return;
    }
    int param[MAX_KEYS];
    for (int i = 0; i < qr->nkeys; i++) {
        const char *v = json_string_value(json_array_get(qr->cursor, (size_t)i + 1));
        param[i] = 0;
        if (v) {
            qr->values[qr->nvalues] = v;
            param[i] = ++qr->nvalues;
        }
    }
    len += (size_t)snprintf(k + len, size - len, " AND (FALSE");
    for (int i = 0; i < qr->nkeys && len < size; i++) {
        if (!param[i] && !qr->desc[i])
            continue;   /* in ascending order only ties follow a NULL */
        len += (size_t)snprintf(k + len, size - len, " OR (");
        for (int j = 0; j < i && len < size; j++) {
            if (param[j])
                len += (size_t)snprintf(k + len, size - len, "%s = $%d AND ", qr->keys[j], param[j]);
            else
                len += (size_t)snprintf(k + len, size - len, "%s IS NULL AND ", qr->keys[j]);
        }
        if (len >= size)
            break;
        if (!param[i])
            len += (size_t)snprintf(k + len, size - len, "%s IS NOT NULL)", qr->keys[i]);
        else if (qr->desc[i])
            len += (size_t)snprintf(k + len, size - len, "%s < $%d)", qr->keys[i], param[i]);
        else
            len += (size_t)snprintf(k + len, size - len, "(%s > $%d OR %s IS NULL))", qr->keys[i], param[i],
                                    qr->keys[i]);
    }
    if (len < size)
        snprintf(k + len, size - len, ")");
}

/* Reads the cursor `after` (when given) strictly: empty (the first page),
 * or base64url of the JSON array [order tag, one string or null per key],
 * made by this list with this order. Anything else is reported naming
 * `after`. */
static void read_cursor(struct call *c, struct list_query *qr)
{
    if (!split_order(c, qr) || !qr->after || !qr->after[0])
        return;   /* an empty cursor starts a walk by cursor at the first row */
    unsigned char raw[LIST_CURSOR_SIZE];
    long n = strlen(qr->after) < LIST_CURSOR_SIZE ? b64url_decode(qr->after, raw, sizeof raw) : -1;
    json_t *cursor = n > 0 ? json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES, NULL) : NULL;
    char tag[20];
    order_tag(qr, tag);
    int ok = json_is_array(cursor) && json_array_size(cursor) == (size_t)qr->nkeys + 1 &&
             json_is_string(json_array_get(cursor, 0)) &&
             strcmp(json_string_value(json_array_get(cursor, 0)), tag) == 0;
    int plain = 1;
    for (size_t i = 1; ok && i < json_array_size(cursor); i++) {
        json_t *v = json_array_get(cursor, i);
        ok = json_is_null(v) || (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v));
        plain = plain && json_is_string(v);
    }
    if (!ok) {
        json_decref(cursor);
        call_field_error(c, "after", "is not a cursor of this list and order: use the one a rel=\"next\" link gives");
        return;
    }
    qr->cursor = cursor;
    keyset_condition(qr, plain && strcmp(qr->order, qr->spec->default_order) == 0);
}

/* The cursor of the page that follows row `row` of the page's result,
 * whose key values start at column `col`. */
static void make_cursor(const struct list_query *qr, PGresult *res, int row, int col, char *out, size_t size)
{
    char tag[20];
    order_tag(qr, tag);
    json_t *cursor = json_array();
    json_array_append_new(cursor, json_string(tag));
    for (int i = 0; i < qr->nkeys; i++)
        json_array_append_new(cursor, PQgetisnull(res, row, col + i) ? json_null()
                                                                       : json_string(PQgetvalue(res, row, col + i)));
    char *text = json_dumps(cursor, JSON_COMPACT);
    json_decref(cursor);
    if (!text || !b64url_encode((const unsigned char *)text, strlen(text), out, size))
        out[0] = '\0';
    free(text);
}

/* 1 when the query gives a filter whose condition implies f's. */
static int implied(const struct list_query *qr, const struct filter *f)
{
    return f->implied_by && params_get(qr->q, f->implied_by);
}

/* Reads limit, offset, sort and every filter; all problems are reported. */
static duban_status read_query(struct call *c, struct list_query *qr)
{
    qr->limit = DEFAULT_LIMIT;
    qr->offset = 0;
    snprintf(qr->where, sizeof qr->where, "TRUE");
    snprintf(qr->order, sizeof qr->order, "%s", qr->spec->default_order);
    const struct filter *scope = qr->scope ? find_filter(qr->spec, qr->scope->param) : NULL;
    if (scope && !implied(qr, scope))
        add_condition(c, qr, scope, scope->sql, qr->scope_id);
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
        } else if (strcmp(name, "after") == 0) {
            qr->after = v;
        } else if (!f) {
            call_field_error(c, name, "is not a parameter of this list");
        } else if (qr->scope && strcmp(name, qr->scope->param) == 0) {
            call_field_error(c, name, "is given by the path");
        } else if (qr->nvalues + MAX_KEYS + 4 > MAX_PARAMS) {
            call_field_error(c, name, "too many filters");
        } else if (value_ok(c, f, v) && !implied(qr, f)) {
            int negative = (f->type == FILTER_BOOL && strcmp(v, "false") == 0) ||
                           (f->type == FILTER_ID_OR_NULL && strcmp(v, "null") == 0) ||
                           (f->type == FILTER_SWITCH && strcmp(v, f->choices[0]) != 0);
            add_condition(c, qr, f, negative ? f->sql_false : f->sql, v);
        }
    }
    if (qr->after && params_get(qr->q, "offset"))
        call_field_error(c, "offset", "cannot be given with after: a cursor replaces the offset");
    qr->nfilter = qr->nvalues;
    qr->count_sql = kept_total(qr);
    if (!c->errors)
        read_cursor(c, qr);
    if (c->errors)
        snprintf(c->detail, sizeof c->detail, "the query has %zu bad parameter(s)", json_array_size(c->errors));
    return call_errors_status(c, DUBAN_BAD_INPUT);
}


/* The entity-tag of a list. It must change when, and only when, the answer
 * would: an item of the page, their order, the total, or whether a next
 * page exists. A row's xmin is the transaction that wrote its current
 * version: every committed write of a row, whatever made it (a client's
 * change, a sibling renumbered, a task rendered again because a unit it
 * shows was renamed, its progress set by a new log), gives it an xmin it
 * never had before, and nothing else does. So the tag hashes, in order,
 * the (id, xmin) of every row fetched (the page and the one after it),
 * the total when it is counted, what shaped the query (filters, sort,
 * cursor, limit, offset), and what a representation derives from outside
 * its row (a task's colour: today's date, as the Unix time it ends).
 * A row entering or leaving the filter beyond the page changes the total;
 * one entering or leaving the page changes the rows fetched. Writes cost
 * nothing extra (no column, no trigger, no journal row), and a
 * revalidation (LIST_TAG_ONLY) costs the count and the page's statement
 * with no items in it: the rows' ids and xmins are read, their
 * representations (and what a task's computes for today) are not.
 * A tag computed on the primary is remembered (model/list_tags.h) while no
 * write may have changed it: a revalidation it answers asks nothing of the
 * database. */
#define TAG_AGGREGATE "count(*) AS n"
/* A scalar subquery, so computed once per statement, not once per row. */
#define TAG_CONTEXT "(SELECT extract(epoch FROM (current_date + 1)::timestamptz)::bigint::text)"

/* The tag's seed: everything that shaped the query (the filters' and the
 * cursor's values among the values, the limit and the offset) and whether
 * it counts. */
static uint64_t tag_seed(const struct list_query *qr)
{
    uint64_t h = mix(14695981039346656037ULL, qr->spec->table);
    h = mix(mix(mix(h, qr->where), qr->keyset), qr->order);
    for (int i = 0; i < qr->nvalues; i++)
        h = mix(h, qr->values[i]);
    h = mix(mix(h, qr->limit_text), qr->offset_text);
    return mix(h, qr->flags & LIST_NO_TOTAL ? "page" : "counted");
}

static void tag_text(uint64_t h, char tag[LIST_TAG_SIZE])
{
    snprintf(tag, LIST_TAG_SIZE, "W/\"%016llx\"", (unsigned long long)h);
}

/* The page's columns: the item, id, xmin, the end of today, then the keys. */
enum { PAGE_ITEM, PAGE_ID, PAGE_XMIN, PAGE_DAY_END, PAGE_KEYS };

/* The tag, from every row fetched (the page and the one after it, which
 * decides rel="next"), the total (NULL when not counted) and the context
 * of the warnings. */
static void page_tag(const struct list_query *qr, PGresult *page, const char *total, char tag[LIST_TAG_SIZE])
{
    uint64_t h = mix(tag_seed(qr), total ? total : "");
    for (int i = 0; i < PQntuples(page); i++)
        h = mix(mix(h, PQgetvalue(page, i, PAGE_ID)), PQgetvalue(page, i, PAGE_XMIN));
    if (PQntuples(page))
        h = mix(h, PQgetvalue(page, 0, PAGE_DAY_END));
    tag_text(h, tag);
}

/* Writes the page's statement: one scan in the list's order, from the
 * cursor when there is one, of limit + 1 rows (the last only tells that a
 * next page exists). With LIST_TAG_ONLY the item column is NULL: the
 * same rows in the same order, no representation computed (nor the
 * spec's lateral item, one row per row r).
 * The limit is written into the statement, and so is the absence of an
 * offset: a prepared statement's generic plan, which PostgreSQL keeps
 * when it costs no more than the plans made for the values, must know how
 * many rows are wanted. With LIMIT $n it assumed a tenth of the table,
 * costed a sort above the ordered scan, and so planned the statement anew
 * at every call (the overdue list: 0.45 ms of planning per page). */
static duban_status build_sql(struct call *c, struct list_query *qr)
{
    snprintf(qr->limit_text, sizeof qr->limit_text, "%ld", qr->limit + 1);
    snprintf(qr->offset_text, sizeof qr->offset_text, "%ld", qr->offset);
    char offset[32] = "";
    if (qr->offset > 0) {
        qr->values[qr->nvalues] = qr->offset_text;
        snprintf(offset, sizeof offset, " OFFSET $%d", ++qr->nvalues);
    }
    char keys[2048] = "";
    for (int i = 0; i < qr->nkeys; i++) {
        size_t used = strlen(keys);
        snprintf(keys + used, sizeof keys - used, ", (%s)::text", qr->keys[i]);
    }
    qr->sql = malloc(SQL_SIZE);
    if (!qr->sql)
        return call_fail(c, DUBAN_ERROR, "out of memory");
    int tag_only = qr->flags & LIST_TAG_ONLY, lateral = !tag_only && qr->spec->lateral;
    int len = snprintf(qr->sql, SQL_SIZE,
                       "SELECT (%s)::text, r.id, r.xmin::text, " TAG_CONTEXT "%s FROM %s r%s%s WHERE %s%s "
                       "ORDER BY %s LIMIT %s%s",
                       tag_only ? "NULL" : qr->spec->json, keys, qr->spec->table, lateral ? ", " : "",
                       lateral ? qr->spec->lateral : "", qr->where, qr->keyset, qr->order, qr->limit_text, offset);
    return len < SQL_SIZE ? DUBAN_OK : call_fail(c, DUBAN_BAD_INPUT, "the query is too long");
}

static duban_status prepare(struct call *c, const struct list_spec *spec, const struct param_list *q,
                            const struct list_scope *scope, unsigned flags, struct list_query *out)
{
    memset(out, 0, sizeof *out);
    out->spec = spec;
    out->q = q;
    out->scope = scope;
    out->flags = flags;
    if (scope)
        id_text(scope->id, out->scope_id);
    duban_status s = read_query(c, out);
    return s == DUBAN_OK ? build_sql(c, out) : s;
}

duban_status list_prepare(struct call *c, const struct list_spec *spec, const struct param_list *q,
                          const struct list_scope *scope, struct list_query *out)
{
    return prepare(c, spec, q, scope, 0, out);
}

void list_query_clear(struct list_query *qr)
{
    free(qr->sql);
    qr->sql = NULL;
    json_decref(qr->cursor);
    qr->cursor = NULL;
}

/* Counts the filtered rows, or reads the total the spec keeps for them
 * (when counting), and reads the page, in one
 * round trip and in that order, so that the page is never older than the
 * tag it is sent with. A cursor whose values the database cannot read as
 * the keys' types is the client's: a bad `after`. */
static duban_status count_and_fetch(struct call *c, PGconn *conn, const struct list_query *qr, PGresult **count,
                                    PGresult **page)
{
    char counted[6144];
    const char *count_sql = qr->count_sql;
    if (!count_sql) {
        snprintf(counted, sizeof counted, "SELECT " TAG_AGGREGATE " FROM %s r WHERE %s", qr->spec->table, qr->where);
        count_sql = counted;
    }
    const struct db_statement st[] = {{count_sql, qr->nfilter, (const char *const *)qr->values},
                                      {qr->sql, qr->nvalues, (const char *const *)qr->values}};
    int counting = !(qr->flags & LIST_NO_TOTAL);
    PGresult *res[2] = {NULL, NULL};
    duban_status s = counting ? db_exec_all(c, conn, 2, st, res) : db_exec_all(c, conn, 1, st + 1, res + 1);
    *count = res[0];
    *page = res[1];
    if (s != DUBAN_OK && qr->cursor && strncmp(c->sqlstate, "22", 2) == 0) {
        call_clear(c);
        call_field_error(c, "after", "is not a cursor of this list and order: use the one a rel=\"next\" link gives");
        s = call_errors_status(c, DUBAN_BAD_INPUT);
    }
    return s;
}

/* The envelope around the page's items (at most `items` rows of page). */
static char *envelope(const struct list_query *qr, PGresult *page, int items, long total)
{
    size_t size = 128;
    for (int i = 0; i < items; i++)
        size += (size_t)PQgetlength(page, i, PAGE_ITEM) + 2;
    char *text = malloc(size), *p = text;
    if (!text)
        return NULL;
    p += sprintf(p, "{\"items\" : [");
    for (int i = 0; i < items; i++) {
        if (i)
            p += sprintf(p, ", ");
        size_t n = (size_t)PQgetlength(page, i, PAGE_ITEM);
        memcpy(p, PQgetvalue(page, i, PAGE_ITEM), n);
        p += n;
    }
    p += sprintf(p, "]");
    if (total >= 0)
        p += sprintf(p, ", \"total\" : %ld", total);
    sprintf(p, ", \"limit\" : %ld, \"offset\" : %ld}", qr->limit, qr->offset);
    return text;
}

struct run_args {
    struct list_query *qr;
    char **text;
    struct list_page *page;
    int64_t day_end;          /* the Unix time today ends, 0 when no row tells */
};

/* Counts (unless asked not to) and reads the page (count_and_fetch). */
static duban_status list_work(struct call *c, PGconn *conn, void *arg)
{
    struct run_args *a = arg;
    struct list_query *qr = a->qr;
    struct list_page *pg = a->page;
    int counting = !(qr->flags & LIST_NO_TOTAL);
    duban_status s = qr->scope ? row_exists(c, conn, qr->scope->table, qr->scope->name, qr->scope->id) : DUBAN_OK;
    PGresult *count = NULL, *page = NULL;
    if (s == DUBAN_OK)
        s = count_and_fetch(c, conn, qr, &count, &page);
    if (s == DUBAN_OK) {
        int rows = PQntuples(page), items = rows > qr->limit ? (int)qr->limit : rows;
        pg->total = counting ? atol(PQgetvalue(count, 0, 0)) : -1;
        pg->limit = qr->limit;
        pg->offset = qr->offset;
        pg->has_next = rows > qr->limit;
        pg->keyset = qr->after != NULL;
        pg->next_after[0] = '\0';
        if (pg->has_next)
            make_cursor(qr, page, items - 1, PAGE_KEYS, pg->next_after, sizeof pg->next_after);
        page_tag(qr, page, counting ? PQgetvalue(count, 0, 0) : NULL, pg->tag);
        a->day_end = rows ? atoll(PQgetvalue(page, 0, PAGE_DAY_END)) : 0;
        if (!(qr->flags & LIST_TAG_ONLY) && !(*a->text = envelope(qr, page, items, pg->total)))
            s = call_fail(c, DUBAN_ERROR, "out of memory");
    }
    PQclear(count);
    PQclear(page);
    return s;
}

duban_status list_run_text(struct call *c, const struct list_spec *spec, const struct param_list *q,
                           const struct list_scope *scope, unsigned flags, char **text, struct list_page *page)
{
    struct list_query qr;
    *text = NULL;
    duban_status s = prepare(c, spec, q, scope, flags, &qr);
    if (s == DUBAN_OK) {
        struct run_args a = {&qr, text, page, 0};
        uint64_t generation = list_tags_generation();
        s = db_read(c, list_work, &a);
        /* a standby's tag may be older than the writes already heard of;
         * an empty page's holds no day it ends with */
        if (s == DUBAN_OK && !c->read_standby && a.day_end > 0 && change_entity_bit(spec->table))
            list_tags_remember(tag_seed(&qr), page->tag, generation, a.day_end);
    }
    list_query_clear(&qr);
    return s;
}

int list_known_tag(struct call *c, const struct list_spec *spec, const struct param_list *q,
                   const struct list_scope *scope, unsigned flags, char tag[LIST_TAG_SIZE])
{
    struct list_query qr = {0};
    int known = 0;
    if (change_entity_bit(spec->table) && prepare(c, spec, q, scope, flags, &qr) == DUBAN_OK)
        known = list_tags_recall(tag_seed(&qr), tag, LIST_TAG_SIZE);
    list_query_clear(&qr);
    call_clear(c);
    c->detail[0] = '\0';
    return known;
}

duban_status list_run(struct call *c, const struct list_spec *spec, const struct param_list *q,
                      const struct list_scope *scope, json_t **out)
{
    char *text;
    struct list_page page;
    *out = NULL;
    duban_status s = list_run_text(c, spec, q, scope, 0, &text, &page);
    if (s == DUBAN_OK && !(*out = json_loads(text, 0, NULL)))
        s = call_fail(c, DUBAN_ERROR, "the database returned malformed JSON");
    free(text);
    return s;
}
