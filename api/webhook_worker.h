/* The webhook delivery worker that `duban serve` runs: a thread following
 * the change feed's notifications (and a one-second timer, for retries
 * that come due and leases that expire), and a few sender threads, each
 * delivering one subscription at a time (model/webhook_queue.h), so that a
 * slow or hanging receiver holds up only its own subscription. */
#ifndef DUBAN_WEBHOOK_WORKER_H
#define DUBAN_WEBHOOK_WORKER_H

#include <stdio.h>

struct app;
struct webhook_worker;

/* Reads the webhook settings of app->cfg (allowed networks, retry
 * schedule, disabling), writing one line per bad one to err. 0 when they
 * are usable; they then hold for the whole process. */
int webhook_settings_apply(const struct app *app, FILE *err);

/* Starts the worker on app's database; NULL on failure. */
struct webhook_worker *webhook_worker_start(struct app *app);

/* Stops it: sends in flight are abandoned (their leases let go, nothing
 * recorded, so that they are made again), then the threads are joined. */
void webhook_worker_stop(struct webhook_worker *w);

#endif
