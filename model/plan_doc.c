/* Plan documents: building and freeing them, recurrence names, date
 * validation, the input check, and splitting 责任单位 / 责任领导 lists into
 * units and leaders. The rules these follow are described at the top of
 * plan_parser.c. Pure and thread-safe (no globals but constant tables,
 * only libc). */
#include "model/plan_internal.h"

#include "model/dates.h"
#include "model/text.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* The document: building and freeing                                  */
/* ------------------------------------------------------------------ */

/* Makes room for `need` elements of `elem` bytes in *arr, doubling *cap.
 * Returns 0, or -1 (and leaves *arr and *cap alone) when out of memory. */
int plan_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    size_t ncap = *cap ? *cap : 16;
    void *p;

    if (need <= *cap)
        return 0;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem)
        return -1;
    p = realloc(*arr, ncap * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

int plan_doc_add_node(struct plan_doc *doc)
{
    void *arr = doc->nodes;
    struct plan_node *n;

    if (doc->n_nodes >= INT_MAX || plan_grow(&arr, &doc->nodes_cap, doc->n_nodes + 1, sizeof *n))
        return -1;
    doc->nodes = arr;
    n = &doc->nodes[doc->n_nodes];
    memset(n, 0, sizeof *n);
    n->parent = -1;
    n->recurrence = RECUR_NONE;
    return (int)doc->n_nodes++;
}

/* plan_doc_add_issue with a va_list. */
int plan_doc_add_issue_v(struct plan_doc *doc, int line, int is_error, const char *fmt, va_list ap)
{
    char prefix[32] = "";
    va_list copy;
    int plen = 0, mlen;
    char *msg;
    void *arr = doc->issues;

    if (line > 0)
        plen = snprintf(prefix, sizeof prefix, "line %d: ", line);
    va_copy(copy, ap);
    mlen = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (mlen < 0 || plan_grow(&arr, &doc->issues_cap, doc->n_issues + 1, sizeof *doc->issues))
        return -1;
    doc->issues = arr;
    msg = malloc((size_t)plen + (size_t)mlen + 1);
    if (!msg)
        return -1;
    memcpy(msg, prefix, (size_t)plen);
    vsnprintf(msg + plen, (size_t)mlen + 1, fmt, ap);
    doc->issues[doc->n_issues].line = line;
    doc->issues[doc->n_issues].is_error = is_error ? 1 : 0;
    doc->issues[doc->n_issues].message = msg;
    doc->n_issues++;
    return 0;
}

int plan_doc_add_issue(struct plan_doc *doc, int line, int is_error, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = plan_doc_add_issue_v(doc, line, is_error, fmt, ap);
    va_end(ap);
    return rc;
}

int plan_doc_has_errors(const struct plan_doc *doc)
{
    for (size_t i = 0; i < doc->n_issues; i++)
        if (doc->issues[i].is_error)
            return 1;
    return 0;
}

static void free_node(struct plan_node *n)
{
    free(n->outline);
    free(n->title);
    free(n->body);
    for (size_t i = 0; i < n->n_leaders; i++)
        free(n->leaders[i]);
    free(n->leaders);
    for (size_t i = 0; i < n->n_units; i++) {
        free(n->units[i].name);
        free(n->units[i].alias);
    }
    free(n->units);
    free(n->due_text);
    free(n->recurrence_text);
}

/* Frees the tree and the metadata of doc, keeping its issues. */
void plan_doc_drop_content(struct plan_doc *doc)
{
    for (size_t i = 0; i < doc->n_nodes; i++)
        free_node(&doc->nodes[i]);
    free(doc->nodes);
    free(doc->doc_number);
    free(doc->title);
    free(doc->issuer);
    free(doc->basis);
    doc->nodes = NULL;
    doc->n_nodes = doc->nodes_cap = 0;
    doc->doc_number = doc->title = doc->issuer = doc->basis = NULL;
    doc->issued_on[0] = '\0';
}

void plan_doc_free(struct plan_doc *doc)
{
    if (!doc)
        return;
    plan_doc_drop_content(doc);
    for (size_t i = 0; i < doc->n_issues; i++)
        free(doc->issues[i].message);
    free(doc->issues);
    memset(doc, 0, sizeof *doc);
}

static const char *const recurrence_names[] = {
    NULL, "monthly", "bimonthly", "quarterly", "semiannual", "yearly"
};

const char *plan_recurrence_name(enum plan_recurrence r)
{
    if ((unsigned)r >= sizeof recurrence_names / sizeof recurrence_names[0])
        return NULL;
    return recurrence_names[r];
}

int plan_recurrence_from_name(const char *name, enum plan_recurrence *out)
{
    if (!name || !*name) {
        *out = RECUR_NONE;
        return 0;
    }
    for (size_t i = 1; i < sizeof recurrence_names / sizeof recurrence_names[0]; i++) {
        if (strcmp(name, recurrence_names[i]) == 0) {
            *out = (enum plan_recurrence)i;
            return 0;
        }
    }
    return -1;
}

int plan_date_is_valid(const char *s) { return date_valid(s); }

/* ------------------------------------------------------------------ */
/* The input check                                                    */
/* ------------------------------------------------------------------ */

/* The 1-based line of byte offset `off` in text. */
static int line_at(const char *text, size_t off)
{
    const char *p = text, *end = text + off;
    int line = 1;

    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        line += line < INT_MAX;
        p++;
    }
    return line;
}

