#include "api/request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/problem.h"
#include "api/router.h"

const char *header(const struct _u_request *req, const char *name)
{
    return u_map_get_case(req->map_header, name);
}

/* Parses a whole positive decimal int64 with no sign, space or leading zero. */
static int64_t parse_positive(const char *text)
{
    if (!text || text[0] < '1' || text[0] > '9')
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    return errno || *end ? 0 : v;
}

int64_t path_id(const struct _u_request *req) { return parse_positive(u_map_get(req->map_url, ROUTE_ID)); }

int path_id_or_reply(const struct _u_request *req, struct _u_response *res, int64_t *id)
{
    *id = path_id(req);
    if (*id > 0)
        return 0;
    reply_problem(req, res, 404, "no resource at this path: the id is not a positive integer", NULL);
    return -1;
}

int query_or_reply(const struct _u_request *req, struct _u_response *res, struct param_list *out)
{
    out->count = 0;
    out->truncated = 0;
    const char **keys = u_map_enum_keys(req->map_url);
    for (size_t i = 0; keys && keys[i]; i++) {
        if (strcmp(keys[i], ROUTE_ID) == 0)
            continue;
        if (out->count == sizeof out->items / sizeof *out->items) {
            reply_problem(req, res, 400, "too many query parameters", NULL);
            return -1;
        }
        out->items[out->count].name = keys[i];
        out->items[out->count].value = u_map_get(req->map_url, keys[i]);
        out->count++;
    }
    return 0;
}

int known_query_or_reply(const struct _u_request *req, struct _u_response *res, const char *const *allowed,
                         struct param_list *out)
{
    struct param_list q;
    if (!out)
        out = &q;
    if (query_or_reply(req, res, out) != 0)
        return -1;
    for (size_t i = 0; i < out->count; i++) {
        const char *const *a = allowed;
        while (a && *a && strcmp(*a, out->items[i].name) != 0)
            a++;
        if (a && *a)
            continue;
        char detail[128];
        snprintf(detail, sizeof detail, "unknown query parameter '%.60s'", out->items[i].name);
        reply_problem(req, res, 400, detail, NULL);
        return -1;
    }
    return 0;
}

/* 1 when the Content-Type's media type (parameters ignored, any case) is type. */
static int media_type_is(const char *content_type, const char *type)
{
    if (!content_type)
        return 0;
    size_t len = strcspn(content_type, ";");
    while (len > 0 && (content_type[len - 1] == ' ' || content_type[len - 1] == '\t'))
        len--;
    return len == strlen(type) && strncasecmp(content_type, type, len) == 0;
}

int json_body_or_reply(const struct _u_request *req, struct _u_response *res, int patch, json_t **out)
{
    *out = NULL;
    const char *type = header(req, "Content-Type");
    if (!media_type_is(type, "application/json") && !(patch && media_type_is(type, "application/merge-patch+json"))) {
        reply_problem(req, res, 415,
                      patch ? "send the body as application/merge-patch+json or application/json"
                            : "send the body as application/json",
                      NULL);
        return -1;
    }
    json_error_t error;
    json_t *body = json_loadb(req->binary_body, req->binary_body_length, JSON_REJECT_DUPLICATES, &error);
    if (!body || !json_is_object(body)) {
        char detail[256];
        if (body)
            snprintf(detail, sizeof detail, "the body must be a JSON object");
        else
            snprintf(detail, sizeof detail, "the body is not valid JSON: %s (line %d, column %d)", error.text,
                     error.line, error.column);
        json_decref(body);
        reply_problem(req, res, 400, detail, NULL);
        return -1;
    }
    *out = body;
    return 0;
}

/* Reads an entity-tag, "N" or W/"N", into a version; 0 when malformed. */
static int64_t etag_version(const char *tag)
{
    if (strncmp(tag, "W/", 2) == 0)
        tag += 2;
    size_t len = strlen(tag);
    if (len < 3 || tag[0] != '"' || tag[len - 1] != '"' || len > 22)
        return 0;
    char digits[24];
    memcpy(digits, tag + 1, len - 2);
    digits[len - 2] = '\0';
    return parse_positive(digits);
}

int if_match_or_reply(const struct _u_request *req, struct _u_response *res, const struct app *app,
                      int64_t *version)
{
    *version = 0;
    const char *value = header(req, "If-Match");
    if (!value) {
        if (!app->cfg.require_if_match)
            return 0;
        reply_problem(req, res, 428, "this server requires If-Match with the ETag of the version you change",
                      NULL);
        return -1;
    }
    while (*value == ' ')
        value++;
    if (strcmp(value, "*") == 0)
        return 0;
    *version = etag_version(value);
    if (*version > 0)
        return 0;
    reply_problem(req, res, 400, "If-Match must be one entity-tag such as \"3\", as given in ETag", NULL);
    return -1;
}

int if_none_match(const struct _u_request *req, int64_t version)
{
    const char *value = header(req, "If-None-Match");
    if (!value)
        return 0;
    char *copy = strdup(value), *save = NULL;
    int match = 0;
    for (char *tag = strtok_r(copy, ", ", &save); tag && !match; tag = strtok_r(NULL, ", ", &save))
        match = strcmp(tag, "*") == 0 || etag_version(tag) == version;
    free(copy);
    return match;
}
