#include "model/call.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model/text.h"

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

/* Formats into out as vsnprintf does, then makes the text valid UTF-8:
 * a character cut by the size limit is dropped, a byte that is not UTF-8
 * becomes \xHH. */
static void format_safe(char *out, size_t size, const char *fmt, va_list ap)
{
    char raw[512];
    if (vsnprintf(raw, sizeof raw, fmt, ap) >= (int)sizeof raw) {
        size_t len = strlen(raw), last = len;
        while (last > 0 && len - last < 4 && ((unsigned char)raw[last - 1] & 0xC0) == 0x80)
            last--;
        if (last > 0 && utf8_sequence(raw + last - 1, len - last + 1) != len - last + 1)
            raw[last - 1] = '\0';
    }
    text_sanitize(out, size, raw);
}

duban_status call_fail(struct call *c, duban_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    format_safe(c->detail, sizeof c->detail, fmt, ap);
    va_end(ap);
    return status;
}

void call_field_error(struct call *c, const char *field, const char *fmt, ...)
{
    char message[256], name[160];
    va_list ap;
    va_start(ap, fmt);
    format_safe(message, sizeof message, fmt, ap);
    va_end(ap);
    text_sanitize(name, sizeof name, field ? field : "");
    if (!c->errors)
        c->errors = json_array();
    json_t *error = json_object();
    json_object_set_new(error, "field", json_string(name));
    json_object_set_new(error, "message", json_string(message));
    json_array_append_new(c->errors, error);
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
