#include "api/fields.h"

#include <stdio.h>
#include <string.h>

#include "api/problem.h"
#include "model/members.h"

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
static int pick_ok(const struct fieldpick *pick, const struct members *m, char *why, size_t size)
{
    for (size_t i = 0; i < m->count; i++) {
        if (strcmp(m->names[i], pick->member) != 0)
            continue;
        if (!pick->inner[0] || listed(m->inner[i], pick->inner))
            return 1;
        if (m->inner[i][0])
            snprintf(why, size, "is not a member of the objects of %s (%s)", pick->member, m->inner[i]);
        else
            snprintf(why, size, "names a member of %s, which has none", pick->member);
        return 0;
    }
    snprintf(why, size, "is not a field of a %s", m->of);
    return 0;
}

static void add_error(json_t *errors, const char *given, const char *why)
{
    char message[320];
    snprintf(message, sizeof message, "'%.60s' %.240s", given, why);
    json_array_append_new(errors, json_pack("{s:s, s:s}", "field", "fields", "message", message));
}

int fields_or_reply(const struct _u_request *req, struct _u_response *res, const char *text,
                    const struct resource *r, const struct list_spec *spec, struct fields *out)
{
    out->count = 0;
    if (!text)
        return 0;
    struct members m;
    representation_members(r, spec, &m);
    const char *name = m.of;
    char why[240];
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
            size_t member_len = dot ? (size_t)(dot - given) : strlen(given);
            snprintf(pick->member, sizeof pick->member, "%.*s", (int)member_len, given);
            snprintf(pick->inner, sizeof pick->inner, "%s", dot ? dot + 1 : "");
            if (pick_ok(pick, &m, why, sizeof why))
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
