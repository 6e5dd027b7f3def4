#include "model/call.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void call_init(struct call *c, struct db *db)
{
    memset(c, 0, sizeof *c);
    c->db = db;
}

void call_clear(struct call *c)
{
    json_decref(c->errors);
    c->errors = NULL;
}

duban_status call_fail(struct call *c, duban_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof c->detail, fmt, ap);
    va_end(ap);
    return status;
}

void call_field_error(struct call *c, const char *field, const char *fmt, ...)
{
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (!c->errors)
        c->errors = json_array();
    json_array_append_new(c->errors, json_pack("{s:s,s:s}", "field", field, "message", message));
}

duban_status call_errors_status(struct call *c, duban_status status)
{
    if (!c->errors || json_array_size(c->errors) == 0)
        return DUBAN_OK;
    if (!c->detail[0])
        snprintf(c->detail, sizeof c->detail, "%zu field(s) are not valid",
                 json_array_size(c->errors));
    return status;
}
