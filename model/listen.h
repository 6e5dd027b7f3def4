/* Inside model/ only: a database connection of its own (outside the pool)
 * that LISTENs on a channel, for a thread that follows notifications. */
#ifndef DUBAN_LISTEN_H
#define DUBAN_LISTEN_H

#ifdef DUBAN_HTTP_LAYER
#error "api/ reaches model/ through its public headers; this one stays inside model/"
#endif

#include <libpq-fe.h>

/* Connects to url as `application` (options: libpq's, such as "-c
 * TimeZone=UTC", or NULL) and LISTENs on channel. NULL when the database
 * cannot be reached (within 2 s) or refuses. */
PGconn *db_listen(const char *url, const char *application, const char *options, const char *channel);

#endif
