#include "api/crud.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "api/exchange.h"
#include "api/fields.h"
#include "api/problem.h"
#include "api/request.h"
#include "api/router.h"
#include "model/text.h"

void call_for_request(struct call *c, const struct _u_response *res, struct app *app)
{
    call_init(c, app->db);
    const struct exchange *ex = exchange_of(res);
    if (!ex)
        return;
    c->request_id = ex->request_id;
    c->deadline_at = ex->deadline_ms;
    if (ex->authenticated) {
        c->token_id = ex->actor.token_id;
        c->token_name = ex->actor.name;
        c->unit_scope = ex->actor.role == ROLE_REPORTER ? ex->actor.unit_id : 0;
    }
}

static void set_etag(struct _u_response *res, const json_t *doc)
{
    char etag[32];
    snprintf(etag, sizeof etag, "\"%lld\"", (long long)json_integer_value(json_object_get(doc, "version")));
    ulfius_add_header_to_response(res, "ETag", etag);
}

int reply_document(struct _u_response *res, int status, const json_t *doc)
{
    set_etag(res, doc);
    return reply_json(res, status, doc);
}

/* 1 when the Prefer header asks for return=minimal (RFC 7240: preferences
 * separated by commas, each possibly with parameters after ';'). */
static int prefers_minimal(const struct _u_request *req)
{
    const char *value = header(req, "Prefer");
    for (const char *p = value; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t len = strcspn(p, ",;");
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if ((len == 14 && strncasecmp(p, "return=minimal", 14) == 0) ||
            (len == 16 && strncasecmp(p, "return=\"minimal\"", 16) == 0))
            return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

/* Answers with the outcome of a call: the document, or the problem; with
 * `minimal` (Prefer: return=minimal honoured) only its ETag, as 201 with
 * no body for a creation and 204 otherwise. Takes the document's
 * reference and clears the call. */
static int finish_call(const struct _u_request *req, struct _u_response *res, struct call *c, duban_status s,
                       json_t *doc, int status, int minimal)
{
    int rc;
    if (s != DUBAN_OK) {
        rc = reply_failure(req, res, c, s);
    } else if (minimal) {
        set_etag(res, doc);
        ulfius_add_header_to_response(res, "Preference-Applied", "return=minimal");
        rc = reply_empty(res, status == 201 ? 201 : 204);
    } else {
        rc = reply_document(res, status, doc);
    }
    json_decref(doc);
    call_clear(c);
    return rc;
}

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

int idempotency_or_reply(const struct _u_request *req, struct _u_response *res, const char *location_prefix,
                         struct request_key *k, const struct idempotency **out)
{
    memset(k, 0, sizeof *k);
    *out = NULL;
    const char *key = header(req, "Idempotency-Key");
    if (!key)
        return 0;
    if (!*key || strlen(key) > 200 || !utf8_valid(key, strlen(key))) {
        reply_problem(req, res, 400, "Idempotency-Key must have 1 to 200 characters of UTF-8 text", NULL);
        return -1;
    }
    const struct exchange *ex = exchange_of(res);
    snprintf(k->scope, sizeof k->scope, "%lld POST %s", (long long)(ex ? ex->actor.token_id : 0), req->url_path);
    k->body = strndup(req->binary_body ? req->binary_body : "", req->binary_body_length);
    k->idem = (struct idempotency){k->scope, key, k->body ? k->body : "", location_prefix};
    *out = &k->idem;
    return 0;
}

void request_key_clear(struct request_key *k) { free(k->body); }

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

/* The URL of the same list at another offset. */
static void page_url(char *buf, size_t size, const struct _u_request *req, const struct param_list *q, long offset)
{
    char query[2048] = "", number[24];
    for (size_t i = 0; i < q->count; i++)
        if (strcmp(q->items[i].name, "offset") != 0)
            append_param(query, sizeof query, q->items[i].name, q->items[i].value ? q->items[i].value : "");
    snprintf(number, sizeof number, "%ld", offset);
    append_param(query, sizeof query, "offset", number);
    snprintf(buf, size, "%s?%s", req->url_path, query);
}

/* Sets the Link header with rel="next" and rel="prev" where they exist. */
static void set_links(struct _u_response *res, const struct _u_request *req, const struct param_list *q,
                      const struct list_page *page)
{
    long total = page->total, limit = page->limit, offset = page->offset;
    char link[5000] = "", url[2400];
    if (offset + limit < total) {
        page_url(url, sizeof url, req, q, offset + limit);
        snprintf(link, sizeof link, "<%s>; rel=\"next\"", url);
    }
    if (offset > 0) {
        page_url(url, sizeof url, req, q, offset > limit ? offset - limit : 0);
        size_t len = strlen(link);
        snprintf(link + len, sizeof link - len, "%s<%s>; rel=\"prev\"", len ? ", " : "", url);
    }
    if (link[0])
        ulfius_add_header_to_response(res, "Link", link);
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
    const char *name = t->resource ? t->resource->name : "entry";
    if (fields_or_reply(req, res, take_param(&rows, "fields"), spec->json, name, &f) != 0)
        return U_CALLBACK_COMPLETE;
    struct call c;
    call_for_request(&c, res, app);
    char *text = NULL;
    struct list_page page;
    duban_status s = DUBAN_OK;
    if (header(req, "If-None-Match")) {   /* revalidation: the tag alone, the page only when it changed */
        s = list_tag(&c, spec, &rows, parent ? &scope : NULL, page.tag);
        if (s == DUBAN_OK && tag_listed(req, page.tag)) {
            ulfius_add_header_to_response(res, "ETag", page.tag);
            call_clear(&c);
            return reply_empty(res, 304);
        }
    }
    if (s == DUBAN_OK)
        s = list_run_text(&c, spec, &rows, parent ? &scope : NULL, &text, &page);
    int rc;
    if (s == DUBAN_OK) {
        set_links(res, req, &q, &page);
        ulfius_add_header_to_response(res, "ETag", page.tag);
        rc = f.count ? reply_sparse_list(res, text, &f) : reply_text(res, 200, text, strlen(text), "application/json");
    } else {
        rc = reply_failure(req, res, &c, s);
    }
    free(text);
    call_clear(&c);
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
        fields_or_reply(req, res, params_get(&q, "fields"), r->json, r->name, &f) != 0)
        return U_CALLBACK_COMPLETE;
    struct call c;
    call_for_request(&c, res, app);
    json_t *doc = NULL;
    duban_status s = resource_get(&c, r, id, &doc);
    if (s != DUBAN_OK)
        return finish_call(req, res, &c, s, doc, 200, 0);
    set_etag(res, doc);   /* the version, whatever the fields */
    json_t *sparse = fields_apply(&f, doc);
    int rc = if_none_match(req, json_integer_value(json_object_get(doc, "version"))) ? reply_empty(res, 304)
                                                                                     : reply_json(res, 200, sparse);
    json_decref(sparse);
    json_decref(doc);
    call_clear(&c);
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

int cb_crud_create(const struct _u_request *req, struct _u_response *res, void *route_ctx)
{
    struct app *app = ((struct route_ctx *)route_ctx)->app;
    const struct crud *t = ((struct route_ctx *)route_ctx)->target;
    const struct resource *r = t->resource;
    const char *location = t->items;
    const struct parent_ref *parent = t->parent;
    json_t *body;
    if (known_query_or_reply(req, res, NULL, NULL) != 0 || json_body_or_reply(req, res, 0, &body) != 0)
        return U_CALLBACK_COMPLETE;
    if (parent && adopt_parent_or_reply(req, res, parent, body) != 0) {
        json_decref(body);
        return U_CALLBACK_COMPLETE;
    }
    struct request_key key;
    const struct idempotency *idem;
    if (idempotency_or_reply(req, res, location, &key, &idem) != 0) {
        json_decref(body);
        request_key_clear(&key);
        return U_CALLBACK_COMPLETE;
    }
    struct call c;
    call_for_request(&c, res, app);
    struct created out;
    duban_status s = resource_create(&c, r, body, idem, &out);
    request_key_clear(&key);
    json_decref(body);
    if (s == DUBAN_OK) {
        if (!out.location[0])
            snprintf(out.location, sizeof out.location, "%s%lld", location,
                     (long long)json_integer_value(json_object_get(out.doc, "id")));
        ulfius_add_header_to_response(res, "Location", out.location);
        if (out.replayed)
            ulfius_add_header_to_response(res, "Idempotent-Replayed", "true");
    }
    return finish_call(req, res, &c, s, out.doc, 201, prefers_minimal(req));
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
    return finish_call(req, res, &c, s, doc, 200, prefers_minimal(req));
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
