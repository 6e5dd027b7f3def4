/* Sparse fieldsets: `?fields=id,title,units.name` on a GET keeps only the
 * members named, a dot reaching into the objects of a member (a task's
 * `units` and `leaders`). The names a resource has are read from its
 * representation itself (the json_build_object of model/, the one place
 * that defines it), so they cannot drift from what is sent. */
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

/* Reads the `fields` parameter (NULL when absent) against the members of
 * the representation `json_sql` of resource `name`. Answers 400 naming
 * every unknown or malformed name and returns -1. */
int fields_or_reply(const struct _u_request *req, struct _u_response *res, const char *text, const char *json_sql,
                    const char *name, struct fields *out);

/* A new object holding only the picked members of doc, in doc's order;
 * with no picks, doc itself with a new reference. */
json_t *fields_apply(const struct fields *f, json_t *doc);

/* The top-level member names of a json_build_object SQL expression, and for
 * each the names of the object its value builds, if any (exported for the
 * unit tests). Returns the number of members written to names (at most
 * max); inner[i] gets the nested names of member i, comma-separated. */
size_t fields_members(const char *json_sql, char names[][FIELD_NAME_MAX], char inner[][512], size_t max);

#endif
