#include "api/crud.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/answer.h"
#include "api/app.h"
#include "api/exchange.h"
#include "api/fields.h"
#include "api/posting.h"
#include "api/problem.h"
#include "api/request.h"
#include "api/router.h"
#include "model/text.h"

/* Removes parameter `name` from q; returns its value, NULL when absent. */
static const char *take_param(struct param_list *q, const char *name)
{
    for (size_t i = 0; i < q->count; i++) {
        if (strcmp(q->items[i].name, name) != 0)
            continue;
        const char *value = q->items[i].value ? q->items[i].value : "";
        memmove(&q->items[i], &q->items[i + 1], (q->count - i - 1) * sizeof q->items[0]);
        q->count--;
        return value;
    }
    return NULL;
}

/* 1 when If-None-Match is "*" or lists `tag` (weak comparison: W/ aside). */
static int tag_listed(const struct _u_request *req, const char *tag)
{
    const char *value = header(req, "If-None-Match");
    const char *want = strncmp(tag, "W/", 2) == 0 ? tag + 2 : tag;
    size_t len = strlen(want);
    for (const char *p = value; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        size_t n = strcspn(p, ", \t");
        if (n == len && strncmp(p, want, n) == 0)
            return 1;
        p += n;
    }
    return 0;
}

/* Answers a list's envelope text with only the picked fields of each item. */
static int reply_sparse_list(struct _u_response *res, const char *text, const struct fields *f)
{
    json_t *envelope = json_loads(text, 0, NULL), *items = json_object_get(envelope, "items"), *item;
    size_t i;
    json_array_foreach(items, i, item) json_array_set_new(items, i, fields_apply(f, item));
    int rc = envelope ? reply_json(res, 200, envelope) : reply_text(res, 200, text, strlen(text), "application/json");
    json_decref(envelope);
    return rc;
}

/* Appends name=value to a query string, percent-encoding the value. */
static void append_param(char *buf, size_t size, const char *name, const char *value)
{
    size_t len = strlen(buf);
    len += (size_t)snprintf(buf + len, size > len ? size - len : 0, "%s%s=", len ? "&" : "", name);
    for (const unsigned char *p = (const unsigned char *)value; *p && len + 4 < size; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-._~,", *p))
            buf[len++] = (char)*p;
        else
            len += (size_t)snprintf(buf + len, size - len, "%%%02X", *p);
    }
    buf[len < size ? len : size - 1] = '\0';
}

/* The URL of the same list at another place: `name` (offset or after)
 * set to value. */
static void page_url(char *buf, size_t size, const struct _u_request *req, const struct param_list *q,
                     const char *name, const char *value)
{
    char query[4096] = "";
    for (size_t i = 0; i < q->count; i++)
        if (strcmp(q->items[i].name, "offset") != 0 && strcmp(q->items[i].name, "after") != 0)
            append_param(query, sizeof query, q->items[i].name, q->items[i].value ? q->items[i].value : "");
    append_param(query, sizeof query, name, value);
    snprintf(buf, size, "%s?%s", req->url_path, query);
}

/* Sets the Link header with rel="next" and rel="prev" where they exist: a
 * page asked with a cursor links to the next by cursor (and has no prev),
 * else by offset. */
static void set_links(struct _u_response *res, const struct _u_request *req, const struct param_list *q,
                      const struct list_page *page)
{
    long limit = page->limit, offset = page->offset;
    char link[6400] = "", url[4400], number[24];
    if (page->has_next && page->keyset && page->next_after[0]) {
        page_url(url, sizeof url, req, q, "after", page->next_after);
        snprintf(link, sizeof link, "<%s>; rel=\"next\"", url);
    } else if (page->has_next && !page->keyset) {
        snprintf(number, sizeof number, "%ld", offset + limit);
        page_url(url, sizeof url, req, q, "offset", number);
        snprintf(link, sizeof link, "<%s>; rel=\"next\"", url);
    }
    if (offset > 0) {
        snprintf(number, sizeof number, "%ld", offset > limit ? offset - limit : 0);
        page_url(url, sizeof url, req, q, "offset", number);
        size_t len = strlen(link);
        snprintf(link + len, sizeof link - len, "%s<%s>; rel=\"prev\"", len ? ", " : "", url);
    }
    if (link[0])
        ulfius_add_header_to_response(res, "Link", link);
}

/* LIST_NO_TOTAL when the request prefers count=none. */
static unsigned list_preferences(const struct _u_request *req)
{
    return prefers(req, "count", "none") ? LIST_NO_TOTAL : 0;
}

