#include "model/webhook_listen.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/log.h"

enum { RECONNECT_MS = 1000 };

struct webhook_listener {
    char *url;
    PGconn *conn;
    int64_t retry_at;   /* CLOCK_MONOTONIC ms before which no reconnection is tried */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct webhook_listener *webhook_listener_new(const char *url)
{
    struct webhook_listener *l = calloc(1, sizeof *l);
    if (l && !(l->url = strdup(url))) {
        free(l);
        l = NULL;
    }
    return l;
}

void webhook_listener_free(struct webhook_listener *l)
{
    if (!l)
        return;
    PQfinish(l->conn);
    free(l->url);
    free(l);
}

/* Opens the connection and LISTENs; leaves l->conn NULL when it cannot. */
static void connect_listener(struct webhook_listener *l)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *values[] = {l->url, "2", "duban-webhooks", NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (PQstatus(conn) == CONNECTION_OK) {
        PGresult *res = PQexec(conn, "LISTEN duban_changes");
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (ok) {
            l->conn = conn;
            log_msg(LOG_INFO, "webhook deliveries follow the change feed (backend %d)", PQbackendPID(conn));
            return;
        }
    }
    log_msg(LOG_WARN, "webhook deliveries cannot listen for changes: %.*s", (int)strcspn(PQerrorMessage(conn), "\n"),
            PQerrorMessage(conn));
    PQfinish(conn);
    l->retry_at = now_ms() + RECONNECT_MS;
}

int webhook_listener_pid(const struct webhook_listener *l) { return l->conn ? PQbackendPID(l->conn) : 0; }

int webhook_listener_wait(struct webhook_listener *l, int timeout_ms)
{
    int64_t until = now_ms() + timeout_ms;
    if (!l->conn && now_ms() >= l->retry_at) {
        connect_listener(l);
        if (l->conn)
            return 1;   /* events may have come while it was away */
    }
    if (!l->conn) {
        int64_t left = (l->retry_at < until ? l->retry_at : until) - now_ms();
        if (left > 0)
            nanosleep(&(struct timespec){.tv_sec = left / 1000, .tv_nsec = left % 1000 * 1000000L}, NULL);
        return 0;
    }
    struct pollfd pfd = {.fd = PQsocket(l->conn), .events = POLLIN};
    int n = poll(&pfd, 1, timeout_ms);
    if (n < 0 && errno != EINTR)
        n = 0;
    if (n > 0 && !PQconsumeInput(l->conn)) {
        log_msg(LOG_WARN, "webhook deliveries lost their listening connection");
        PQfinish(l->conn);
        l->conn = NULL;
        l->retry_at = now_ms() + RECONNECT_MS;
        return 0;
    }
    int notified = 0;
    for (PGnotify *note = l->conn ? PQnotifies(l->conn) : NULL; note; note = PQnotifies(l->conn)) {
        notified = 1;
        PQfreemem(note);
    }
    return notified;
}
