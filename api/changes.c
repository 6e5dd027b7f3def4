/* The change feed over HTTP (integration.md, "Delta sync" and
 * "Streaming"): GET /api/v1/changes answers a page of events after a
 * cursor; GET /api/v1/changes/stream sends them as Server-Sent Events as
 * they are committed. Any token that may read may follow the feed.
 *
 * Between events a stream holds no database connection (the change hub,
 * model/change_hub.h, follows the feed for all of them) and no worker: with
 * a thread per connection (DUBAN_THREADS=0) it waits on the hub in its
 * connection's own thread, looking each second whether the client has
 * gone; with a pool of threads its connection is suspended until the hub
 * wakes it. Their number is bounded (DUBAN_MAX_STREAMS), and the server's
 * connection limit is raised by as much (api/server.c), so that ordinary
 * requests keep all of theirs. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/answer.h"
#include "api/app.h"
#include "api/exchange.h"
#include "api/problem.h"
#include "api/request.h"
#include "api/router.h"
#include "api/routes.h"
#include "api/server.h"
#include "model/change_hub.h"
#include "model/changes.h"

enum { DEFAULT_LIMIT = 100, MAX_LIMIT = 1000, KEEP_ALIVE_MS = 10000, LOOK_MS = 1000, RETRY_MS = 2000,
       STREAM_BLOCK = 16384 };

/* Reads entity= and plan_id=; answers 400 naming each bad one. */
static int filter_or_reply(const struct _u_request *req, struct _u_response *res, const struct param_list *q,
                           struct change_filter *f)
{
    struct call c;
    call_init(&c, NULL);
    duban_status s = change_filter_parse(&c, params_get(q, "entity"), params_get(q, "plan_id"), f);
    if (s != DUBAN_OK)
        reply_failure(req, res, &c, s);
    call_clear(&c);
    return s == DUBAN_OK ? 0 : -1;
}

/* limit=: 1 to MAX_LIMIT, DEFAULT_LIMIT when absent; answers 400 otherwise. */
static int limit_or_reply(const struct _u_request *req, struct _u_response *res, const char *text, int *limit)
{
    *limit = DEFAULT_LIMIT;
    if (!text)
        return 0;
    char *end;
    long v = strtol(text, &end, 10);
    if (*text >= '0' && *text <= '9' && !*end && v >= 1 && v <= MAX_LIMIT) {
        *limit = (int)v;
        return 0;
    }
    json_t *errors = json_pack("[{s:s, s:s}]", "field", "limit", "message", "must be an integer from 1 to 1000");
    reply_problem(req, res, 400, "limit is not a number of events from 1 to 1000", errors);
    json_decref(errors);
    return -1;
}

/* GET /api/v1/changes?after=&limit=&entity=&plan_id=: {items, next_cursor,
 * has_more}, the items as the database wrote them (never parsed here). */
static int cb_changes(const struct _u_request *req, struct _u_response *res, void *route_ctx)
{
    struct route_ctx *ctx = route_ctx;
    static const char *const allowed[] = {"after", "limit", "entity", "plan_id", NULL};
    struct param_list q;
    struct change_filter f;
    int limit;
    if (known_query_or_reply(req, res, allowed, &q) != 0 || filter_or_reply(req, res, &q, &f) != 0 ||
        limit_or_reply(req, res, params_get(&q, "limit"), &limit) != 0)
        return U_CALLBACK_COMPLETE;
    struct call c;
    call_for_request(&c, res, ctx->app);
    struct change_page page;
    duban_status s = changes_read(&c, params_get(&q, "after"), &f, limit, &page);
    if (s != DUBAN_OK) {
        reply_failure(req, res, &c, s);
        call_clear(&c);
        return U_CALLBACK_COMPLETE;
    }
    call_clear(&c);
    size_t size = strlen(page.next_cursor) + 64;
    for (size_t i = 0; i < page.count; i++)
        size += strlen(page.items[i].json) + 1;
    char *body = malloc(size);
    int rc;
    if (!body) {
        rc = reply_problem(req, res, 500, "out of memory", NULL);
    } else {
        size_t used = (size_t)snprintf(body, size, "{\"items\":[");
        for (size_t i = 0; i < page.count; i++)
            used += (size_t)snprintf(body + used, size - used, "%s%s", i ? "," : "", page.items[i].json);
        used += (size_t)snprintf(body + used, size - used, "],\"next_cursor\":\"%s\",\"has_more\":%s}", page.next_cursor,
                                 page.has_more ? "true" : "false");
        rc = reply_text(res, 200, body, used, "application/json");
    }
    free(body);
    change_page_clear(&page);
    return rc;
}