int cb_crud_list(const struct _u_request *req, struct _u_response *res, void *route_ctx)
{
    struct app *app = ((struct route_ctx *)route_ctx)->app;
    const struct crud *t = ((struct route_ctx *)route_ctx)->target;
    const struct list_spec *spec = t->list;
    const struct parent_ref *parent = t->parent;
    struct param_list q;
    if (query_or_reply(req, res, &q) != 0)
        return U_CALLBACK_COMPLETE;
    struct list_scope scope;
    if (parent) {
        if (path_id_or_reply(req, res, &scope.id) != 0)
            return U_CALLBACK_COMPLETE;
        scope.param = parent->param;
        scope.table = parent->table;
        scope.name = parent->name;
    }
    struct param_list rows = q;   /* q as the model reads it; links keep fields */
    struct fields f;
    if (fields_or_reply(req, res, take_param(&rows, "fields"), t->resource, spec, &f) != 0)
        return U_CALLBACK_COMPLETE;
    struct call c;
    call_for_request(&c, res, app);
    char *text = NULL;
    struct list_page page;
    const struct list_scope *within = parent ? &scope : NULL;
    unsigned flags = list_preferences(req);
    /* A revalidation compares the client's tag with the list's: the one
     * remembered since no write, else the tag alone asked of the database.
     * A current copy renders no item; only a stale one costs the page. */
    int current = 0;
    duban_status s = DUBAN_OK;
    if (header(req, "If-None-Match")) {
        if (!list_known_tag(&c, spec, &rows, within, flags, page.tag))
            s = list_run_text(&c, spec, &rows, within, flags | LIST_TAG_ONLY, &text, &page);
        current = s == DUBAN_OK && tag_listed(req, page.tag);
    }
    if (s == DUBAN_OK && !current)
        s = list_run_text(&c, spec, &rows, within, flags, &text, &page);
    int rc;
    if (s != DUBAN_OK) {
        rc = reply_failure(req, res, &c, s);
    } else {
        ulfius_add_header_to_response(res, "ETag", page.tag);
        if (flags & LIST_NO_TOTAL)
            ulfius_add_header_to_response(res, "Preference-Applied", "count=none");
        if (current) {
            rc = reply_empty(res, 304);
        } else {
            set_links(res, req, &q, &page);
            rc = f.count ? reply_sparse_list(res, text, &f)
                         : reply_text(res, 200, text, strlen(text), "application/json");
        }
    }
    free(text);
    call_clear(&c);
    return rc;
}

/* Answers an item's text: as the database wrote it, or parsed and cut to
 * the picked fields when fields= asks for some. */
static int reply_item(struct _u_response *res, const char *text, const struct fields *f)
{
    if (!f->count)
        return reply_text(res, 200, text, strlen(text), "application/json");
    json_t *doc = json_loads(text, 0, NULL), *sparse = fields_apply(f, doc);
    int rc = sparse ? reply_json(res, 200, sparse) : reply_text(res, 200, text, strlen(text), "application/json");
    json_decref(sparse);
    json_decref(doc);
    return rc;
}

int cb_crud_get(const struct _u_request *req, struct _u_response *res, void *route_ctx)
{
    struct app *app = ((struct route_ctx *)route_ctx)->app;
    const struct resource *r = ((const struct crud *)((struct route_ctx *)route_ctx)->target)->resource;
    int64_t id;
    static const char *const fields_only[] = {"fields", NULL};
    struct param_list q;
    struct fields f;
    if (path_id_or_reply(req, res, &id) != 0 || known_query_or_reply(req, res, fields_only, &q) != 0 ||
        fields_or_reply(req, res, params_get(&q, "fields"), r, NULL, &f) != 0)
        return U_CALLBACK_COMPLETE;
    struct call c;
    call_for_request(&c, res, app);
    char *text = NULL;
    int64_t version;
    /* a revalidation reads the version alone first: a current copy costs
     * no representation (a task's is computed for today at every read) */
    int conditional = header(req, "If-None-Match") != NULL;
    duban_status s = conditional ? resource_get_text(&c, r, id, NULL, &version) : DUBAN_OK;
    int current = s == DUBAN_OK && conditional && if_none_match(req, version);
    if (s == DUBAN_OK && !current)
        s = resource_get_text(&c, r, id, &text, &version);
    if (s != DUBAN_OK)
        return reply_call(req, res, &c, s, NULL, 200, 0);
    call_clear(&c);
    set_version_etag(res, version);   /* the version, whatever the fields */
    int rc = current ? reply_empty(res, 304) : reply_item(res, text, &f);
    free(text);
    return rc;
}

/* Puts the parent's id from the path into the body; a body naming another
 * parent is refused. */
