#include "api/webhook_worker.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/app.h"
#include "api/webhook_send.h"
#include "model/log.h"
#include "model/webhook.h"
#include "model/webhook_listen.h"
#include "model/webhook_queue.h"

enum {
    SENDERS = 4,             /* subscriptions delivered at once by one instance */
    TICK_MS = 500,           /* retries come due, leases expire: looked for this often */
    SENDS_PER_CLAIM = 100,   /* then the subscription is let go, so that others get their turn */
    RECORD_PATIENCE_S = 120, /* how long an outcome waits for the database to be recorded */
    PURGE_EVERY_S = 60,
};

struct webhook_worker;

/* A sender thread and which one it is. */
struct sender {
    struct webhook_worker *w;
    int me;
    pthread_t thread;
};

struct webhook_worker {
    struct app *app;
    struct webhook_listener *listener;
    pthread_t listening;
    struct sender senders[SENDERS];
    int started;                 /* sender threads running */
    atomic_int stopping;
    atomic_int lease_pid;        /* the listening backend; 0 while there is none */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int pending;                 /* wake-ups no sender has taken yet */
    int64_t busy[SENDERS];       /* the subscription each sender holds, 0 for none */
};

int webhook_settings_apply(const struct app *app, FILE *err)
{
    char why[256];
    int problems = 0;
    if (webhook_allowed_nets_set(app->cfg.webhook_allowed_nets, why, sizeof why) != 0) {
        fprintf(err, "duban: DUBAN_WEBHOOK_ALLOWED_NETS is not valid: %s\n", why);
        problems++;
    }
    struct webhook_policy policy = {.disable_after = app->cfg.webhook_disable_after};
    if (webhook_schedule_parse(app->cfg.webhook_retry_schedule, &policy, why, sizeof why) != 0) {
        fprintf(err, "duban: DUBAN_WEBHOOK_RETRY_SCHEDULE=\"%.80s\" is not valid: %s\n",
                app->cfg.webhook_retry_schedule, why);
        problems++;
    }
    webhook_policy_set(&policy);
    return problems;
}

/* Lets n more senders look for work. */
static void wake_senders(struct webhook_worker *w, int n)
{
    pthread_mutex_lock(&w->lock);
    if (w->pending < n)
        w->pending = n;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

static void pause_ms(int ms)
{
    nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L}, NULL);
}

/* Follows the feed's notifications: a change wakes every sender; each
 * tick wakes one (a retry may be due, a lease may have expired). Purges
 * delivery log rows older than the change events now and then. */
static void *listen_thread(void *arg)
{
    struct webhook_worker *w = arg;
    time_t purged = 0;
    while (!atomic_load(&w->stopping)) {
        int notified = webhook_listener_wait(w->listener, TICK_MS);
        atomic_store(&w->lease_pid, webhook_listener_pid(w->listener));
        wake_senders(w, notified ? SENDERS : 1);
        if (time(NULL) - purged >= PURGE_EVERY_S) {
            struct call c;
            call_init(&c, w->app->db);
            if (webhook_log_purge(&c, w->app->cfg.changes_retention_days) == DUBAN_OK)
                purged = time(NULL);
            call_clear(&c);
        }
    }
    return NULL;
}

/* Waits to be woken; then the subscriptions the other senders hold, into
 * others. Returns how many, or -1 when stopping. */
static int next_turn(struct webhook_worker *w, int me, int64_t *others)
{
    pthread_mutex_lock(&w->lock);
    while (!w->pending && !atomic_load(&w->stopping))
        pthread_cond_wait(&w->wake, &w->lock);
    int n = 0;
    if (!atomic_load(&w->stopping)) {
        w->pending--;
        for (int i = 0; i < SENDERS; i++)
            if (i != me && w->busy[i])
                others[n++] = w->busy[i];
    } else {
        n = -1;
    }
    pthread_mutex_unlock(&w->lock);
    return n;
}

static void set_busy(struct webhook_worker *w, int me, int64_t id)
{
    pthread_mutex_lock(&w->lock);
    w->busy[me] = id;
    pthread_mutex_unlock(&w->lock);
}

/* Records an outcome, waiting for the database while it is away (the
 * send was made: forgetting it would make it again). 0 when recorded. */