int plan_text_check(const char *text, size_t len, struct plan_doc *doc)
{
    const unsigned char *s = (const unsigned char *)text;
    int line = 1;

    if (len > PLAN_MAX_INPUT) {
        plan_doc_add_issue(doc, line_at(text, PLAN_MAX_INPUT), 1,
                           "input is %zu bytes; the limit of %zu bytes is passed on this line", len,
                           PLAN_MAX_INPUT);
        return -1;
    }
    for (size_t i = 0; i < len;) {
        size_t k = 1;
        if (s[i] == '\n')
            line++;
        if (s[i] == 0) {
            plan_doc_add_issue(doc, line, 1, "NUL byte at offset %zu; this is not a text document", i);
            return -1;
        }
        if ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && s[i] != '\f') ||
            s[i] == 0x7F) {
            plan_doc_add_issue(doc, line, 1, "control byte 0x%02X at offset %zu", s[i], i);
            return -1;
        }
        if (s[i] >= 0x80 && (k = utf8_sequence(text + i, len - i)) == 0) {
            plan_doc_add_issue(doc, line, 1, "invalid UTF-8 at offset %zu", i);
            return -1;
        }
        i += k;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Units and leaders                                                  */
/* ------------------------------------------------------------------ */

static const char NOTE[] = "列在首位的为牵头单位";

/* Writes s to out without the note 列在首位的为牵头单位 and what belongs to
 * it: an opening bracket just before it, then （下同） or ，下同, the closing
 * bracket, and one 。 or ；. The note is matched on what has been written so
 * far, so a note that a removal splices together is removed as well, in one
 * pass. out has room for s.n + 1 bytes; returns the length written. */
static size_t remove_notes(struct span s, char *out)
{
    static const char *const opens[] = {"（", "(", NULL};
    static const char *const tails[] = {"（下同）", "(下同)", "，下同", ",下同", "、下同", NULL};
    static const char *const closes[] = {"）", ")", NULL};
    static const char *const stops[] = {"。", "；", ".", ";", NULL};
    const size_t note = sizeof NOTE - 1;
    size_t w = 0, i = 0, k;

    while (i < s.n) {
        int bracket = 0;
        out[w++] = s.p[i++];
        if (w < note || memcmp(out + w - note, NOTE, note) != 0)
            continue;
        w -= note;
        if ((k = sp_suffix_of(sp(out, w), opens)) > 0) {
            w -= k;
            bracket = 1;
        }
        i += sp_prefix_of(sp_from(s, i), tails);
        if (bracket)
            i += sp_prefix_of(sp_from(s, i), closes);
        i += sp_prefix_of(sp_from(s, i), stops);
    }
    out[w] = '\0';
    return w;
}

