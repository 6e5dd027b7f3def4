/* The delivery workers' one listening connection: LISTEN duban_changes,
 * so that a committed change wakes them at once. Its backend also stands
 * for the instance in the leases it takes (model/webhook_queue.h): when
 * the instance dies, its backend goes, and its leases are free. Used by
 * one thread. */
#ifndef DUBAN_WEBHOOK_LISTEN_H
#define DUBAN_WEBHOOK_LISTEN_H

struct webhook_listener;

/* A listener on the database at url; it connects on its first wait. NULL
 * when out of memory. */
struct webhook_listener *webhook_listener_new(const char *url);
void webhook_listener_free(struct webhook_listener *l);

/* Waits up to timeout_ms for a notification, connecting (again) when the
 * connection is not open, at most once a second. 1 when changes were
 * notified, or the connection has just been (re)opened (changes may have
 * come meanwhile); 0 otherwise. */
int webhook_listener_wait(struct webhook_listener *l, int timeout_ms);

/* The backend pid of the listening connection, 0 while there is none. */
int webhook_listener_pid(const struct webhook_listener *l);

#endif
