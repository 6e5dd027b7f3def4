/* Keeping what tasks show today ready. A task's colour, its reasons, its
 * expected progress and its next report due depend on the day (in
 * DUBAN_TIMEZONE) and on its plan's settings; every write of a task
 * renders them with its doc (migration 0008), and a read uses them while
 * they are of today and of the plan's current version, computing them
 * otherwise. The refresher renders again, in small batches, the tasks
 * whose day has passed or whose plan's settings changed, so that reads
 * stay one probe: at start, and then every minute. A minute's looks read
 * an index (migration 0027), nothing when nothing is stale. Several duban
 * instances may each run one: a batch skips the rows another holds. */
#ifndef DUBAN_TODAY_H
#define DUBAN_TODAY_H

struct db;
struct today_refresher;

/* Starts the refresher's thread; NULL when it cannot. */
struct today_refresher *today_refresher_start(struct db *db);

/* Stops the thread (a batch under way finishes) and frees the refresher. */
void today_refresher_stop(struct today_refresher *r);

#endif
