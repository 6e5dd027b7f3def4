/* Rendering a plan as CSV and reading that CSV back, in the CSV layout
 * described in model/plan_render.h. */
#include "model/plan_internal.h"
#include "model/plan_render.h"
#include "model/plan_render_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* CSV out                                                            */
/* ------------------------------------------------------------------ */

#define CSV_COLS 12

static const char *const csv_columns[CSV_COLS] = {
    "path", "level", "outline", "title", "body", "leaders", "lead_unit", "units",
    "due_on", "due_text", "recurrence", "recurrence_text"
};

static const char *const meta_keys[] = {"doc_number", "title", "issuer", "issued_on", "basis"};
#define N_META (sizeof meta_keys / sizeof meta_keys[0])

/* Writes one field (NULL as empty), quoted when RFC 4180 needs it, then a
 * comma or, after the last column, CRLF. */
static void put_field(struct plan_sb *b, const char *s, int col)
{
    if (s && s[strcspn(s, ",\"\r\n")]) {
        plan_sb_puts(b, "\"");
        for (const char *q; (q = strchr(s, '"')); s = q + 1) {
            plan_sb_put(b, s, (size_t)(q - s));
            plan_sb_puts(b, "\"\"");
        }
        plan_sb_puts(b, s);
        plan_sb_puts(b, "\"");
    } else {
        plan_sb_puts(b, s);
    }
    plan_sb_puts(b, col + 1 < CSV_COLS ? "," : "\r\n");
}

/* Writes a record of CSV_COLS fields; v[i] may be NULL. */
static void put_record(struct plan_sb *b, const char *const *v)
{
    for (int c = 0; c < CSV_COLS; c++)
        put_field(b, v[c], c);
}

/* The value of metadata key k of doc, or NULL. */
static const char *meta_value(const struct plan_doc *doc, size_t k)
{
    const char *v[N_META] = {doc->doc_number, doc->title, doc->issuer, doc->issued_on, doc->basis};
    return v[k] && v[k][0] ? v[k] : NULL;
}

/* Writes the record of node i whose path is `path`. */
static void put_node_record(struct plan_sb *b, const struct plan_node *n, const char *path)
{
    struct plan_sb leaders = {NULL, 0, 0, 0}, lead = {NULL, 0, 0, 0}, others = {NULL, 0, 0, 0};
    char level[4];
    const char *v[CSV_COLS];

    snprintf(level, sizeof level, "%d", n->level);
    plan_put_leaders(&leaders, n);
    plan_put_units(&lead, n, 0, 1);
    plan_put_units(&others, n, 1, n->n_units);
    b->oom |= leaders.oom | lead.oom | others.oom;
    v[0] = path;
    v[1] = level;
    v[2] = n->outline;
    v[3] = n->title;
    v[4] = n->body;
    v[5] = leaders.p;
    v[6] = lead.p;
    v[7] = others.p;
    v[8] = n->due_on[0] ? n->due_on : NULL;
    v[9] = n->due_text;
    v[10] = plan_recurrence_name(n->recurrence);
    v[11] = n->recurrence_text;
    put_record(b, v);
    free(leaders.p);
    free(lead.p);
    free(others.p);
}

/* Sets paths[i] to the "1.2.3" path of every node; 0, or -1 when out of memory. */
static int make_paths(const struct plan_doc *doc, char **paths)
{
    size_t *kids = calloc(doc->n_nodes + 1, sizeof *kids);

    if (!kids)
        return -1;
    for (size_t i = 0; i < doc->n_nodes; i++) {
        int parent = doc->nodes[i].parent;
        const char *up = parent >= 0 ? paths[parent] : "";
        size_t seq = ++kids[parent >= 0 ? (size_t)parent : doc->n_nodes];
        size_t len = strlen(up) + 24;

        if (!(paths[i] = malloc(len))) {
            free(kids);
            return -1;
        }
        snprintf(paths[i], len, "%s%s%zu", up, *up ? "." : "", seq);
    }
    free(kids);
    return 0;
}

char *plan_render_csv(const struct plan_doc *doc)
{
    struct plan_sb b = {NULL, 0, 0, 0};
    char **paths = NULL;
    char *r = NULL;

    if (!plan_render_well_formed(doc) || !(paths = calloc(doc->n_nodes + 1, sizeof *paths)))
        goto out;
    if (make_paths(doc, paths))
        goto out;
    put_record(&b, csv_columns);
    for (size_t k = 0; k < N_META; k++) {
        char key[32];
        const char *v[CSV_COLS] = {NULL};
        snprintf(key, sizeof key, "#%s", meta_keys[k]);
        v[0] = key;
        v[1] = meta_value(doc, k);
        put_record(&b, v);
    }
    for (size_t i = 0; i < doc->n_nodes; i++)
        put_node_record(&b, &doc->nodes[i], paths[i]);
    r = plan_sb_take(&b);
out:
    for (size_t i = 0; paths && i < doc->n_nodes; i++)
        free(paths[i]);
    free(paths);
    free(b.p);
    return r;
}