static int adopt_parent_or_reply(const struct _u_request *req, struct _u_response *res,
                                 const struct parent_ref *parent, json_t *body)
{
    int64_t id;
    if (path_id_or_reply(req, res, &id) != 0)
        return -1;
    json_t *given = json_object_get(body, parent->param);
    if (given && !(json_is_integer(given) && json_integer_value(given) == id)) {
        char detail[160];
        snprintf(detail, sizeof detail, "%s is given by the path; leave it out of the body", parent->param);
        reply_problem(req, res, 422, detail, NULL);
        return -1;
    }
    json_object_set_new(body, parent->param, json_integer(id));
    return 0;
}

/* A create's input: the resource and the client's document. */
struct creation {
    const struct resource *resource;
    json_t *body;
};

static duban_status run_create(struct call *c, const void *input, const struct idempotency *idem, struct created *out)
{
    const struct creation *in = input;
    return resource_create(c, in->resource, in->body, idem, out);
}

int cb_crud_create(const struct _u_request *req, struct _u_response *res, void *route_ctx)
{
    struct app *app = ((struct route_ctx *)route_ctx)->app;
    const struct crud *t = ((struct route_ctx *)route_ctx)->target;
    json_t *body;
    if (known_query_or_reply(req, res, NULL, NULL) != 0 || json_body_or_reply(req, res, 0, &body) != 0)
        return U_CALLBACK_COMPLETE;
    int rc = U_CALLBACK_COMPLETE;
    if (!t->parent || adopt_parent_or_reply(req, res, t->parent, body) == 0) {
        struct creation in = {t->resource, body};
        struct post post = {.run = run_create, .input = &in, .status = 201, .items = t->items,
                            .flags = ANSWER_VERSIONED | preferred_return(req)};
        rc = post_and_reply(req, res, app, &post);
    }
    json_decref(body);
    return rc;
}

/* PUT and PATCH: the body, the If-Match version, then the change. */
static int change(const struct _u_request *req, struct _u_response *res, void *route_ctx, int patch)
{
    struct app *app = ((struct route_ctx *)route_ctx)->app;
    const struct resource *r = ((const struct crud *)((struct route_ctx *)route_ctx)->target)->resource;
    int64_t id, version;
    json_t *body;
    if (path_id_or_reply(req, res, &id) != 0 || known_query_or_reply(req, res, NULL, NULL) != 0 ||
        if_match_or_reply(req, res, app, &version) != 0 || json_body_or_reply(req, res, patch, &body) != 0)
        return U_CALLBACK_COMPLETE;
    struct call c;
    call_for_request(&c, res, app);
    json_t *doc = NULL;
    duban_status s = patch ? resource_patch(&c, r, id, version, body, &doc)
                           : resource_replace(&c, r, id, version, body, &doc);
    json_decref(body);
    return reply_call(req, res, &c, s, doc, 200, ANSWER_VERSIONED | preferred_return(req));
}

int cb_crud_replace(const struct _u_request *req, struct _u_response *res, void *route_ctx)
{
    return change(req, res, route_ctx, 0);
}

int cb_crud_patch(const struct _u_request *req, struct _u_response *res, void *route_ctx)
{
    return change(req, res, route_ctx, 1);
}

int cb_crud_delete(const struct _u_request *req, struct _u_response *res, void *route_ctx)
{
    struct app *app = ((struct route_ctx *)route_ctx)->app;
    const struct crud *t = ((struct route_ctx *)route_ctx)->target;
    const struct resource *r = t->resource;
    int cascading = t->cascading;
    int64_t id, version;
    static const char *const cascade_only[] = {"cascade", NULL};
    if (path_id_or_reply(req, res, &id) != 0 || known_query_or_reply(req, res, cascading ? cascade_only : NULL, NULL) != 0 ||
        if_match_or_reply(req, res, app, &version) != 0)
        return U_CALLBACK_COMPLETE;
    const char *cascade = u_map_get(req->map_url, "cascade");
    if (cascade && strcmp(cascade, "true") != 0 && strcmp(cascade, "false") != 0)
        return reply_problem(req, res, 400, "cascade must be true or false", NULL);
    struct call c;
    call_for_request(&c, res, app);
    duban_status s = resource_delete(&c, r, id, version, cascade && strcmp(cascade, "true") == 0);
    int rc = s == DUBAN_OK ? reply_empty(res, 204) : reply_failure(req, res, &c, s);
    call_clear(&c);
    return rc;
}

void crud_register(struct router *r, const char *collection, const struct crud *target)
{
    char item[160];
    snprintf(item, sizeof item, "%s/:" ROUTE_ID, collection);
    router_add(r, "GET", collection, cb_crud_list, target);
    router_add(r, "POST", collection, cb_crud_create, target);
    router_add(r, "GET", item, cb_crud_get, target);
    router_add(r, "PUT", item, cb_crud_replace, target);
    router_add(r, "PATCH", item, cb_crud_patch, target);
    router_add(r, "DELETE", item, cb_crud_delete, target);
}
