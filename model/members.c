#include "model/members.h"

#include <stdio.h>
#include <string.h>

#include "model/listing.h"
#include "model/resource_def.h"

struct arg {
    const char *key, *value, *value_end;
    size_t key_len;
};

/* The key/value arguments of the call whose '(' is at `open`, as a
 * json_build_object has them: keys are quoted literals. Quotes and nested
 * parentheses are skipped. Returns the number of pairs (at most max). */
static size_t object_args(const char *open, struct arg *args, size_t max)
{
    int depth = 0, quoted = 0;
    size_t n = 0, index = 0;
    const char *start = open + 1;
    for (const char *p = open; *p; p++) {
        if (*p == '\'')
            quoted = !quoted;
        if (quoted || *p == '\'')
            continue;
        if (*p == '(') {
            depth++;
        } else if (depth == 1 && (*p == ',' || *p == ')')) {
            const char *b = start, *e = p;
            while (b < e && (*b == ' ' || *b == '\n'))
                b++;
            while (e > b && (e[-1] == ' ' || e[-1] == '\n'))
                e--;
            if (index % 2 == 0 && n < max) {
                int literal = e - b >= 2 && *b == '\'' && e[-1] == '\'';
                args[n].key = literal ? b + 1 : NULL;
                args[n].key_len = literal ? (size_t)(e - b - 2) : 0;
            } else if (index % 2 == 1 && n < max) {
                args[n].value = b;
                args[n].value_end = e;
                n++;
            }
            index++;
            start = p + 1;
            if (*p == ')')
                break;
        } else if (*p == ')') {
            depth--;
        }
    }
    return n;
}

static const char *find_call(const char *from, const char *to)
{
    static const char call[] = "json_build_object(";
    for (const char *p = from; p && p + sizeof call - 1 <= to; p++)
        if (memcmp(p, call, sizeof call - 1) == 0)
            return p + sizeof call - 2;
    return NULL;
}

static void copy_name(char *dst, const char *src, size_t len)
{
    snprintf(dst, MEMBER_NAME_MAX, "%.*s", (int)(len < MEMBER_NAME_MAX ? len : MEMBER_NAME_MAX - 1), src);
}

/* Fills out with the top-level member names of a json_build_object SQL
 * expression and, for each, the names of the object its value builds. */
static void members_of_sql(const char *json_sql, struct members *out)
{
    struct arg args[MEMBERS_MAX], sub[MEMBERS_MAX];
    const char *open = find_call(json_sql, json_sql + strlen(json_sql));
    size_t n = open ? object_args(open, args, MEMBERS_MAX) : 0, count = 0;
    char (*names)[MEMBER_NAME_MAX] = out->names, (*inner)[MEMBER_INNER_MAX] = out->inner;
    for (size_t i = 0; i < n && count < MEMBERS_MAX; i++) {
        if (!args[i].key)
            continue;
        copy_name(names[count], args[i].key, args[i].key_len);
        inner[count][0] = '\0';
        const char *nested = find_call(args[i].value, args[i].value_end);
        size_t m = nested ? object_args(nested, sub, MEMBERS_MAX) : 0;
        for (size_t j = 0; j < m; j++) {
            size_t used = strlen(inner[count]);
            if (sub[j].key)
                snprintf(inner[count] + used, MEMBER_INNER_MAX - used, "%s%.*s", used ? "," : "", (int)sub[j].key_len, sub[j].key);
        }
        count++;
    }
    out->count = count;
}

void representation_members(const struct resource *r, const struct list_spec *spec, struct members *out)
{
    members_of_sql(r ? r->json : spec->json, out);
    out->of = r ? r->name : "entry";
}