/* A malloc'd copy of s without the note (see remove_notes), or NULL when
 * out of memory. */
static char *strip_note(struct span s)
{
    char *r = malloc(s.n + 1);

    if (r)
        remove_notes(s, r);
    return r;
}

/* 1 when s holds the note and nothing else but blanks; -1 when out of memory. */
int plan_is_note_only(struct span s)
{
    char *rest;
    int only;

    if (sp_find(s, NOTE) == NPOS)
        return 0;
    if (!(rest = strip_note(s)))
        return -1;
    only = sp_trim(sp_str(rest)).n == 0;
    free(rest);
    return only;
}

int plan_is_open_bracket(unsigned c)
{
    return c == 0xFF08 || c == '(' || c == 0x300A || c == 0x3008 || c == 0x201C ||
           c == '[' || c == 0x3010 || c == 0x3014;
}

int plan_is_close_bracket(unsigned c)
{
    return c == 0xFF09 || c == ')' || c == 0x300B || c == 0x3009 || c == 0x201D ||
           c == ']' || c == 0x3011 || c == 0x3015;
}

int plan_is_unit_sep(unsigned c)
{
    return c == 0x3001 || c == 0xFF0C || c == ',';
}

static int is_leader_sep(unsigned c)
{
    return plan_is_unit_sep(c) || is_blank_cp(c);
}

/* What a list item loses at its end: 。 ； . ; and the separators (which
 * can be left inside an unclosed bracket). */
static int is_item_stop(unsigned c)
{
    return c == 0x3002 || c == 0xFF1B || c == '.' || c == ';' || plan_is_unit_sep(c);
}

/* Removes blanks and trailing stops from a list item. */
static struct span clean_item(struct span t)
{
    size_t len;

    t = sp_trim(t);
    while (t.n && is_item_stop(u8_last(t, &len)))
        t = sp_trim(sp(t.p, t.n - len));
    return t;
}

/* 1 when a 责任领导 value names no one (plan_parse_leaders would find no
 * name): once the note is removed, only blanks and stops are left.
 * -1 when out of memory. */
int plan_names_nobody(struct span s)
{
    char *rest = strip_note(s);
    struct span r = sp_str(rest);
    size_t len;
    int nobody = 1;

    if (!rest)
        return -1;
    for (size_t i = 0; i < r.n && nobody; i += len) {
        unsigned c = u8_get(r.p + i, r.n - i, &len);
        nobody = is_blank_cp(c) || is_item_stop(c);
    }
    free(rest);
    return nobody;
}

struct items {
    struct span *v;
    size_t n, cap;
};

/* Appends the cleaned item t to out unless it is empty. 0, or -1 when out
 * of memory. */
static int push_item(struct items *out, struct span t)
{
    void *arr = out->v;

    t = clean_item(t);
    if (!t.n)
        return 0;
    if (plan_grow(&arr, &out->cap, out->n + 1, sizeof *out->v))
        return -1;
    out->v = arr;
    out->v[out->n++] = t;
    return 0;
}

/* Splits s at code points for which is_sep is true, outside brackets, into
 * cleaned non-empty items. Returns 0, or -1 when out of memory. */
static int split_items(struct span s, int (*is_sep)(unsigned), struct items *out)
{
    size_t start = 0, len;
    int depth = 0;

    for (size_t i = 0; i < s.n; i += len) {
        unsigned c = u8_get(s.p + i, s.n - i, &len);
        depth += plan_is_open_bracket(c) ? 1 : plan_is_close_bracket(c) && depth > 0 ? -1 : 0;
        if (depth > 0 || !is_sep(c))
            continue;
        if (push_item(out, sp(s.p + start, i - start)))
            return -1;
        start = i + len;
    }
    return push_item(out, sp_from(s, start));
}

static const char *const alias_prefixes[] = {
    "区", "市", "省", "县", "镇", "乡", "街道", "国家", "中共", "中央", "工委", "管委", "团", NULL
};
static const char *const alias_suffixes[] = {
    "局", "办", "委", "会", "院", "厅", "中心", "部", "署", "所", "站", "队", "社", "处", "室",
    "公司", "集团", "联", "团", "行", "馆", "台", NULL
};