/* An open event stream: its place in the feed, the text not yet sent, and
 * its connection (suspended between events when a pool serves it). */
struct sse {
    struct change_stream *stream;
    char *text;
    size_t len, sent, cap;
    int64_t quiet_since;            /* when the last text went out (CLOCK_MONOTONIC ms) */
    struct MHD_Connection *connection;
    int pooled;                     /* served by a pool: suspend, never wait */
    pthread_mutex_t lock;           /* the two below, between the hub and the pool */
    int suspended, woken;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends to the stream's pending text; -1 when out of memory. */
static int sse_append(struct sse *e, const char *text, size_t n)
{
    if (e->len + n + 1 > e->cap) {
        size_t cap = e->cap ? e->cap : 4096;
        while (cap < e->len + n + 1)
            cap *= 2;
        char *grown = realloc(e->text, cap);
        if (!grown)
            return -1;
        e->text = grown;
        e->cap = cap;
    }
    memcpy(e->text + e->len, text, n);
    e->len += n;
    e->text[e->len] = '\0';
    return 0;
}

/* Appends the page's events: id, event and one data line each. The JSON
 * the database wrote holds no line break but as white space (one inside a
 * string is escaped), so a break is sent as a space. */
static int sse_events(struct sse *e, const struct change_page *page)
{
    for (size_t i = 0; i < page->count; i++) {
        const struct change_item *it = &page->items[i];
        if (sse_append(e, "id: ", 4) || sse_append(e, it->cursor, strlen(it->cursor)) ||
            sse_append(e, "\nevent: ", 8) || sse_append(e, it->type, strlen(it->type)) ||
            sse_append(e, "\ndata: ", 7))
            return -1;
        size_t data = e->len;
        if (sse_append(e, it->json, strlen(it->json)) || sse_append(e, "\n\n", 2))
            return -1;
        for (char *p = e->text + data; p < e->text + e->len - 2; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    return 0;
}

/* Takes what the hub gave: the events, else a keep-alive comment once the
 * stream has been quiet for KEEP_ALIVE_MS. -1 when the stream ends. */
static int sse_take(struct sse *e, duban_status s, struct change_page *page)
{
    int failed = s != DUBAN_OK;
    if (!failed && page->count > 0)
        failed = sse_events(e, page);
    else if (!failed && now_ms() - e->quiet_since >= KEEP_ALIVE_MS)
        failed = sse_append(e, ": keep-alive\n\n", 14);
    change_page_clear(page);
    if (e->len > 0)
        e->quiet_since = now_ms();
    return failed ? -1 : 0;
}

/* Whether the client has closed its side of the connection. */
static int client_gone(const struct sse *e)
{
    const union MHD_ConnectionInfo *info =
        e->connection ? MHD_get_connection_info(e->connection, MHD_CONNECTION_INFO_CONNECTION_FD) : NULL;
    struct pollfd pfd = {.fd = info ? info->connect_fd : -1, .events = POLLRDHUP};
    return pfd.fd >= 0 && poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* A thread per connection: waits for text to send on this connection's
 * own thread, a second at a time, ending when the client has gone. */
static int sse_wait(struct sse *e)
{
    while (e->len == 0) {
        struct change_page page;
        duban_status s = change_stream_next(e->stream, LOOK_MS, &page);
        if (sse_take(e, s, &page) != 0 || (e->len == 0 && client_gone(e)))
            return -1;
    }
    return 1;
}

/* The hub's wake-up of a suspended stream (under the hub's lock). */
static void sse_wake(void *arg)
{
    struct sse *e = arg;
    pthread_mutex_lock(&e->lock);
    if (e->suspended) {
        e->suspended = 0;
        MHD_resume_connection(e->connection);
    } else {
        e->woken = 1;
    }
    pthread_mutex_unlock(&e->lock);
}

/* A pool: takes what there is; when nothing, the connection is suspended
 * until the hub wakes it (events, the keep-alive's time, the end).
 * Returns 1 with text to send, 0 when suspended, -1 at the end. */
static int sse_suspend_or_take(struct sse *e)
{
    for (;;) {
        pthread_mutex_lock(&e->lock);
        e->woken = 0;
        pthread_mutex_unlock(&e->lock);
        struct change_page page;
        duban_status s = change_stream_take(e->stream, &page, e->quiet_since + KEEP_ALIVE_MS, sse_wake, e);
        if (sse_take(e, s, &page) != 0)
            return -1;
        if (e->len > 0)
            return 1;
        pthread_mutex_lock(&e->lock);
        int woken = e->woken;
        if (!woken) {
            e->suspended = 1;
            MHD_suspend_connection(e->connection);
        }
        pthread_mutex_unlock(&e->lock);
        if (!woken)
            return 0;
    }
}

/* libmicrohttpd asks for more of the body: what is pending, else the next
 * events or keep-alive; 0 bytes while suspended (it asks again once the
 * connection is resumed); the end when the service stops. */
static ssize_t sse_read(void *user, uint64_t offset, char *out, size_t max)
{
    (void)offset;
    struct sse *e = user;
    if (e->sent == e->len) {
        e->len = e->sent = 0;
        int ready = e->pooled ? sse_suspend_or_take(e) : sse_wait(e);
        if (ready <= 0)
            return ready < 0 ? U_STREAM_END : 0;
    }
    size_t n = e->len - e->sent < max ? e->len - e->sent : max;
    memcpy(out, e->text + e->sent, n);
    e->sent += n;
    return (ssize_t)n;
}

static void sse_free(void *user)
{
    struct sse *e = user;
    change_stream_close(e->stream);
    pthread_mutex_destroy(&e->lock);
    free(e->text);
    free(e);
}

/* Whether the Accept header (absent: yes) takes an event stream. */
static int accepts_event_stream(const char *accept)
{
    return !accept || strcasestr(accept, "text/event-stream") || strstr(accept, "*/*") || strcasestr(accept, "text/*");
}

/* GET /api/v1/changes/stream?after=&entity=&plan_id= (Last-Event-ID wins
 * over after=, as a reconnecting client sends both): 410, 400 or 503
 * before the stream starts; then `retry:`, the events after the cursor
 * (from now without one) and every event committed after, as it comes. */
static int cb_changes_stream(const struct _u_request *req, struct _u_response *res, void *route_ctx)
{
    struct route_ctx *ctx = route_ctx;
    static const char *const allowed[] = {"after", "entity", "plan_id", NULL};
    struct param_list q;
    struct change_filter f;
    if (known_query_or_reply(req, res, allowed, &q) != 0 || filter_or_reply(req, res, &q, &f) != 0)
        return U_CALLBACK_COMPLETE;
    if (!accepts_event_stream(header(req, "Accept")))
        return reply_problem(req, res, 406, "the change stream is sent as text/event-stream only", NULL);
    const char *last_id = header(req, "Last-Event-ID");
    const char *cursor = last_id && *last_id ? last_id : params_get(&q, "after");
    struct sse *e = calloc(1, sizeof *e);
    if (e) {
        pthread_mutex_init(&e->lock, NULL);
        e->connection = server_connection();
        e->pooled = ctx->app->cfg.threads > 0 && e->connection;
        e->quiet_since = now_ms();
    }
    struct call c;
    call_for_request(&c, res, ctx->app);
    struct change_page first;
    duban_status s = e ? change_stream_open(ctx->app->changes, &c, cursor, &f, &e->stream, &first)
                       : call_fail(&c, DUBAN_ERROR, "out of memory");
    if (s == DUBAN_OK) {
        char retry[32];
        int n = snprintf(retry, sizeof retry, "retry: %d\n\n", RETRY_MS);
        if (sse_append(e, retry, (size_t)n) || sse_events(e, &first))
            s = call_fail(&c, DUBAN_ERROR, "out of memory");
        change_page_clear(&first);
    }
    if (s != DUBAN_OK) {
        if (e && e->stream) {
            sse_free(e);
        } else if (e) {
            pthread_mutex_destroy(&e->lock);
            free(e);
        }
        reply_failure(req, res, &c, s);
        call_clear(&c);
        return U_CALLBACK_COMPLETE;
    }
    call_clear(&c);
    ulfius_add_header_to_response(res, "Content-Type", "text/event-stream");
    ulfius_add_header_to_response(res, "Cache-Control", "no-store");
    ulfius_add_header_to_response(res, "X-Accel-Buffering", "no");
    if (strcmp(req->http_verb, "HEAD") == 0) {   /* the headers the stream would have, and no stream */
        sse_free(e);
        return reply_empty(res, 200);
    }
    if (ulfius_set_stream_response(res, 200, sse_read, sse_free, U_STREAM_SIZE_UNKNOWN, STREAM_BLOCK, e) != U_OK) {
        sse_free(e);
        return reply_problem(req, res, 500, "the stream could not be started", NULL);
    }
    return U_CALLBACK_COMPLETE;
}

void changes_register(struct router *r)
{
    router_add(r, "GET", "/api/v1/changes/stream", cb_changes_stream, NULL);
    router_add(r, "GET", "/api/v1/changes", cb_changes, NULL);
}
