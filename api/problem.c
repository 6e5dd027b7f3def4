#include "api/problem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/exchange.h"
#include "model/text.h"

static const char *title_of(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

/* The request's path as a URI reference: bytes outside printable ASCII
 * (raw UTF-8 or not) are percent-encoded, and a long path is cut. */
static json_t *instance_of(const struct _u_request *req)
{
    static const char hex[] = "0123456789ABCDEF";
    char out[512];
    size_t used = 0;
    for (const unsigned char *p = (const unsigned char *)(req->url_path ? req->url_path : "/");
         *p && used + 4 < sizeof out; p++) {
        if (*p > 0x20 && *p < 0x7F) {
            out[used++] = (char)*p;
        } else {
            out[used++] = '%';
            out[used++] = hex[*p >> 4];
            out[used++] = hex[*p & 15];
        }
    }
    out[used] = '\0';
    return json_string(used ? out : "/");
}

int reply_problem(const struct _u_request *req, struct _u_response *res, int status,
                  const char *detail, json_t *errors)
{
    json_t *body = json_object();
    json_object_set_new(body, "type", json_string("about:blank"));
    json_object_set_new(body, "title", json_string(title_of(status)));
    json_object_set_new(body, "status", json_integer(status));
    char safe[1024];
    text_sanitize(safe, sizeof safe, detail && *detail ? detail : title_of(status));
    json_object_set_new(body, "detail", json_string(safe));
    json_object_set_new(body, "instance", instance_of(req));
    if (errors && json_array_size(errors) > 0)
        json_object_set(body, "errors", errors);
    if (status == 503)
        ulfius_add_header_to_response(res, "Retry-After", "2");
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) { /* out of memory: a fixed body, still a whole problem */
        char fallback[160];
        int len = snprintf(fallback, sizeof fallback,
                           "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d,\"detail\":\"%s\",\"instance\":\"/\"}",
                           title_of(status), status, title_of(status));
        return reply_text(res, status, fallback, (size_t)len, "application/problem+json");
    }
    int rc = reply_text(res, status, text, strlen(text), "application/problem+json");
    free(text);
    return rc;
}

int problem_http_status(duban_status s)
{
    switch (s) {
    case DUBAN_OK: return 200;
    case DUBAN_NOT_FOUND: return 404;
    case DUBAN_BAD_INPUT: return 400;
    case DUBAN_INVALID: return 422;
    case DUBAN_CONFLICT: return 409;
    case DUBAN_STALE: return 412;
    case DUBAN_FORBIDDEN: return 403;
    case DUBAN_GONE: return 410;
    case DUBAN_UNAVAILABLE: return 503;
    case DUBAN_ERROR: break;
    }
    return 500;
}

int reply_failure(const struct _u_request *req, struct _u_response *res, const struct call *c,
                  duban_status s)
{
    return reply_problem(req, res, problem_http_status(s), c->detail[0] ? c->detail : NULL, c->errors);
}
