/* The delivery workers' side in the database. A worker claims a
 * subscription with work to do (a lease, taken with FOR UPDATE SKIP LOCKED
 * so that several duban instances share the subscriptions without sending
 * an event twice), takes its sends one at a time in feed order
 * (webhook_next), records each outcome (webhook_record), and lets go. The
 * lease names the backend of its instance's listening connection: when
 * that backend is gone (the instance died, kill -9 included), or after
 * LEASE_SECONDS in any case, another worker may take the subscription,
 * and the send in flight is made again, with the same webhook-id.
 * Everything is in PostgreSQL: a delivery survives a crash, a restart and
 * a database outage. */
#ifndef DUBAN_WEBHOOK_QUEUE_H
#define DUBAN_WEBHOOK_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "model/call.h"

enum { WEBHOOK_MAX_RETRIES = 32 };

/* When to try again: after attempt n failed (n from 1), wait delays[n - 1]
 * seconds, ±20 %; after attempt count + 1, give the event up. A
 * subscription whose last disable_after events were all given up is
 * disabled. */
struct webhook_policy {
    int delays[WEBHOOK_MAX_RETRIES];
    int count;
    int disable_after;
};

/* Parses DUBAN_WEBHOOK_RETRY_SCHEDULE (comma-separated seconds, such as
 * "5,300,1800"; empty: the default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
 * 10 h) into p->delays. -1 with a sentence in err when it is not one. */
int webhook_schedule_parse(const char *text, struct webhook_policy *p, char *err, size_t size);

/* Sets the policy every worker follows. Called once at startup. */
void webhook_policy_set(const struct webhook_policy *p);

/* One send: what to POST where, under which lease. */
struct webhook_job {
    int64_t webhook_id;
    char lease[40];            /* the lease token, "" when none is held */
    int64_t manual_id;         /* a queued send (test, redelivery), else 0 */
    char event_xid[24];        /* the feed event, for a feed send */
    int64_t event_seq;
    char event_id[40];         /* the webhook-id */
    char type[64];
    int attempt;               /* 1 for the first */
    char *url, *secret, *body; /* malloc'd, NULL when no send is taken */
};

/* Frees the send's strings, keeping the lease. */
void webhook_job_clear(struct webhook_job *job);

/* How a send went. */
struct webhook_outcome {
    int status_code;           /* the receiver's HTTP status, 0 when none came */
    int duration_ms;
    char error[400];           /* why it failed, "" on success */
};

/* Claims a subscription with work to do for the instance whose listening
 * backend is lease_pid, skipping the nbusy subscriptions in busy (held
 * by this instance already). job->webhook_id is 0 when there is none;
 * else job holds the lease (and no send yet). */
duban_status webhook_claim(struct call *c, int lease_pid, const int64_t *busy, size_t nbusy, struct webhook_job *job);

/* Under job's lease (extended): takes the next send, queued ones first,
 * then the feed's next event for the subscription once due, into job.
 * *found is 0 when there is nothing to send now, or the lease was lost. */
duban_status webhook_next(struct call *c, struct webhook_job *job, int *found);

/* Records the outcome of job's send in the delivery log and moves the
 * subscription on: past the event after a success or its last attempt,
 * or to the next attempt's time (letting the lease go). A 410 Gone, or
 * the policy's disable_after events given up in a row, disables it with
 * a reason and a webhook.disabled event. *keep is 1 when the lease is
 * still held and the next send may follow at once. On success job's
 * send is cleared; on failure job stays whole, to be recorded again. */
duban_status webhook_record(struct call *c, struct webhook_job *job, const struct webhook_outcome *o, int *keep);

/* Lets go of job's lease (if still held), and clears job. */
duban_status webhook_release(struct call *c, struct webhook_job *job);

/* Removes up to a batch of delivery log rows older than days. */
duban_status webhook_log_purge(struct call *c, int days);

#endif
