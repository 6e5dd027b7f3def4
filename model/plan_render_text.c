/* Rendering a plan as document text: the inverse of plan_parse, in the
 * text layout described in model/plan_render.h. */
#include "model/plan_render.h"
#include "model/plan_render_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes n bytes of s as one paragraph: the text and a blank line. */
static void put_para(struct plan_sb *b, const char *s, size_t n)
{
    plan_sb_put(b, s, n);
    plan_sb_puts(b, "\n\n");
}

/* Writes the NUL-terminated s as one paragraph. */
static void put_line(struct plan_sb *b, const char *s)
{
    put_para(b, s, strlen(s));
}

/* Writes the metadata lines, in the layout plan_parse reads them back from
 * (see plan_render.h): the issuer goes above the date, or into a notice
 * line when there is no date; the basis into a closing sentence. */
static void put_preamble(struct plan_sb *b, const struct plan_doc *doc)
{
    char date[64];

    if (doc->doc_number)
        put_line(b, doc->doc_number);
    if (doc->issuer && doc->issued_on[0])
        put_line(b, doc->issuer);
    if (doc->issued_on[0]) {
        snprintf(date, sizeof date, "%d年%d月%d日", atoi(doc->issued_on),
                 atoi(doc->issued_on + 5), atoi(doc->issued_on + 8));
        put_line(b, date);
    } else if (doc->issuer) {
        plan_sb_puts(b, doc->issuer);
        put_line(b, " 印发本方案的通知");
    }
    if (doc->title)
        put_line(b, doc->title);
    if (doc->basis) {
        plan_sb_puts(b, "根据");
        plan_sb_puts(b, doc->basis);
        put_line(b, "，制定本方案。");
    }
}

/* 1 when title holds one 。 and it is the last character, so the body can
 * follow on the heading line and be split off again. */
static int title_ends_sentence(const char *title)
{
    const char *stop = title ? strstr(title, "。") : NULL;
    return stop && stop[3] == '\0';
}

/* Writes the heading line of a level 1-3 node; returns the part of the
 * body not written on it. */
static const char *put_heading(struct plan_sb *b, const struct plan_node *n)
{
    static const char *const after_outline[4] = {"", "、", "", " "};
    const char *body = n->body;

    plan_sb_puts(b, n->outline);
    plan_sb_puts(b, after_outline[n->level]);
    plan_sb_puts(b, n->title);
    if (body && title_ends_sentence(n->title)) {
        size_t k = strcspn(body, "\n");
        plan_sb_put(b, body, k);
        body = body[k] ? body + k + 1 : NULL;
    }
    plan_sb_puts(b, "\n\n");
    return body;
}

/* Writes one node: heading line, body paragraphs, responsibility lines. */
static void put_node(struct plan_sb *b, const struct plan_node *n)
{
    const char *body = n->level <= 3 ? put_heading(b, n) : n->body;

    while (body) {
        size_t k = strcspn(body, "\n");
        if (k)
            put_para(b, body, k);
        body = body[k] ? body + k + 1 : NULL;
    }
    if (n->n_leaders) {
        plan_sb_puts(b, "责任领导：");
        plan_put_leaders(b, n);
        plan_sb_puts(b, "\n\n");
    }
    if (n->n_units) {
        plan_sb_puts(b, "责任单位：");
        plan_put_units(b, n, 0, n->n_units);
        plan_sb_puts(b, "\n\n");
    }
}

char *plan_render_text(const struct plan_doc *doc)
{
    struct plan_sb b = {NULL, 0, 0, 0};

    if (!plan_render_well_formed(doc))
        return NULL;
    put_preamble(&b, doc);
    for (size_t i = 0; i < doc->n_nodes; i++)
        put_node(&b, &doc->nodes[i]);
    if (b.n > 0 && !b.oom)
        b.p[--b.n] = '\0';      /* end with one newline, not a blank line */
    return plan_sb_take(&b);
}
