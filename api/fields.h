/* Sparse fieldsets: `?fields=id,title,units.name` on a GET keeps only the
 * members named, a dot reaching into the objects of a member (a task's
 * `units` and `leaders`), checked against the members model/ says the
 * representation has. */
#ifndef DUBAN_FIELDS_H
#define DUBAN_FIELDS_H

#include <jansson.h>
#include <ulfius.h>

enum { FIELDS_MAX = 32, FIELD_NAME_MAX = 48 };

struct fieldpick {
    char member[FIELD_NAME_MAX];
    char inner[FIELD_NAME_MAX];   /* "" for the whole member */
};

struct fields {
    size_t count;                 /* 0: no fields parameter, everything is sent */
    struct fieldpick picks[FIELDS_MAX];
};

struct resource;
struct list_spec;

/* Reads the `fields` parameter (NULL when absent) against the members of
 * the representation of r (or, when r is NULL, of the list's items).
 * Answers 400 naming every unknown or malformed name and returns -1. */
int fields_or_reply(const struct _u_request *req, struct _u_response *res, const char *text,
                    const struct resource *r, const struct list_spec *spec, struct fields *out);

/* A new object holding only the picked members of doc, in doc's order;
 * with no picks, doc itself with a new reference. */
json_t *fields_apply(const struct fields *f, json_t *doc);

#endif
