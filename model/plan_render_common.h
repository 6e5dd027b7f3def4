/* Internal to the plan renderers (model/plan_render_text.c,
 * model/plan_render_csv.c): a growing string and the pieces both layouts
 * write, defined in model/plan_render_common.c. The public interface is
 * model/plan_render.h. */
#ifndef DUBAN_PLAN_RENDER_COMMON_H
#define DUBAN_PLAN_RENDER_COMMON_H

#include <stddef.h>

#include "model/plan_doc.h"

/* A growing NUL-terminated string; start from {NULL, 0, 0, 0}. */
struct plan_sb {
    char *p;                 /* the text (malloc'd), NULL before the first put */
    size_t n, cap;           /* its length and allocated size */
    int oom;                 /* an allocation failed; later puts are ignored */
};

/* Appends n bytes of s, keeping the text NUL-terminated; on allocation
 * failure sets b->oom and ignores everything from then on. */
void plan_sb_put(struct plan_sb *b, const char *s, size_t n);

/* Appends the NUL-terminated s; nothing when s is NULL. */
void plan_sb_puts(struct plan_sb *b, const char *s);

/* The finished string (never NULL unless out of memory; the caller frees
 * it); b is emptied. */
char *plan_sb_take(struct plan_sb *b);

/* 1 when every node's parent comes before it and every level is 1..4. */
int plan_render_well_formed(const struct plan_doc *doc);

/* Writes the leaders of n separated by one space. */
void plan_put_leaders(struct plan_sb *b, const struct plan_node *n);

/* Writes units [from, to) of n separated by 、, an alias as 名称（别名）. */
void plan_put_units(struct plan_sb *b, const struct plan_node *n, size_t from, size_t to);

#endif
