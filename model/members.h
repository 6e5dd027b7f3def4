/* The members a representation has, as the HTTP layer needs them to check
 * a sparse fieldset: read from the representation's own SQL (the one
 * place that defines it), so they cannot drift from what is sent. */
#ifndef DUBAN_MEMBERS_H
#define DUBAN_MEMBERS_H

#include <stddef.h>

enum { MEMBERS_MAX = 48, MEMBER_NAME_MAX = 48, MEMBER_INNER_MAX = 512 };

struct resource;
struct list_spec;

struct members {
    const char *of;                               /* what has them, for messages: "task" */
    size_t count;
    char names[MEMBERS_MAX][MEMBER_NAME_MAX];     /* top-level members, in order */
    char inner[MEMBERS_MAX][MEMBER_INNER_MAX];    /* each one's nested member names, comma-separated, or "" */
};

/* The members of r's representation, or, when r is NULL, of spec's items. */
void representation_members(const struct resource *r, const struct list_spec *spec, struct members *out);

#endif
