/* Content coding of answers (RFC 9110 section 8.4): bodies are compressed
 * with gzip or deflate when the client's Accept-Encoding prefers one, they
 * are large enough to gain (DUBAN_GZIP_MIN_BYTES) and compression is on
 * (DUBAN_GZIP_LEVEL). Called by the reply helpers of api/exchange.c only,
 * so every route compresses the same way. */
#ifndef DUBAN_COMPRESS_H
#define DUBAN_COMPRESS_H

#include <stddef.h>
#include <ulfius.h>

enum coding { CODING_IDENTITY, CODING_GZIP, CODING_DEFLATE };

/* The coding an Accept-Encoding value (NULL when absent) asks for, by its
 * q-values; ties go to gzip, then deflate, then identity, which comes last
 * unless the value names it with a higher q. *identity_ok is
 * 0 when the value refuses identity ("identity;q=0", or "*;q=0" without
 * identity named). Without the header no coding is chosen. */
enum coding coding_accepted(const char *accept_encoding, int *identity_ok);

/* Compresses the body of res in place when the request of its exchange
 * accepts it and the body qualifies; always adds Vary: Accept-Encoding.
 * Never compresses an event stream or a body already carrying a
 * Content-Encoding. On any failure the body is left as it was. */
void compress_reply(struct _u_response *res, const char *content_type);

/* Adds Accept-Encoding to the Vary header of res (for a 304, which varies
 * as its 200 would). */
void compress_vary(struct _u_response *res);

#endif
