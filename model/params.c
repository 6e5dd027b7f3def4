#include "model/params.h"

#include <string.h>

const char *params_get(const struct param_list *p, const char *name)
{
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->items[i].name, name) == 0)
            return p->items[i].value;
    return NULL;
}
