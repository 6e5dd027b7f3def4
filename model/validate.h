/* Checking a JSON document against a resource's fields, reporting every
 * problem at once: unknown fields and wrong JSON types make the whole
 * document malformed (DUBAN_BAD_INPUT, 400), well-typed values that break a
 * rule make it invalid (DUBAN_INVALID, 422). */
#ifndef DUBAN_VALIDATE_H
#define DUBAN_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

#include "model/call.h"
#include "model/dates.h"
#include "model/text.h"

enum field_type {
    FIELD_TEXT,       /* a string of min..max characters */
    FIELD_DATE,       /* "YYYY-MM-DD", a real date (model/dates.h) */
    FIELD_TIMESTAMP,  /* RFC 3339 date-time, e.g. 2026-01-31T08:00:00Z */
    FIELD_INT,        /* an integer in min..max */
    FIELD_ENUM,       /* one of choices */
    FIELD_ID,         /* a positive 64-bit integer */
    FIELD_BOOL,       /* true or false */
    FIELD_ID_LIST,    /* an array of min..max distinct ids */
    FIELD_TEXT_LIST,  /* an array of at most max distinct strings of 1..200 characters */
    FIELD_OBJECT      /* an object whose members are `members`, each optional unless required;
                         errors name them "field.member" */
};

struct field {
    const char *name;
    enum field_type type;
    int required;                 /* present and not null */
    long min, max;
    const char *const *choices;   /* FIELD_ENUM: NULL-terminated */
    const char *column;           /* table column, or NULL when stored otherwise */
    const char *fallback;         /* SQL expression stored when the value is absent, or NULL */
    int transient;                /* not carried from the current state into a merge patch */
    const struct fieldset *members; /* FIELD_OBJECT: its members, each with its own column */
};

struct fieldset {
    const struct field *fields;
    size_t count;
    const char *const *read_only; /* accepted and ignored (a GET sent back), NULL-terminated */
};

/* Checks doc (an object) against set and removes read-only members, so
 * that doc then holds only known fields. Returns DUBAN_OK, DUBAN_BAD_INPUT
 * or DUBAN_INVALID with every problem in c->errors. */
duban_status validate_document(struct call *c, const struct fieldset *set, json_t *doc);

/* The text of a scalar JSON value for a SQL parameter (malloc'd), NULL for
 * null or a missing value. Arrays become PostgreSQL array literals. */
char *sql_text(const json_t *value);

#endif
