/* duban's configuration: read from DUBAN_* environment variables only, with
 * every default in config.c, every value validated before anything starts. */
#ifndef DUBAN_CONFIG_H
#define DUBAN_CONFIG_H

#include <stddef.h>
#include <stdio.h>

struct config {
    char database_url[1024];
    char database_read_url[1024];  /* a streaming standby for GETs, "" for none */
    int read_wait_ms;          /* a GET's wait for the standby to replay its Consistency-Token */
    int max_replica_lag_ms;    /* a standby further behind answers no GET */
    char listen_host[256];
    unsigned short listen_port;
    int db_pool_size;
    size_t max_body_bytes;
    size_t max_import_bytes;
    char timezone[64];         /* IANA zone of the days duban counts in */
    int log_level;
    int statement_timeout_ms;
    int request_timeout_ms;
    int auto_migrate;
    int idempotency_ttl_h;     /* hours before an Idempotency-Key expires */
    int require_if_match;
    int idle_timeout_s;
    int max_connections;
    int threads;               /* 0: a thread per connection; N: an epoll pool of N */
    int rate_limit_per_min;
    char cors_origins[1024];   /* comma-separated; empty allows none */
    int gzip_level;            /* zlib level of compressed answers; 0 sends none */
    size_t gzip_min_bytes;     /* smaller bodies go uncompressed */
    int max_streams;           /* change streams open at most */
    int changes_retention_days; /* change events older than this are purged */
    char webhook_allowed_nets[1024];   /* CIDR list where refused destinations are allowed */
    char webhook_retry_schedule[512];  /* seconds between attempts, comma-separated */
    int webhook_disable_after;         /* events given up in a row that disable a subscription */
};

/* Fills cfg from the environment. Writes one line per bad variable to err,
 * naming it, and returns the number of problems (0 when cfg is usable). */
int config_load(struct config *cfg, FILE *err);

/* Prints every variable with its default and meaning (for --help). */
void config_describe(FILE *out);

#endif
