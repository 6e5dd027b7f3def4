#include "api/webhook_send.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "model/webhook.h"

enum { CONNECT_TIMEOUT_MS = 5000, SEND_TIMEOUT_MS = 10000, MAX_ANSWER_BYTES = 64 * 1024, SIGNATURE_SIZE = 128 };

struct webhook_sender {
    CURL *curl;
};

/* What one send's callbacks share. */
struct send_state {
    const atomic_int *stop;
    size_t answer_bytes;
    int answer_cut;             /* the answer was longer than MAX_ANSWER_BYTES */
    char refused[200];          /* why a destination address was refused, "" if none was */
};

struct webhook_sender *webhook_sender_new(void)
{
    struct webhook_sender *s = calloc(1, sizeof *s);
    if (s && !(s->curl = curl_easy_init())) {
        free(s);
        s = NULL;
    }
    return s;
}

void webhook_sender_free(struct webhook_sender *s)
{
    if (!s)
        return;
    curl_easy_cleanup(s->curl);
    free(s);
}

/* libcurl asks for a socket to connect to an address it resolved: only
 * to one the policy allows. */
static curl_socket_t open_checked(void *arg, curlsocktype purpose, struct curl_sockaddr *address)
{
    struct send_state *st = arg;
    (void)purpose;
    const void *addr = NULL;
    if (address->family == AF_INET)
        addr = &((const struct sockaddr_in *)&address->addr)->sin_addr;
    else if (address->family == AF_INET6)
        addr = &((const struct sockaddr_in6 *)&address->addr)->sin6_addr;
    if (!addr) {
        snprintf(st->refused, sizeof st->refused, "the destination is not an IP address");
        return CURL_SOCKET_BAD;
    }
    if (webhook_address_refused(address->family, addr, st->refused, sizeof st->refused))
        return CURL_SOCKET_BAD;
    return socket(address->family, address->socktype, address->protocol);
}

/* Counts the answer's bytes and stops reading past the limit. */
static size_t read_answer(char *data, size_t size, size_t n, void *arg)
{
    struct send_state *st = arg;
    (void)data;
    st->answer_bytes += size * n;
    if (st->answer_bytes > MAX_ANSWER_BYTES) {
        st->answer_cut = 1;
        return 0;
    }
    return size * n;
}

/* Called while the transfer runs: non-zero aborts it (duban is stopping). */
static int keep_going(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    const struct send_state *st = arg;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return atomic_load(st->stop) != 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The request headers of job at `timestamp`; NULL when out of memory or
 * the secret is unusable (o->error says which). */
static struct curl_slist *message_headers(const struct webhook_job *job, long long timestamp, struct webhook_outcome *o)
{
    char signature[SIGNATURE_SIZE], line[SIGNATURE_SIZE + 64];
    if (webhook_sign(job->secret, job->event_id, timestamp, job->body, strlen(job->body), signature, sizeof signature)) {
        snprintf(o->error, sizeof o->error, "the subscription's secret cannot sign");
        return NULL;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(line, sizeof line, "webhook-id: %s", job->event_id);
    h = h ? curl_slist_append(h, line) : NULL;
    snprintf(line, sizeof line, "webhook-timestamp: %lld", timestamp);
    h = h ? curl_slist_append(h, line) : NULL;
    snprintf(line, sizeof line, "webhook-signature: %s", signature);
    h = h ? curl_slist_append(h, line) : NULL;
    h = h ? curl_slist_append(h, "Expect:") : NULL;   /* no 100-continue round trip */
    if (!h)
        snprintf(o->error, sizeof o->error, "out of memory");
    return h;
}

/* What went wrong, from what libcurl and the receiver said. */
static void describe_failure(struct webhook_outcome *o, CURLcode rc, const struct send_state *st, const char *detail)
{
    int status = o->status_code;
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && st->answer_cut)) {
        if (status >= 300 && status < 400)
            snprintf(o->error, sizeof o->error, "the receiver answered %d, a redirect, which is not followed", status);
        else if (status < 200 || status >= 300)
            snprintf(o->error, sizeof o->error, "the receiver answered %d", status);
    } else if (st->refused[0]) {
        snprintf(o->error, sizeof o->error, "refused destination: %s", st->refused);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(o->error, sizeof o->error, "no answer within %d s: %s", SEND_TIMEOUT_MS / 1000, detail);
    } else {
        snprintf(o->error, sizeof o->error, "%s", detail[0] ? detail : curl_easy_strerror(rc));
    }
}

int webhook_send(struct webhook_sender *s, const struct webhook_job *job, const atomic_int *stop,
                 struct webhook_outcome *o)
{
    memset(o, 0, sizeof *o);
    struct send_state st = {.stop = stop};
    int64_t started = now_ms();
    struct curl_slist *headers = message_headers(job, (long long)time(NULL), o);
    if (!headers) {
        o->duration_ms = 0;
        return 0;
    }
    char detail[CURL_ERROR_SIZE] = "";
    CURL *curl = s->curl;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, job->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)SEND_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "duban-webhooks/" DUBAN_VERSION);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, job->body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(job->body));
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_checked);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &st);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, read_answer);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, keep_going);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &st);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(headers);
    o->duration_ms = (int)(now_ms() - started);
    if (rc == CURLE_ABORTED_BY_CALLBACK && atomic_load(stop))
        return -1;
    o->status_code = (int)status;
    describe_failure(o, rc, &st, detail);
    return 0;
}