/* 1 when s looks like a complete unit name of its own (see the alias rule). */
static int is_unit_name(struct span s)
{
    size_t pre = sp_prefix_of(s, alias_prefixes), suf = sp_suffix_of(s, alias_suffixes);
    size_t len;

    if (!pre || !suf || s.n < pre + suf)
        return 0;
    for (size_t i = 0; i < s.n; i += len) {
        unsigned c = u8_get(s.p + i, s.n - i, &len);
        if (plan_is_open_bracket(c) || plan_is_close_bracket(c) || is_leader_sep(c))
            return 0;
    }
    return 1;
}

/* Splits item t by the alias rule into *name and *alias; alias->n is 0
 * when t has no alias. */
static void split_alias(struct span t, struct span *name, struct span *alias)
{
    size_t len, open = NPOS, open_len = 0, close_len;
    int depth = 0;
    unsigned last = u8_last(t, &close_len);

    *name = t;
    *alias = sp(t.p, 0);
    if (last != 0xFF09 && last != ')')
        return;
    for (size_t i = 0; i < t.n; i += len) {
        unsigned c = u8_get(t.p + i, t.n - i, &len);
        if ((c == 0xFF08 || c == '(') && depth++ == 0) {
            open = i;
            open_len = len;
        } else if ((c == 0xFF09 || c == ')') && depth > 0) {
            depth--;
        }
    }
    if (depth != 0 || open == NPOS || sp_trim(sp(t.p, open)).n == 0)
        return;
    *alias = sp(t.p + open + open_len, t.n - close_len - open - open_len);
    if (!is_unit_name(*alias)) {
        *alias = sp(t.p, 0);
        return;
    }
    *name = sp_trim(sp(t.p, open));
}

/* Fills u from item t. Returns 0, or -1 when out of memory. */
static int unit_from_item(struct span t, struct plan_unit_ref *u)
{
    struct span name, alias;

    split_alias(t, &name, &alias);
    u->name = sp_dup(name);
    u->alias = alias.n ? sp_dup(alias) : NULL;
    if (!u->name || (alias.n && !u->alias)) {
        free(u->name);
        free(u->alias);
        u->name = u->alias = NULL;
        return -1;
    }
    return 0;
}

int plan_parse_units(const char *text, size_t len, struct plan_unit_ref **out, size_t *n)
{
    struct items it = {NULL, 0, 0};
    struct plan_unit_ref *units = NULL;
    char *clean = strip_note(sp(text ? text : "", text ? len : 0));
    size_t done = 0;
    int rc = -1;

    *out = NULL;
    *n = 0;
    if (!clean || split_items(sp_str(clean), plan_is_unit_sep, &it))
        goto out;
    if (it.n && !(units = calloc(it.n, sizeof *units)))
        goto out;
    for (; done < it.n; done++)
        if (unit_from_item(it.v[done], &units[done]))
            goto out;
    *out = units;
    *n = it.n;
    units = NULL;
    rc = 0;
out:
    for (size_t i = 0; units && i < done; i++) {
        free(units[i].name);
        free(units[i].alias);
    }
    free(units);
    free(it.v);
    free(clean);
    return rc;
}

int plan_parse_leaders(const char *text, size_t len, char ***out, size_t *n)
{
    struct items it = {NULL, 0, 0};
    char **names = NULL;
    char *clean = strip_note(sp(text ? text : "", text ? len : 0));
    size_t done = 0;
    int rc = -1;

    *out = NULL;
    *n = 0;
    if (!clean || split_items(sp_str(clean), is_leader_sep, &it))
        goto out;
    if (it.n && !(names = calloc(it.n, sizeof *names)))
        goto out;
    for (; done < it.n; done++)
        if (!(names[done] = sp_dup(it.v[done])))
            goto out;
    *out = names;
    *n = it.n;
    names = NULL;
    rc = 0;
out:
    for (size_t i = 0; names && i < done; i++)
        free(names[i]);
    free(names);
    free(it.v);
    free(clean);
    return rc;
}
