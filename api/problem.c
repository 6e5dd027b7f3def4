#include "api/problem.h"

#include "api/exchange.h"

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

int reply_problem(const struct _u_request *req, struct _u_response *res, int status,
                  const char *detail, json_t *errors)
{
    json_t *instance = json_string(req->url_path ? req->url_path : "/");
    if (!instance) /* not UTF-8: the path cannot be shown as it came */
        instance = json_string("/");
    json_t *body = json_pack("{s:s,s:s,s:i,s:s,s:o}", "type", "about:blank", "title", title_of(status),
                             "status", status, "detail", detail ? detail : title_of(status), "instance", instance);
    if (errors && json_array_size(errors) > 0)
        json_object_set(body, "errors", errors);
    if (status == 503)
        ulfius_add_header_to_response(res, "Retry-After", "2");
    reply_json_as(res, status, body, "application/problem+json");
    json_decref(body);
    return U_CALLBACK_COMPLETE;
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
