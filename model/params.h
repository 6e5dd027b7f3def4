/* Name/value pairs from the outside world (a query string), handed to the
 * model without any trace of where they came from. */
#ifndef DUBAN_PARAMS_H
#define DUBAN_PARAMS_H

#include <stddef.h>

struct param {
    const char *name;
    const char *value;
};

struct param_list {
    struct param items[32];
    size_t count;
    int truncated;        /* more than fit in items */
};

/* The value of name, or NULL. */
const char *params_get(const struct param_list *p, const char *name);

#endif
