#include "model/validate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct field *find_field(const struct fieldset *set, const char *name)
{
    for (size_t i = 0; i < set->count; i++)
        if (strcmp(set->fields[i].name, name) == 0)
            return &set->fields[i];
    return NULL;
}

static int is_read_only(const struct fieldset *set, const char *name)
{
    for (const char *const *p = set->read_only; p && *p; p++)
        if (strcmp(*p, name) == 0)
            return 1;
    return 0;
}

static int json_type_ok(const struct field *f, const json_t *v)
{
    switch (f->type) {
    case FIELD_TEXT:
    case FIELD_DATE:
    case FIELD_TIMESTAMP:
    case FIELD_ENUM:
        return json_is_string(v);
    case FIELD_INT:
    case FIELD_ID:
        return json_is_integer(v);
    case FIELD_BOOL:
        return json_is_boolean(v);
    case FIELD_ID_LIST:
    case FIELD_TEXT_LIST:
        return json_is_array(v);
    case FIELD_OBJECT:
        return json_is_object(v);
    }
    return 0;
}

static const char *type_name(enum field_type t)
{
    switch (t) {
    case FIELD_INT: return "an integer";
    case FIELD_ID: return "an integer id";
    case FIELD_BOOL: return "true or false";
    case FIELD_ID_LIST: return "an array of integer ids";
    case FIELD_TEXT_LIST: return "an array of strings";
    case FIELD_OBJECT: return "an object";
    default: return "a string";
    }
}

/* Checks the items of a list field (named `name` in errors); 0 when the
 * types are right (values may still be reported invalid), -1 on a wrongly
 * typed item. */
static int check_list(struct call *c, const struct field *f, const char *name, const json_t *list)
{
    size_t i, j, n = json_array_size(list);
    json_t *item;
    json_array_foreach(list, i, item) {
        int typed = f->type == FIELD_ID_LIST ? json_is_integer(item) : json_is_string(item);
        if (!typed) {
            call_field_error(c, name, "item %zu must be %s", i, f->type == FIELD_ID_LIST ? "an integer" : "a string");
            return -1;
        }
        if (f->type == FIELD_ID_LIST && json_integer_value(item) <= 0)
            call_field_error(c, name, "item %zu must be a positive id", i);
        if (f->type == FIELD_TEXT_LIST && (utf8_length(json_string_value(item)) < 1 || utf8_length(json_string_value(item)) > 200))
            call_field_error(c, name, "item %zu must have 1 to 200 characters", i);
        for (j = 0; j < i; j++)
            if (json_equal(item, json_array_get(list, j))) {
                call_field_error(c, name, "item %zu repeats item %zu", i, j);
                break;
            }
    }
    if ((long)n < f->min || (long)n > f->max)
        call_field_error(c, name, "must have %ld to %ld items", f->min, f->max);
    return 0;
}

/* Checks one well-typed, non-null value against its field's rule. */
static void check_value(struct call *c, const struct field *f, const char *name, const json_t *v)
{
    const char *s = json_string_value(v);
    json_int_t i = json_integer_value(v);
    size_t len;
    switch (f->type) {
    case FIELD_TEXT:
        len = utf8_length(s);
        if ((long)len < f->min || (long)len > f->max)
            call_field_error(c, name, "must have %ld to %ld characters", f->min, f->max);
        break;
    case FIELD_DATE:
        if (!date_valid(s))
            call_field_error(c, name, "must be " DATE_RULE);
        break;
    case FIELD_TIMESTAMP:
        if (!timestamp_valid(s))
            call_field_error(c, name, "must be an RFC 3339 date-time such as 2027-01-31T08:00:00Z");
        break;
    case FIELD_INT:
        if (i < f->min || i > f->max)
            call_field_error(c, name, "must be from %ld to %ld", f->min, f->max);
        break;
    case FIELD_ID:
        if (i <= 0)
            call_field_error(c, name, "must be a positive id");
        break;
    case FIELD_ENUM: {
        int found = 0;
        char allowed[256] = "";
        for (const char *const *p = f->choices; *p; p++) {
            found |= strcmp(*p, s) == 0;
            snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s%s", p == f->choices ? "" : ", ", *p);
        }
        if (!found)
            call_field_error(c, name, "must be one of: %s", allowed);
        break;
    }
    case FIELD_BOOL:
    case FIELD_ID_LIST:
    case FIELD_TEXT_LIST:
    case FIELD_OBJECT:
        break;
    }
}

/* Checks the members of doc against set, naming each in errors with
 * `prefix` before it ("" at the top, "supervision." inside a member);
 * read-only members are dropped. Returns 1 when some member is unknown or
 * of the wrong JSON type, else 0; every problem goes to c->errors. */
static int check_members(struct call *c, const struct fieldset *set, json_t *doc, const char *prefix)
{
    int malformed = 0;
    const char *key;
    json_t *value, *tmp;
    char name[160];
    json_object_foreach_safe(doc, tmp, key, value) {
        const struct field *f = find_field(set, key);
        snprintf(name, sizeof name, "%s%s", prefix, key);
        if (!f) {
            if (is_read_only(set, key)) {
                json_object_del(doc, key);
            } else {
                call_field_error(c, name, "is not a field of this resource");
                malformed = 1;
            }
            continue;
        }
        if (json_is_null(value))
            continue;
        if (!json_type_ok(f, value)) {
            call_field_error(c, name, "must be %s", type_name(f->type));
            malformed = 1;
        } else if (f->type == FIELD_ID_LIST || f->type == FIELD_TEXT_LIST) {
            malformed |= check_list(c, f, name, value) != 0;
        } else if (f->type == FIELD_OBJECT) {
            char inner[sizeof name + 1];
            snprintf(inner, sizeof inner, "%s.", name);
            malformed |= check_members(c, f->members, value, inner);
        } else {
            check_value(c, f, name, value);
        }
    }
    for (size_t i = 0; i < set->count; i++) {
        const json_t *v = json_object_get(doc, set->fields[i].name);
        snprintf(name, sizeof name, "%s%s", prefix, set->fields[i].name);
        if (set->fields[i].required && (!v || json_is_null(v)))
            call_field_error(c, name, "is required");
    }
    return malformed;
}

duban_status validate_document(struct call *c, const struct fieldset *set, json_t *doc)
{
    int malformed = check_members(c, set, doc, "");
    return call_errors_status(c, malformed ? DUBAN_BAD_INPUT : DUBAN_INVALID);
}

/* Appends s to a PostgreSQL array literal, quoted and escaped. */
static void append_array_item(char **buf, size_t *len, const char *s)
{
    size_t need = *len + 2 * strlen(s) + 4;
    *buf = realloc(*buf, need);
    char *p = *buf + *len;
    if (*len > 1)
        *p++ = ',';
    *p++ = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    *p++ = '"';
    *p = '\0';
    *len = (size_t)(p - *buf);
}

char *sql_text(const json_t *value)
{
    char buf[32];
    if (!value || json_is_null(value))
        return NULL;
    if (json_is_string(value))
        return strdup(json_string_value(value));
    if (json_is_integer(value)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        return strdup(buf);
    }
    if (json_is_boolean(value))
        return strdup(json_is_true(value) ? "true" : "false");
    if (!json_is_array(value))
        return NULL;
    size_t len = 1, i;
    char *out = strdup("{");
    json_t *item;
    json_array_foreach(value, i, item) {
        char *text = sql_text(item);
        append_array_item(&out, &len, text ? text : "");
        free(text);
    }
    out = realloc(out, len + 2);
    strcpy(out + len, "}");
    return out;
}
