/* What model/plan_render_text.c and model/plan_render_csv.c share: a
 * growing string, the check that a document can be rendered, and how both
 * layouts write leaders and units. Declared in model/plan_render_common.h. */
#include "model/plan_render_common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* A growing string                                                   */
/* ------------------------------------------------------------------ */

/* Appends n bytes of s, keeping the text NUL-terminated; on allocation
 * failure sets b->oom and ignores everything from then on. */
void plan_sb_put(struct plan_sb *b, const char *s, size_t n)
{
    size_t cap = b->cap ? b->cap : 256;
    char *p;

    if (b->oom)
        return;
    if (n > SIZE_MAX / 4 - b->n) {
        b->oom = 1;
        return;
    }
    while (cap < b->n + n + 1)
        cap *= 2;
    if (cap != b->cap) {
        if (!(p = realloc(b->p, cap))) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

/* Appends the NUL-terminated s; nothing when s is NULL. */
void plan_sb_puts(struct plan_sb *b, const char *s)
{
    if (s)
        plan_sb_put(b, s, strlen(s));
}

/* The finished string (never NULL unless out of memory); b is emptied. */
char *plan_sb_take(struct plan_sb *b)
{
    char *r;

    plan_sb_put(b, "", 0);      /* allocates an empty string if nothing was put */
    r = b->oom ? NULL : b->p;
    if (b->oom)
        free(b->p);
    memset(b, 0, sizeof *b);
    return r;
}

/* ------------------------------------------------------------------ */
/* Shared pieces                                                      */
/* ------------------------------------------------------------------ */

/* 1 when every node's parent comes before it and every level is 1..4. */
int plan_render_well_formed(const struct plan_doc *doc)
{
    for (size_t i = 0; i < doc->n_nodes; i++) {
        const struct plan_node *n = &doc->nodes[i];
        if (n->parent < -1 || (n->parent >= 0 && (size_t)n->parent >= i) || n->level < 1 ||
            n->level > 4)
            return 0;
    }
    return 1;
}

/* Writes the leaders of n separated by one space. */
void plan_put_leaders(struct plan_sb *b, const struct plan_node *n)
{
    for (size_t i = 0; i < n->n_leaders; i++) {
        plan_sb_puts(b, i ? " " : "");
        plan_sb_puts(b, n->leaders[i]);
    }
}

/* Writes units [from, to) of n separated by 、, an alias as 名称（别名）. */
void plan_put_units(struct plan_sb *b, const struct plan_node *n, size_t from, size_t to)
{
    for (size_t i = from; i < to && i < n->n_units; i++) {
        plan_sb_puts(b, i > from ? "、" : "");
        plan_sb_puts(b, n->units[i].name);
        if (n->units[i].alias) {
            plan_sb_puts(b, "（");
            plan_sb_puts(b, n->units[i].alias);
            plan_sb_puts(b, "）");
        }
    }
}
