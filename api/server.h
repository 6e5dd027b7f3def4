/* The HTTP server: libmicrohttpd through ulfius, one thread per connection
 * with poll() (no 1,024-descriptor ceiling), a connection cap and an idle
 * timeout; stopped by draining the requests in flight first. */
#ifndef DUBAN_SERVER_H
#define DUBAN_SERVER_H

#include <ulfius.h>

struct app;

/* Initialises the instance and registers every route. 0 on success; on
 * failure nothing is left to release. */
int server_init(struct _u_instance *instance, struct app *app);

/* Binds cfg.listen and starts serving. 0 on success; on failure the
 * instance is released as server_stop would. */
int server_start(struct _u_instance *instance, struct app *app);

/* The libmicrohttpd connection of the request the calling thread's
 * callbacks serve (for a response that outlives its callback: a stream). */
struct MHD_Connection *server_connection(void);

/* Stops accepting, lets requests in flight finish (at most drain_ms), then
 * closes everything and releases the instance. */
void server_stop(struct _u_instance *instance, struct app *app, int drain_ms);

#endif
