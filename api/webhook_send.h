/* Sending one webhook message: a POST of the event with the Standard
 * Webhooks headers (webhook-id, webhook-timestamp, webhook-signature),
 * over libcurl. Every address the name resolves to is checked before a
 * socket is opened to it (model/webhook.h: loopback, link-local and
 * unspecified refused unless allowed), and the connection goes to that
 * checked address, so a name cannot resolve to another one later. No
 * proxy, no redirect followed; 10 s for the whole send; at most 64 KiB of
 * the answer is read. Any 2xx is a success. */
#ifndef DUBAN_WEBHOOK_SEND_H
#define DUBAN_WEBHOOK_SEND_H

#include <stdatomic.h>

#include "model/webhook_queue.h"

struct webhook_sender;

/* A sender for one thread (it keeps connections open between sends).
 * NULL when libcurl cannot start one. */
struct webhook_sender *webhook_sender_new(void);
void webhook_sender_free(struct webhook_sender *s);

/* Sends job's body to job's URL and describes the outcome in o. Returns
 * 0 when the send was made (whatever its outcome), -1 when it was given
 * up because *stop became non-zero (nothing to record then). */
int webhook_send(struct webhook_sender *s, const struct webhook_job *job, const atomic_int *stop,
                 struct webhook_outcome *o);

#endif
