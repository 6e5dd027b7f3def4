#include "api/config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "model/log.h"

/* The one table of settings: name, default, meaning, and where it goes. */
enum kind { TEXT, INTEGER, BOOLEAN, LISTEN, LEVEL, ZONE };

struct setting {
    const char *name;
    const char *fallback;
    const char *meaning;
    enum kind kind;
    long min, max;       /* bounds for INTEGER; min is the least length of TEXT */
    size_t offset;       /* into struct config */
    size_t size;         /* of the field, for TEXT */
};

#define FIELD(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)

static const struct setting settings[] = {
    {"DUBAN_DATABASE_URL", "postgresql:///duban", "libpq connection URI or string", TEXT, 1, 0, FIELD(database_url)},
    {"DUBAN_DATABASE_READ_URL", "", "libpq URI of a streaming standby that answers GETs; empty for none", TEXT, 0, 0, FIELD(database_read_url)},
    {"DUBAN_READ_WAIT_MS", "500", "longest a GET with a Consistency-Token waits for the standby to replay that write before the primary answers it", INTEGER, 0, 60000, FIELD(read_wait_ms)},
    {"DUBAN_MAX_REPLICA_LAG_MS", "5000", "a standby further behind than this answers no GET", INTEGER, 0, 3600000, FIELD(max_replica_lag_ms)},
    {"DUBAN_LISTEN", "0.0.0.0:8080", "address and port to serve on (host:port)", LISTEN, 0, 0, FIELD(listen_host)},
    {"DUBAN_DB_POOL_SIZE", "8", "database connections at most", INTEGER, 1, 256, FIELD(db_pool_size)},
    {"DUBAN_MAX_BODY_BYTES", "1048576", "largest request body accepted", INTEGER, 1024, 64L << 20, FIELD(max_body_bytes)},
    {"DUBAN_MAX_IMPORT_BYTES", "8388608", "largest plan document accepted by POST /api/v1/plans/import", INTEGER, 1024, 64L << 20, FIELD(max_import_bytes)},
    {"DUBAN_LOG_LEVEL", "info", "error, warn, info or debug", LEVEL, 0, 0, FIELD(log_level)},
    {"DUBAN_STATEMENT_TIMEOUT_MS", "2000", "longest a database statement may run", INTEGER, 100, 600000, FIELD(statement_timeout_ms)},
    {"DUBAN_REQUEST_TIMEOUT_MS", "2000", "longest a request may wait for the database in all (pool, connection, statements, retries)", INTEGER, 100, 600000, FIELD(request_timeout_ms)},
    {"DUBAN_AUTO_MIGRATE", "1", "apply pending migrations when serving starts (0 or 1)", BOOLEAN, 0, 1, FIELD(auto_migrate)},
    {"DUBAN_IDEMPOTENCY_TTL_H", "24", "hours an Idempotency-Key is remembered; a key older than this is a new request", INTEGER, 1, 8760, FIELD(idempotency_ttl_h)},
    {"DUBAN_TIMEZONE", "Asia/Shanghai", "IANA time zone whose calendar days are duban's days (today, due dates, reporting periods)", ZONE, 1, 0, FIELD(timezone)},
    {"DUBAN_REQUIRE_IF_MATCH", "0", "refuse PUT, PATCH and DELETE without If-Match (0 or 1)", BOOLEAN, 0, 1, FIELD(require_if_match)},
    {"DUBAN_IDLE_TIMEOUT_S", "30", "seconds before an idle client connection is closed", INTEGER, 1, 3600, FIELD(idle_timeout_s)},
    {"DUBAN_THREADS", "0", "HTTP worker threads: 0 serves each client connection on a thread of its own, N serves every connection from a pool of N epoll threads", INTEGER, 0, 64, FIELD(threads)},
    {"DUBAN_MAX_CONNECTIONS", "4000", "client connections at most", INTEGER, 16, 60000, FIELD(max_connections)},
    {"DUBAN_RATE_LIMIT_PER_MIN", "12000", "requests per token per minute, 0 for no limit", INTEGER, 0, 10000000, FIELD(rate_limit_per_min)},
    {"DUBAN_CORS_ORIGINS", "", "browser origins allowed to call the API, comma-separated", TEXT, 0, 0, FIELD(cors_origins)},
    {"DUBAN_GZIP_LEVEL", "1", "zlib level (1-9) of answers compressed for clients that accept gzip or deflate; 0 compresses none", INTEGER, 0, 9, FIELD(gzip_level)},
    {"DUBAN_GZIP_MIN_BYTES", "1024", "bodies smaller than this are sent uncompressed", INTEGER, 0, 64L << 20, FIELD(gzip_min_bytes)},
    {"DUBAN_MAX_STREAMS", "256", "change streams (GET /api/v1/changes/stream) open at most; one more is refused with 503", INTEGER, 0, 10000, FIELD(max_streams)},
    {"DUBAN_CHANGES_RETENTION_DAYS", "30", "days change events are kept; a cursor older than this is refused with 410", INTEGER, 1, 3650, FIELD(changes_retention_days)},
    {"DUBAN_WEBHOOK_ALLOWED_NETS", "", "addresses and CIDR networks, comma-separated, where webhooks may be delivered although they are loopback, link-local or unspecified (e.g. 127.0.0.0/8)", TEXT, 0, 0, FIELD(webhook_allowed_nets)},
    {"DUBAN_WEBHOOK_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000,36000", "seconds between a failed webhook delivery and the next attempt, comma-separated, each ±20 %; after the last the event is given up", TEXT, 1, 0, FIELD(webhook_retry_schedule)},
    {"DUBAN_WEBHOOK_DISABLE_AFTER", "5", "a webhook subscription whose last this many events all failed is disabled", INTEGER, 1, 1000, FIELD(webhook_disable_after)},
};