static int record(struct webhook_worker *w, struct webhook_job *job, const struct webhook_outcome *o, int *keep)
{
    time_t since = time(NULL);
    for (;;) {
        struct call c;
        call_init(&c, w->app->db);
        duban_status s = webhook_record(&c, job, o, keep);
        if (s != DUBAN_OK)
            log_msg(LOG_WARN, "webhook %lld: the outcome of event %s is not recorded yet: %s", (long long)job->webhook_id,
                    job->event_id, c.detail);
        call_clear(&c);
        if (s == DUBAN_OK)
            return 0;
        if (s != DUBAN_UNAVAILABLE || atomic_load(&w->stopping) || time(NULL) - since > RECORD_PATIENCE_S)
            return -1;
        pause_ms(1000);
    }
}

/* Delivers the sends of a claimed subscription one after another, in
 * order, until none is due, the lease is lost, or SENDS_PER_CLAIM; then
 * lets it go. */
static void deliver(struct webhook_worker *w, struct webhook_sender *sender, struct webhook_job *job)
{
    for (int i = 0; i < SENDS_PER_CLAIM && !atomic_load(&w->stopping); i++) {
        struct call c;
        call_init(&c, w->app->db);
        int found = 0;
        duban_status s = webhook_next(&c, job, &found);
        call_clear(&c);
        if (s != DUBAN_OK || !found)
            break;
        struct webhook_outcome o;
        if (webhook_send(sender, job, &w->stopping, &o) != 0)
            break;
        log_msg(o.error[0] ? LOG_INFO : LOG_DEBUG, "webhook %lld: %s %s attempt %d: %s", (long long)job->webhook_id,
                job->type, job->event_id, job->attempt, o.error[0] ? o.error : "delivered");
        int keep = 0;
        if (record(w, job, &o, &keep) != 0 || !keep)
            break;
    }
    struct call c;
    call_init(&c, w->app->db);
    webhook_release(&c, job);
    call_clear(&c);
}

/* A sender: when woken, claims a subscription with work (skipping those
 * the other senders hold) and delivers it; another sender is woken
 * meanwhile, as more may have work. */
static void *send_thread(void *arg)
{
    struct webhook_worker *w = ((struct sender *)arg)->w;
    int me = ((struct sender *)arg)->me;
    struct webhook_sender *sender = webhook_sender_new();
    int64_t others[SENDERS];
    int n;
    while (sender && (n = next_turn(w, me, others)) >= 0) {
        int pid = atomic_load(&w->lease_pid);
        if (!pid)
            continue;
        struct call c;
        call_init(&c, w->app->db);
        struct webhook_job job;
        duban_status s = webhook_claim(&c, pid, others, (size_t)n, &job);
        call_clear(&c);
        if (s != DUBAN_OK || !job.webhook_id)
            continue;
        set_busy(w, me, job.webhook_id);
        wake_senders(w, 1);
        deliver(w, sender, &job);
        set_busy(w, me, 0);
    }
    if (!sender)
        log_msg(LOG_ERROR, "a webhook sender could not start (libcurl)");
    webhook_sender_free(sender);
    return NULL;
}

struct webhook_worker *webhook_worker_start(struct app *app)
{
    struct webhook_worker *w = calloc(1, sizeof *w);
    if (!w || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(w->listener = webhook_listener_new(app->cfg.database_url))) {
        free(w);
        return NULL;
    }
    w->app = app;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->listening, NULL, listen_thread, w) != 0) {
        webhook_listener_free(w->listener);
        free(w);
        return NULL;
    }
    for (; w->started < SENDERS; w->started++) {
        struct sender *s = &w->senders[w->started];
        *s = (struct sender){w, w->started, 0};
        if (pthread_create(&s->thread, NULL, send_thread, s) != 0)
            break;
    }
    log_msg(LOG_INFO, "webhook deliveries: %d senders", w->started);
    return w;
}

void webhook_worker_stop(struct webhook_worker *w)
{
    if (!w)
        return;
    atomic_store(&w->stopping, 1);
    pthread_mutex_lock(&w->lock);
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < w->started; i++)
        pthread_join(w->senders[i].thread, NULL);
    pthread_join(w->listening, NULL);
    webhook_listener_free(w->listener);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