/* ------------------------------------------------------------------ */
/* CSV in                                                             */
/* ------------------------------------------------------------------ */

#define MAX_CSV_ERRORS 100

struct csv {
    const char *p;
    size_t n, i;
    int line;                /* line of the read position */
    struct plan_doc *doc;
    int oom;
    int errors;
    int stack[4];            /* last node at path depth 1..4 */
    char *stack_path[4];     /* their paths (owned copies) */
    int meta_seen[N_META];
};

/* One record: up to CSV_COLS fields (malloc'd), `count` fields seen. */
struct record {
    char *f[CSV_COLS];
    size_t count;
    int line;
};

static void record_clear(struct record *r)
{
    for (int c = 0; c < CSV_COLS; c++)
        free(r->f[c]);
    memset(r, 0, sizeof *r);
}

static void csv_error(struct csv *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds an error (the first MAX_CSV_ERRORS are listed). */
static void csv_error(struct csv *c, int line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (c->errors++ >= MAX_CSV_ERRORS)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (plan_doc_add_issue(c->doc, line, 1, "%s", msg))
        c->oom = 1;
}

/* 1 when the position is at a comma, LF or CRLF (or the end of input). */
static int at_field_end(const struct csv *c)
{
    const char *p = c->p + c->i;
    size_t left = c->n - c->i;

    return left == 0 || *p == ',' || *p == '\n' || (*p == '\r' && left > 1 && p[1] == '\n');
}

/* Reads one field at the position into a malloc'd string. Returns 0 with
 * *more set when a comma follows (another field of the same record), or
 * -1 on a syntax error or when out of memory. */
static int csv_field(struct csv *c, char **out, int *more)
{
    struct plan_sb v = {NULL, 0, 0, 0};
    int quoted = c->i < c->n && c->p[c->i] == '"', start = c->line;

    c->i += (size_t)quoted;
    while (c->i < c->n) {
        char ch = c->p[c->i];
        if (quoted && ch == '"' && c->i + 1 < c->n && c->p[c->i + 1] == '"') {
            plan_sb_put(&v, "\"", 1);
            c->i += 2;
            continue;
        }
        if (quoted && ch == '"') {
            quoted = 0;
            c->i++;
            if (c->i < c->n && !at_field_end(c)) {
                csv_error(c, c->line, "text after the closing quote of a field");
                goto fail;
            }
            continue;
        }
        if (!quoted && at_field_end(c))
            break;
        if (!quoted && ch == '"') {
            csv_error(c, c->line, "quote inside an unquoted field");
            goto fail;
        }
        c->line += ch == '\n';
        plan_sb_put(&v, &ch, 1);
        c->i++;
    }
    if (quoted) {
        csv_error(c, start, "quoted field is never closed");
        goto fail;
    }
    *more = c->i < c->n && c->p[c->i] == ',';
    c->i += (size_t)*more;
    if (!(*out = plan_sb_take(&v)))
        c->oom = 1;
    return *out ? 0 : -1;
fail:
    free(v.p);
    return -1;
}

/* Reads one record. Returns 1, 0 at the end of the input, -1 on error. */
static int csv_record(struct csv *c, struct record *r)
{
    int more = 1;

    memset(r, 0, sizeof *r);
    if (c->i >= c->n)
        return 0;
    r->line = c->line;
    while (more) {
        char *f = NULL;
        if (csv_field(c, &f, &more))
            return -1;
        if (r->count < CSV_COLS)
            r->f[r->count] = f;
        else
            free(f);
        r->count++;
    }
    if (c->i < c->n && c->p[c->i] == '\r')
        c->i++;
    if (c->i < c->n && c->p[c->i] == '\n') {
        c->i++;
        c->line++;
    }
    return 1;
}

/* A malloc'd copy of field s, NULL when it is empty (or out of memory). */
static char *field_dup(struct csv *c, const char *s)
{
    char *r;

    if (!s || !*s)
        return NULL;
    if (!(r = strdup(s)))
        c->oom = 1;
    return r;
}

/* Stores a metadata record "#key,value". */
static void read_meta(struct csv *c, const struct record *r)
{
    struct plan_doc *doc = c->doc;
    char **slots[N_META] = {&doc->doc_number, &doc->title, &doc->issuer, NULL, &doc->basis};
    const char *v = r->f[1];

    for (size_t k = 0; k < N_META; k++) {
        if (strcmp(r->f[0] + 1, meta_keys[k]) != 0)
            continue;
        if (c->meta_seen[k]++) {
            csv_error(c, r->line, "metadata %s given twice", meta_keys[k]);
        } else if (slots[k]) {
            *slots[k] = field_dup(c, v);
        } else if (*v && !plan_date_is_valid(v)) {
            csv_error(c, r->line, "issued_on \"%.40s\" is not a YYYY-MM-DD date", v);
        } else {
            snprintf(doc->issued_on, sizeof doc->issued_on, "%s", v);
        }
        return;
    }
    csv_error(c, r->line, "unknown metadata record \"%.40s\"", r->f[0]);
}

/* The depth of a path "1.2.3" (its number of parts), or 0 when malformed. */
static int path_depth(const char *path)
{
    int depth = 0, digits = 0;

    for (const char *p = path;; p++) {
        if (*p >= '0' && *p <= '9' && digits < 6) {
            digits++;
        } else if ((*p == '.' || *p == '\0') && digits > 0 && depth < 4) {
            depth++;
            digits = 0;
            if (!*p)
                return depth;
        } else {
            return 0;
        }
    }
}

/* Finds the parent of the record with this path; -1 for a top-level one,
 * -2 (with an error) when the path is bad or its parent is not above. */
static int find_parent(struct csv *c, const struct record *r, int depth)
{
    const char *path = r->f[0];
    size_t up;

    if (depth == 0) {
        csv_error(c, r->line, "path \"%.40s\" is not like 1.2.3 (at most 4 parts)", path);
        return -2;
    }
    if (depth == 1)
        return -1;
    up = (size_t)(strrchr(path, '.') - path);
    if (c->stack[depth - 2] < 0 || strlen(c->stack_path[depth - 2]) != up ||
        strncmp(c->stack_path[depth - 2], path, up) != 0) {
        csv_error(c, r->line, "parent of path %.40s is not on an earlier record", path);
        return -2;
    }
    return c->stack[depth - 2];
}

/* Checks level and outline against the parent; 0 when they fit. */
static int check_shape(struct csv *c, const struct record *r, int parent, int *level)
{
    const char *lv = r->f[1];
    int ok = 1;

    *level = lv[0] >= '1' && lv[0] <= '4' && !lv[1] ? lv[0] - '0' : 0;
    if (!*level) {
        csv_error(c, r->line, "level \"%.10s\" is not 1, 2, 3 or 4", lv);
        return -1;
    }
    if (parent >= 0 && c->doc->nodes[parent].level >= *level) {
        csv_error(c, r->line, "level %d is not below its parent's level %d", *level,
                  c->doc->nodes[parent].level);
        ok = 0;
    }
    if ((*level < 4) != (r->f[2][0] != '\0')) {
        csv_error(c, r->line, "%s", *level < 4 ? "a heading needs an outline" : "a paragraph (level 4) has no outline");
        ok = 0;
    }
    if (*level == 4 && r->f[3][0]) {
        csv_error(c, r->line, "a paragraph (level 4) has no title");
        ok = 0;
    }
    return ok ? 0 : -1;
}

static void free_units(struct plan_unit_ref *u, size_t n)
{
    for (size_t i = 0; u && i < n; i++) {
        free(u[i].name);
        free(u[i].alias);
    }
    free(u);
}

/* Reads leaders, lead unit and cooperating units of record r into n. */
static void read_people(struct csv *c, const struct record *r, struct plan_node *n)
{
    struct plan_unit_ref *lead = NULL, *others = NULL, *all;
    size_t n_lead = 0, n_others = 0;

    if (plan_parse_leaders(r->f[5], strlen(r->f[5]), &n->leaders, &n->n_leaders) ||
        plan_parse_units(r->f[6], strlen(r->f[6]), &lead, &n_lead) ||
        plan_parse_units(r->f[7], strlen(r->f[7]), &others, &n_others)) {
        c->oom = 1;
        goto out;
    }
    if (n_lead > 1)
        csv_error(c, r->line, "lead_unit names %zu units; it takes one", n_lead);
    if (n_lead == 0 && n_others > 0)
        csv_error(c, r->line, "cooperating units without a lead unit");
    if (n_lead + n_others == 0)
        goto out;
    if (!(all = malloc((n_lead + n_others) * sizeof *all))) {
        c->oom = 1;
        goto out;
    }
    if (n_lead)
        memcpy(all, lead, n_lead * sizeof *all);
    if (n_others)
        memcpy(all + n_lead, others, n_others * sizeof *all);
    n->units = all;
    n->n_units = n_lead + n_others;
    n_lead = n_others = 0;      /* the names now belong to n */
out:
    free_units(lead, n_lead);
    free_units(others, n_others);
}

/* Reads due_on, due_text, recurrence and recurrence_text of r into n. */
static void read_schedule(struct csv *c, const struct record *r, struct plan_node *n)
{
    if (r->f[8][0] && !plan_date_is_valid(r->f[8]))
        csv_error(c, r->line, "due_on \"%.40s\" is not a YYYY-MM-DD date", r->f[8]);
    else
        snprintf(n->due_on, sizeof n->due_on, "%s", r->f[8]);
    if (plan_recurrence_from_name(r->f[10], &n->recurrence))
        csv_error(c, r->line, "recurrence \"%.40s\" is not one of monthly, bimonthly, quarterly, semiannual, yearly",
                  r->f[10]);
    n->due_text = field_dup(c, r->f[9]);
    n->recurrence_text = field_dup(c, r->f[11]);
}

/* Remembers node idx as the last one at path depth `depth`. */
static void push_path(struct csv *c, int depth, int idx, const char *path)
{
    for (int d = depth - 1; d < 4; d++) {
        free(c->stack_path[d]);
        c->stack_path[d] = NULL;
        c->stack[d] = -1;
    }
    if (!(c->stack_path[depth - 1] = strdup(path))) {
        c->oom = 1;
        return;
    }
    c->stack[depth - 1] = idx;
}

/* Turns a node record into a node. */
static void read_node(struct csv *c, const struct record *r)
{
    int depth = path_depth(r->f[0]), parent = find_parent(c, r, depth), level, idx;
    struct plan_node *n;

    if (parent == -2 || check_shape(c, r, parent, &level))
        return;
    if (c->doc->n_nodes >= PLAN_MAX_NODES) {
        csv_error(c, r->line, "more than %d nodes", PLAN_MAX_NODES);
        return;
    }
    if ((idx = plan_doc_add_node(c->doc)) < 0) {
        c->oom = 1;
        return;
    }
    n = &c->doc->nodes[idx];
    n->parent = parent;
    n->level = level;
    n->line = r->line;
    n->outline = field_dup(c, r->f[2]);
    n->title = field_dup(c, r->f[3]);
    n->body = field_dup(c, r->f[4]);
    read_people(c, r, n);
    read_schedule(c, r, n);
    push_path(c, depth, idx, r->f[0]);
}

static int is_header(const struct record *r)
{
    if (r->count != CSV_COLS)
        return 0;
    for (int k = 0; k < CSV_COLS; k++)
        if (strcmp(r->f[k], csv_columns[k]) != 0)
            return 0;
    return 1;
}

/* Handles one record after the header. */
static void take_record(struct csv *c, const struct record *r)
{
    if (r->count == 1 && r->f[0][0] == '\0')
        return;                 /* a blank line */
    if (r->count != CSV_COLS)
        csv_error(c, r->line, "record has %zu fields; %d are expected", r->count, CSV_COLS);
    else if (r->f[0][0] == '#')
        read_meta(c, r);
    else
        read_node(c, r);
}

int plan_parse_csv(const char *text, size_t len, struct plan_doc *out)
{
    struct csv c;
    struct record r;
    int got, rc = -1;

    memset(out, 0, sizeof *out);
    memset(&c, 0, sizeof c);
    c.p = text ? text : "";
    c.n = text ? len : 0;
    c.line = 1;
    c.doc = out;
    for (int d = 0; d < 4; d++)
        c.stack[d] = -1;
    if (plan_text_check(c.p, c.n, out))
        goto out;
    if (c.n >= 3 && memcmp(c.p, "\xEF\xBB\xBF", 3) == 0)
        c.i = 3;                /* a byte order mark, as spreadsheets write */
    got = csv_record(&c, &r);
    if (got >= 0 && !is_header(&r)) {
        csv_error(&c, 1, "the first record is not the header %s,%s,...,%s", csv_columns[0],
                  csv_columns[1], csv_columns[CSV_COLS - 1]);
        got = -1;
    }
    while (got > 0 && !c.oom && c.errors <= MAX_CSV_ERRORS) {
        record_clear(&r);
        if ((got = csv_record(&c, &r)) > 0)
            take_record(&c, &r);
    }
    record_clear(&r);
    if (c.errors > MAX_CSV_ERRORS)
        plan_doc_add_issue(out, 0, 1, "%d more errors not listed", c.errors - MAX_CSV_ERRORS);
    rc = c.oom || plan_doc_has_errors(out) ? -1 : 0;
out:
    for (int d = 0; d < 4; d++)
        free(c.stack_path[d]);
    if (c.oom)
        plan_doc_add_issue(out, 0, 1, "out of memory");
    if (rc != 0)
        plan_doc_drop_content(out);
    return rc;
}
