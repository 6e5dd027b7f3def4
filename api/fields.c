#include "api/fields.h"

#include <stdio.h>
#include <string.h>

#include "api/problem.h"

enum { MEMBERS_MAX = 48 };

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
    snprintf(dst, FIELD_NAME_MAX, "%.*s", (int)(len < FIELD_NAME_MAX ? len : FIELD_NAME_MAX - 1), src);
}

size_t fields_members(const char *json_sql, char names[][FIELD_NAME_MAX], char inner[][512], size_t max)
{
    struct arg args[MEMBERS_MAX], sub[MEMBERS_MAX];
    const char *open = find_call(json_sql, json_sql + strlen(json_sql));
    size_t n = open ? object_args(open, args, MEMBERS_MAX) : 0, count = 0;
    for (size_t i = 0; i < n && count < max; i++) {
        if (!args[i].key)
            continue;
        copy_name(names[count], args[i].key, args[i].key_len);
        inner[count][0] = '\0';
        const char *nested = find_call(args[i].value, args[i].value_end);
        size_t m = nested ? object_args(nested, sub, MEMBERS_MAX) : 0;
        for (size_t j = 0; j < m; j++) {
            size_t used = strlen(inner[count]);
            if (sub[j].key)
                snprintf(inner[count] + used, 512 - used, "%s%.*s", used ? "," : "", (int)sub[j].key_len, sub[j].key);
        }
        count++;
    }
    return count;
}

/* 1 when `name` is one of the comma-separated names of list. */
static int listed(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && strncmp(p, name, n) == 0)
            return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

/* Checks one requested name against the members: 1 when it is one, else
 * 0 with the reason written into why. */
static int pick_ok(const struct fieldpick *pick, const char *resource, char names[][FIELD_NAME_MAX],
                   char inner[][512], size_t count, char *why, size_t size)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(names[i], pick->member) != 0)
            continue;
        if (!pick->inner[0] || listed(inner[i], pick->inner))
            return 1;
        if (inner[i][0])
            snprintf(why, size, "is not a member of the objects of %s (%s)", pick->member, inner[i]);
        else
            snprintf(why, size, "names a member of %s, which has none", pick->member);
        return 0;
    }
    snprintf(why, size, "is not a field of a %s", resource);
    return 0;
}

static void add_error(json_t *errors, const char *given, const char *why)
{
    char message[320];
    snprintf(message, sizeof message, "'%.60s' %.240s", given, why);
    json_array_append_new(errors, json_pack("{s:s, s:s}", "field", "fields", "message", message));
}

int fields_or_reply(const struct _u_request *req, struct _u_response *res, const char *text, const char *json_sql,
                    const char *name, struct fields *out)
{
    out->count = 0;
    if (!text)
        return 0;
    char names[MEMBERS_MAX][FIELD_NAME_MAX], inner[MEMBERS_MAX][512], why[240];
    size_t count = fields_members(json_sql, names, inner, MEMBERS_MAX);
    json_t *errors = json_array();
    for (const char *p = text;; p++) {
        size_t len = strcspn(p, ",");
        char given[128];
        snprintf(given, sizeof given, "%.*s", (int)(len < sizeof given ? len : sizeof given - 1), p);
        const char *dot = strchr(given, '.');
        if (!given[0]) {
            add_error(errors, given, "is not a name: fields takes names separated by commas");
        } else if (out->count == FIELDS_MAX) {
            add_error(errors, given, "is one name too many: fields takes at most 32");
        } else if (len >= FIELD_NAME_MAX || (dot && (dot == given || !dot[1] || strchr(dot + 1, '.')))) {
            snprintf(why, sizeof why, "is not a field of a %s", name);
            add_error(errors, given, why);
        } else {
            struct fieldpick *pick = &out->picks[out->count];
            copy_name(pick->member, given, dot ? (size_t)(dot - given) : strlen(given));
            snprintf(pick->inner, sizeof pick->inner, "%s", dot ? dot + 1 : "");
            if (pick_ok(pick, name, names, inner, count, why, sizeof why))
                out->count++;
            else
                add_error(errors, given, why);
        }
        p += len;
        if (!*p)
            break;
    }
    int bad = json_array_size(errors) > 0;
    if (bad) {
        char detail[400];
        snprintf(detail, sizeof detail, "fields names what a %s does not have: %s", name,
                 json_string_value(json_object_get(json_array_get(errors, 0), "message")));
        reply_problem(req, res, 400, detail, errors);
    }
    json_decref(errors);
    return bad ? -1 : 0;
}

/* The object o with only the members named in the picks of `member`. */
static json_t *pick_inner(const struct fields *f, const char *member, json_t *o)
{
    if (!json_is_object(o))
        return json_incref(o);
    json_t *out = json_object(), *v;
    const char *key;
    json_object_foreach(o, key, v) {
        for (size_t i = 0; i < f->count; i++)
            if (strcmp(f->picks[i].member, member) == 0 && strcmp(f->picks[i].inner, key) == 0) {
                json_object_set(out, key, v);
                break;
            }
    }
    return out;
}

json_t *fields_apply(const struct fields *f, json_t *doc)
{
    if (!f->count || !json_is_object(doc))
        return json_incref(doc);
    json_t *out = json_object(), *v;
    const char *key;
    json_object_foreach(doc, key, v) {
        int whole = 0, part = 0;
        for (size_t i = 0; i < f->count; i++)
            if (strcmp(f->picks[i].member, key) == 0)
                *(f->picks[i].inner[0] ? &part : &whole) = 1;
        if (whole || (part && !json_is_array(v))) {
            json_object_set_new(out, key, whole ? json_incref(v) : pick_inner(f, key, v));
        } else if (part) {
            json_t *list = json_array(), *item;
            size_t i;
            json_array_foreach(v, i, item) json_array_append_new(list, pick_inner(f, key, item));
            json_object_set_new(out, key, list);
        }
    }
    return out;
}
