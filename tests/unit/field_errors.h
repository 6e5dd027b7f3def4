/* For the unit tests: what a call recorded about one field. */
#ifndef DUBAN_TEST_FIELD_ERRORS_H
#define DUBAN_TEST_FIELD_ERRORS_H

#include <string.h>

#include "model/call.h"

/* The message for field in c's errors, or NULL. */
static inline const char *error_for(const struct call *c, const char *field)
{
    size_t i;
    json_t *e;
    json_array_foreach(c->errors, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "field")), field) == 0)
            return json_string_value(json_object_get(e, "message"));
    }
    return NULL;
}

#endif
