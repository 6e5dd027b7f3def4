#include "api/request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "api/problem.h"
#include "api/router.h"
#include "model/text.h"

const char *header(const struct _u_request *req, const char *name)
{
    return u_map_get_case(req->map_header, name);
}

/* Preferences are separated by commas, each possibly followed by
 * parameters after ';'. */
int prefers(const struct _u_request *req, const char *name, const char *value)
{
    size_t name_len = strlen(name), value_len = strlen(value);
    for (const char *p = header(req, "Prefer"); p && *p; p += strcspn(p, ",")) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",;");
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len <= name_len || strncasecmp(p, name, name_len) != 0 || p[name_len] != '=')
            continue;
        const char *v = p + name_len + 1;
        size_t n = len - name_len - 1;
        if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
            v++, n -= 2;
        if (n == value_len && strncasecmp(v, value, n) == 0)
            return 1;
    }
    return 0;
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

/* The value of a hexadecimal digit, or -1. */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* Decodes the %XX escapes of the n bytes at s into out (room for n + 1),
 * as the URL's parts reach duban; a malformed escape stays as it is.
 * Returns the decoded length (the text may hold NUL bytes). */
static size_t percent_decode(const char *s, size_t n, char *out)
{
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = s[i] == '%' && i + 2 < n ? hex_value(s[i + 1]) : -1;
        int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
        if (lo >= 0) {
            out[used++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[used++] = s[i];
        }
    }
    out[used] = '\0';
    return used;
}

/* Reports in c when the n decoded bytes at text are not UTF-8 text: an
 * invalid byte or a NUL (which would silently cut the text short). */
static void check_text(struct call *c, const char *field, const char *text, size_t n)
{
    char shown[256];
    if (utf8_valid(text, n) && !memchr(text, '\0', n))
        return;
    text_quote(shown, sizeof shown, text, n, 60);
    call_field_error(c, field, "%s: '%s'", utf8_valid(text, n) ? "holds a NUL byte" : "is not valid UTF-8", shown);
}

/* Checks one name=value piece of the query string. */
static void check_query_piece(struct call *c, const char *piece, size_t n, char *buf)
{
    size_t name_len = strcspn(piece, "=");
    if (name_len > n)
        name_len = n;
    size_t len = percent_decode(piece, name_len, buf);
    if (!utf8_valid(buf, len) || memchr(buf, '\0', len)) {
        char shown[256];
        text_quote(shown, sizeof shown, buf, len, 60);
        call_field_error(c, shown, "this parameter name is not UTF-8 text");
        return;
    }
    char *name = strndup(buf, len);
    if (name_len < n) {
        len = percent_decode(piece + name_len + 1, n - name_len - 1, buf);
        check_text(c, name ? name : "query", buf, len);
    }
    free(name);
}

int url_or_reply(const struct _u_request *req, struct _u_response *res)
{
    const char *url = req->http_url ? req->http_url : "";
    size_t url_len = strlen(url), path_len = strcspn(url, "?");
    char *buf = malloc(url_len + 1);
    if (!buf) {
        reply_problem(req, res, 500, "out of memory", NULL);
        return -1;
    }
    struct call c;
    call_init(&c, NULL);
    check_text(&c, "path", buf, percent_decode(url, path_len, buf));
    for (const char *p = url + path_len + (path_len < url_len); p < url + url_len;) {
        size_t n = strcspn(p, "&");
        if (n)
            check_query_piece(&c, p, n, buf);
        p += n + (p[n] == '&');
    }
    free(buf);
    if (!c.errors)
        return 0;
    char detail[256] = "the URL is not UTF-8 text in:";
    size_t i;
    json_t *e;
    json_array_foreach(c.errors, i, e) {
        size_t used = strlen(detail);
        snprintf(detail + used, sizeof detail - used, "%s %s", i ? "," : "",
                 json_string_value(json_object_get(e, "field")));
    }
    reply_problem(req, res, 400, detail, c.errors);
    call_clear(&c);
    return -1;
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
        char detail[320], shown[256];
        snprintf(detail, sizeof detail, "unknown query parameter '%s'",
                 text_quote(shown, sizeof shown, out->items[i].name, strlen(out->items[i].name), 60));
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

/* Answers 400 for a body that is not UTF-8, showing where: its line and
 * column, and the text around the first bad byte (which names the JSON
 * field or value it is in). */
static void reply_not_utf8(const struct _u_request *req, struct _u_response *res, const char *body, size_t len)
{
    size_t bad = utf8_invalid_at(body, len), from = bad > 40 ? bad - 40 : 0, line = 1, column = 1;
    while (from < bad && ((unsigned char)body[from] & 0xC0) == 0x80)
        from++;
    for (size_t i = 0; i < bad; i += utf8_sequence(body + i, bad - i), column++)
        if (body[i] == '\n') {
            line++;
            column = 0;
        }
    char shown[256], detail[400];
    text_quote(shown, sizeof shown, body + from, len - from, 60);
    snprintf(detail, sizeof detail, "the body is not valid UTF-8: byte 0x%02X at line %zu, column %zu, in '%s%s'",
             (unsigned char)body[bad], line, column, from > 0 ? "\xE2\x80\xA6" : "", shown);
    reply_problem(req, res, 400, detail, NULL);
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
    if (!utf8_valid(req->binary_body, req->binary_body_length)) {
        reply_not_utf8(req, res, req->binary_body, req->binary_body_length);
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