/* Parses a whole decimal integer within [min, max]; 0 on success. */
static int parse_integer(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Splits "host:port" (the host may be empty, or [v6] bracketed). */
static int parse_listen(const char *text, struct config *cfg)
{
    const char *colon = strrchr(text, ':');
    long port;
    if (!colon || parse_integer(colon + 1, 1, 65535, &port) != 0)
        return -1;
    size_t host_len = (size_t)(colon - text);
    if (host_len >= sizeof cfg->listen_host)
        return -1;
    memcpy(cfg->listen_host, text, host_len);
    cfg->listen_host[host_len] = '\0';
    cfg->listen_port = (unsigned short)port;
    return 0;
}

/* Whether text can be an IANA zone name ("Asia/Shanghai", "UTC",
 * "Etc/GMT+8"): the database decides whether it knows it. */
static int zone_name(const char *text)
{
    if (!*text || *text == '/' || strstr(text, "..") || strstr(text, "//"))
        return 0;
    for (const char *p = text; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("/_+-", *p)))
            return 0;
    return 1;
}

/* Stores one setting's text into cfg; 0 on success, -1 when invalid. */
static int apply(const struct setting *s, const char *text, struct config *cfg)
{
    char *field = (char *)cfg + s->offset;
    long v = -1;
    switch (s->kind) {
    case ZONE:
        if (!zone_name(text))
            return -1;
        /* fall through */
    case TEXT:
        if (strlen(text) < (size_t)s->min || strlen(text) >= s->size)
            return -1;
        strcpy(field, text);
        return 0;
    case LISTEN:
        return parse_listen(text, cfg);
    case LEVEL:
        v = log_level_parse(text);
        break;
    case BOOLEAN:
    case INTEGER:
        if (parse_integer(text, s->min, s->max, &v) != 0)
            return -1;
        break;
    }
    if (v < 0)
        return -1;
    if (s->size == sizeof(size_t))
        *(size_t *)field = (size_t)v;
    else
        *(int *)field = (int)v;
    return 0;
}

static void describe_bounds(const struct setting *s, char *buf, size_t len)
{
    if (s->kind == INTEGER)
        snprintf(buf, len, " (an integer from %ld to %ld)", s->min, s->max);
    else if (s->kind == BOOLEAN)
        snprintf(buf, len, " (0 or 1)");
    else
        buf[0] = '\0';
}

int config_load(struct config *cfg, FILE *err)
{
    memset(cfg, 0, sizeof *cfg);
    int problems = 0;
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i++) {
        const struct setting *s = &settings[i];
        const char *text = getenv(s->name);
        if (text && apply(s, text, cfg) == 0)
            continue;
        if (text) {
            char bounds[80];
            describe_bounds(s, bounds, sizeof bounds);
            fprintf(err, "duban: %s=\"%.80s\" is not valid: expected %s%s\n", s->name, text, s->meaning, bounds);
            problems++;
        }
        apply(s, s->fallback, cfg);
    }
    return problems;
}

void config_describe(FILE *out)
{
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i++)
        fprintf(out, "  %-28s %s (default %s)\n", settings[i].name, settings[i].meaning, settings[i].fallback);
}
