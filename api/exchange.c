#include "api/exchange.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "api/app.h"
#include "api/compress.h"
#include "api/problem.h"
#include "api/request.h"
#include "model/log.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct exchange *exchange_of(const struct _u_response *res) { return res->shared_data; }

/* Writes the access-log line and releases the exchange; ulfius calls it
 * once the response has been handed over. Never logs bodies or tokens. */
static void exchange_end(void *p)
{
    struct exchange *ex = p;
    if (ex->status >= 500)
        atomic_fetch_add(&ex->app->responses_5xx, 1);
    log_msg(LOG_INFO, "access method=%s path=%s status=%d duration_ms=%.3f request_id=%s", ex->method,
            ex->path, ex->status, (double)(now_ns() - ex->started_ns) / 1e6, ex->request_id);
    free(ex);
}

/* The next 64 bits of this thread's id stream: splitmix64 over a state
 * drawn from the kernel once per thread, so that ids differ across threads
 * and restarts without a system call per request. */
static uint64_t next_id_bits(void)
{
    static _Thread_local uint64_t state;
    static _Thread_local int seeded;
    if (!seeded) {
        if (getrandom(&state, sizeof state, 0) != (ssize_t)sizeof state)
            state = (uint64_t)now_ns() ^ (uint64_t)(uintptr_t)&state;
        seeded = 1;
    }
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A client's X-Request-Id is kept when it is 1-64 characters of
 * [A-Za-z0-9._-]; anything else is replaced by a fresh id of 32 hex
 * digits, unique in practice (not a secret). */
static void choose_request_id(const struct _u_request *req, char out[65])
{
    const char *given = u_map_get_case(req->map_header, "X-Request-Id");
    size_t len = given ? strlen(given) : 0;
    int ok = len > 0 && len <= 64;
    for (size_t i = 0; ok && i < len; i++)
        ok = isalnum((unsigned char)given[i]) || strchr("._-", given[i]);
    if (ok) {
        memcpy(out, given, len + 1);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    for (int half = 0; half < 2; half++) {
        uint64_t bits = next_id_bits();
        for (int i = 0; i < 16; i++, bits >>= 4)
            out[16 * half + i] = hex[bits & 15];
    }
    out[32] = '\0';
}

/* Copies text into a fixed buffer, replacing control characters so that a
 * logged path cannot forge log lines. */
static void copy_printable(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < size; i++)
        dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
    dst[i] = '\0';
}

int exchange_body_too_large(const struct _u_request *req, size_t limit)
{
    const char *length = u_map_get_case(req->map_header, "Content-Length");
    if (length) {
        char *end;
        unsigned long long n = strtoull(length, &end, 10);
        if (end != length && !*end && n > limit)
            return 1;
    }
    return req->binary_body_length > limit;
}

/* Plan documents may be larger than other bodies. */
static int is_import(const char *path)
{
    const char *suffix = "/plans/import";
    size_t len = path ? strlen(path) : 0;
    while (len > 0 && path[len - 1] == '/')
        len--;
    return len >= strlen(suffix) && strncmp(path + len - strlen(suffix), suffix, strlen(suffix)) == 0;
}

size_t exchange_body_limit(const struct app *app, const char *path)
{
    return is_import(path) ? app->cfg.max_import_bytes : app->cfg.max_body_bytes;
}

/* 1 when origin is one of the comma-separated allowed origins. */
static int origin_allowed(const char *allowed, const char *origin)
{
    size_t len = strlen(origin);
    for (const char *p = allowed; origin && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (n == len && n > 0 && strncmp(p, origin, n) == 0)
            return 1;
        p += n;
    }
    return 0;
}

int cb_exchange_begin(const struct _u_request *req, struct _u_response *res, void *user_data)
{
    struct app *app = user_data;
    struct exchange *ex = calloc(1, sizeof *ex);
    if (!ex)
        return U_CALLBACK_ERROR;
    ex->app = app;
    ex->request = req;
    ex->started_ns = now_ns();
    ex->deadline_ms = ex->started_ns / 1000000 + app->cfg.request_timeout_ms;
    ex->status = 200;
    copy_printable(ex->method, sizeof ex->method, req->http_verb);
    copy_printable(ex->path, sizeof ex->path, req->url_path);
    choose_request_id(req, ex->request_id);
    atomic_fetch_add(&app->requests_total, 1);
    ulfius_set_response_shared_data(res, ex, exchange_end);

    ulfius_add_header_to_response(res, "X-Request-Id", ex->request_id);
    ulfius_add_header_to_response(res, "X-Content-Type-Options", "nosniff");
    /* a client (a phone's HTTP cache) may keep an answer and revalidate it
     * with its ETag; no shared cache may keep it (answers depend on the
     * bearer token) */
    ulfius_add_header_to_response(res, "Cache-Control", "private, no-cache");
    const char *origin = u_map_get_case(req->map_header, "Origin");
    if (origin && origin_allowed(app->cfg.cors_origins, origin)) {
        ex->cors = 1;
        ulfius_add_header_to_response(res, "Access-Control-Allow-Origin", origin);
        ulfius_add_header_to_response(res, "Vary", "Origin");
        ulfius_add_header_to_response(res, "Access-Control-Expose-Headers",
                                      "ETag, Location, Link, Retry-After, X-Request-Id, Idempotent-Replayed, "
                                      "Consistency-Token");
    }
    size_t limit = exchange_body_limit(app, req->url_path);
    if (exchange_body_too_large(req, limit)) {
        char detail[96];
        snprintf(detail, sizeof detail, "the request body exceeds %zu bytes", limit);
        /* the rest of the body is not read: the connection cannot carry
         * another request */
        ulfius_add_header_to_response(res, "Connection", "close");
        return reply_problem(req, res, 413, detail, NULL);
    }
    if (url_or_reply(req, res) != 0)
        return U_CALLBACK_COMPLETE;
    return U_CALLBACK_CONTINUE;
}

/* Every answer goes through here: the log learns its status, and the
 * answer to a write carries the commit's Consistency-Token. */
static void note_status(struct _u_response *res, int status)
{
    struct exchange *ex = exchange_of(res);
    if (ex)
        ex->status = status;
    if (ex && ex->consistency[0])
        ulfius_add_header_to_response(res, "Consistency-Token", ex->consistency);
}

int reply_json_as(struct _u_response *res, int status, const json_t *body, const char *content_type)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
    int rc = reply_text(res, status, text ? text : "{}", text ? strlen(text) : 2, content_type);
    free(text);
    return rc;
}

int reply_json(struct _u_response *res, int status, const json_t *body)
{
    return reply_json_as(res, status, body, "application/json");
}

int reply_text(struct _u_response *res, int status, const char *body, size_t len, const char *content_type)
{
    note_status(res, status);
    ulfius_set_binary_body_response(res, (unsigned int)status, body, len);
    ulfius_add_header_to_response(res, "Content-Type", content_type);
    compress_reply(res, content_type);
    return U_CALLBACK_COMPLETE;
}

int reply_empty(struct _u_response *res, int status)
{
    note_status(res, status);
    ulfius_set_empty_body_response(res, (unsigned int)status);
    if (status == 304)
        compress_vary(res);
    return U_CALLBACK_COMPLETE;
}
