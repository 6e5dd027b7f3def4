/* Following the change feed as it grows, for every open stream at once.
 *
 * One thread per duban holds one database connection of its own (outside
 * the pool) that LISTENs on duban_changes: each notification (and, while
 * a transaction still running holds committed events back, a short poll
 * until they may be read) makes it read the new events once, in feed
 * order, into a bounded ring in memory, and wake the streams. A stream
 * takes the events after its position from the ring, filtered, without a
 * database connection; one that is behind the ring (resumed from an old
 * cursor, or a slow client) reads pages through the pool until it has
 * caught up. The same thread purges old events in small batches. */
#ifndef DUBAN_CHANGE_HUB_H
#define DUBAN_CHANGE_HUB_H

#include "model/changes.h"

struct db;
struct change_hub;
struct change_stream;

struct change_hub_config {
    const char *url;        /* the database (the listening connection) */
    int max_streams;        /* streams open at most */
    int retention_days;     /* events older than this are purged */
    const char *timezone;   /* the session TimeZone, as the pool's */
};

/* Starts the hub's thread. NULL on allocation failure (a database that
 * cannot be reached is retried by the thread). */
struct change_hub *change_hub_start(struct db *db, const struct change_hub_config *config);

/* A write of this duban committed (db_on_commit's callback; arg is the
 * hub): the hub's thread announces it on duban_changes (NOTIFY), once for
 * all the commits since its last announcement and at most every
 * ANNOUNCE_GAP_MS, to this duban's streams and webhook deliveries and to
 * the other instances. A NOTIFY in every write transaction cost the write
 * 10-15 % of its throughput (PostgreSQL serialises the commits of
 * notifying transactions, and wakes every listener at each). */
void change_hub_committed(void *arg);

/* Ends every stream (their next wait returns at once) and stops the
 * thread; streams may still be closed afterwards. */
void change_hub_stop(struct change_hub *hub);

/* Frees the hub once every stream is closed. */
void change_hub_free(struct change_hub *hub);

/* Opens a stream after `cursor` (NULL: from the newest event now) for the
 * events f lets through. DUBAN_UNAVAILABLE when max_streams are open;
 * DUBAN_BAD_INPUT or DUBAN_GONE for a cursor changes_read refuses. *first
 * holds the events to send first (those after the cursor, a page). */
duban_status change_stream_open(struct change_hub *hub, struct call *c, const char *cursor,
                                const struct change_filter *f, struct change_stream **out, struct change_page *first);

/* Waits at most wait_ms for events after what the stream has been given,
 * and gives them (out may be empty: nothing came). DUBAN_GONE when the
 * hub is stopping (or the stream fell behind the purge): the stream ends. */
duban_status change_stream_next(struct change_stream *s, int wait_ms, struct change_page *out);

/* What a stream served without a thread of its own leaves with the hub:
 * called once, under the hub's lock (it may only signal), when events
 * come after the stream's position, when the hub stops, or when the time
 * it was armed for has come. */
typedef void (*change_wake_fn)(void *arg);

/* change_stream_next without waiting: when there is nothing to give, arms
 * wake(arg) (at the latest at wake_at, CLOCK_MONOTONIC milliseconds) and
 * returns an empty page; the stream is then asked again once woken. */
duban_status change_stream_take(struct change_stream *s, struct change_page *out, int64_t wake_at, change_wake_fn wake,
                                void *arg);

void change_stream_close(struct change_stream *s);

/* Streams open now. */
int change_hub_streams(struct change_hub *hub);

#endif
