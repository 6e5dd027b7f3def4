#include "api/compress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <orcania.h>
#include <zlib.h>

#include "api/app.h"
#include "api/exchange.h"

/* The q-value of one Accept-Encoding element's parameters ("; q=0.5"):
 * 1 when absent; an unreadable q counts as 0 (RFC 9110 12.4.2 allows at
 * most three decimals, and anything else is refused rather than guessed). */
static double q_of(const char *params, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (params[i] != ';')
            continue;
        size_t j = i + 1;
        while (j < len && (params[j] == ' ' || params[j] == '\t'))
            j++;
        if (j + 2 <= len && (params[j] == 'q' || params[j] == 'Q') && params[j + 1] == '=') {
            char number[8] = "";
            size_t n = 0;
            for (j += 2; j < len && n + 1 < sizeof number && strchr("0123456789.", params[j]); j++)
                number[n++] = params[j];
            number[n] = '\0';
            char *end;
            double q = strtod(number, &end);
            return n && !*end && q >= 0 && q <= 1 ? q : 0;
        }
    }
    return 1;
}

enum coding coding_accepted(const char *value, int *identity_ok)
{
    double gzip = -1, deflate = -1, identity = -1, star = -1;
    *identity_ok = 1;
    if (!value)
        return CODING_IDENTITY;
    for (const char *p = value; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t name = strcspn(p, " \t;,");
        double q = q_of(p + name, len - name);
        if ((name == 4 && strncasecmp(p, "gzip", 4) == 0) || (name == 6 && strncasecmp(p, "x-gzip", 6) == 0))
            gzip = q;
        else if (name == 7 && strncasecmp(p, "deflate", 7) == 0)
            deflate = q;
        else if (name == 8 && strncasecmp(p, "identity", 8) == 0)
            identity = q;
        else if (name == 1 && *p == '*')
            star = q;
        p += len;
    }
    if (gzip < 0)
        gzip = star > 0 ? star : 0;
    if (deflate < 0)
        deflate = star > 0 ? star : 0;
    if (identity < 0)   /* acceptable unless refused, but chosen last when not named */
        identity = star == 0 ? 0 : 0.0001;
    *identity_ok = identity > 0;
    if (gzip > 0 && gzip >= deflate && gzip >= identity)
        return CODING_GZIP;
    if (deflate > 0 && deflate >= identity)
        return CODING_DEFLATE;
    return CODING_IDENTITY;
}

void compress_vary(struct _u_response *res)
{
    const char *vary = u_map_get_case(res->map_header, "Vary");
    if (!vary) {
        ulfius_add_header_to_response(res, "Vary", "Accept-Encoding");
    } else if (!strcasestr(vary, "Accept-Encoding")) {
        size_t len = strlen(vary) + sizeof ", Accept-Encoding";
        char *both = malloc(len);
        if (both) {
            snprintf(both, len, "%s, Accept-Encoding", vary);
            ulfius_add_header_to_response(res, "Vary", both);
            free(both);
        }
    }
}

/* Deflates in into a new buffer from o_malloc (ulfius's allocator, so
 * that the response can own it), gzip or zlib framing; NULL on failure. */
static unsigned char *deflated(const void *in, size_t len, int level, enum coding coding, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, level, Z_DEFLATED, coding == CODING_GZIP ? 15 + 16 : 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t bound = deflateBound(&z, (uLong)len) + 32;
    unsigned char *out = o_malloc(bound);
    if (out) {
        z.next_in = (Bytef *)in;
        z.avail_in = (uInt)len;
        z.next_out = out;
        z.avail_out = (uInt)bound;
        if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
            *out_len = z.total_out;
        } else {
            o_free(out);
            out = NULL;
        }
    }
    deflateEnd(&z);
    return out;
}

/* 1 when the media type of content_type is text/event-stream: events must
 * reach the client as they are written, never held in a compressor. */
static int is_event_stream(const char *content_type)
{
    return content_type && strncasecmp(content_type, "text/event-stream", 17) == 0;
}

void compress_reply(struct _u_response *res, const char *content_type)
{
    const struct exchange *ex = exchange_of(res);
    if (!ex || !ex->request || is_event_stream(content_type) || u_map_get_case(res->map_header, "Content-Encoding"))
        return;
    compress_vary(res);
    int level = ex->app->cfg.gzip_level, identity_ok;
    enum coding coding = coding_accepted(u_map_get_case(ex->request->map_header, "Accept-Encoding"), &identity_ok);
    size_t len = res->binary_body_length;
    if (level == 0 || coding == CODING_IDENTITY || len == 0 || (len < ex->app->cfg.gzip_min_bytes && identity_ok))
        return;
    size_t out_len = 0;
    unsigned char *out = deflated(res->binary_body, len, level, coding, &out_len);
    if (!out)
        return;
    if (out_len < len || !identity_ok) {   /* the response takes the buffer: no copy */
        o_free(res->binary_body);
        res->binary_body = out;
        res->binary_body_length = out_len;
        ulfius_add_header_to_response(res, "Content-Encoding", coding == CODING_GZIP ? "gzip" : "deflate");
    } else {
        o_free(out);
    }
}
