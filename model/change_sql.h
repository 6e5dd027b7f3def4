/* Inside model/ only: the SQL of change events. Their representations are
 * rendered with the same SQL expressions as the reads of each resource
 * (one source of each representation). */
#ifndef DUBAN_CHANGE_SQL_H
#define DUBAN_CHANGE_SQL_H

#ifdef DUBAN_HTTP_LAYER
#error "api/ reaches model/ through its public headers; this one stays inside model/"
#endif

#include "model/sql.h"

struct change_filter;
struct change_page;
struct change_position;

/* An SQL expression over a change_event row `e`: the `data` a reader gets.
 * null for a delete; the stored representation once rendered; else (an
 * event written by SQL run outside duban, not rendered at its commit) the
 * entity as it is now. */
const char *change_data_sql(void);

/* An SQL condition on a change_event row `e`: its data was not rendered at
 * its commit. */
const char *change_unrendered_sql(void);

/* The statement that renders the events of the current transaction, sent
 * by db_write just before COMMIT. No parameters. */
const char *change_render_sql(void);

/* changes_read_from on conn, a connection of the caller's own (NULL: a
 * pooled one). */
duban_status change_page_on(struct call *c, PGconn *conn, const struct change_position *after,
                            const struct change_filter *f, int limit, struct change_page *out);

/* Removes at most `batch` of the oldest events, those older than
 * retention_days, on conn (one statement, its own transaction); *removed
 * says how many went. */
duban_status change_purge_on(struct call *c, PGconn *conn, int retention_days, int batch, long *removed);

#endif
