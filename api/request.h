/* Reading a request strictly: the path id, the query, the JSON body and the
 * conditional headers. Functions ending in _or_reply answer the client with
 * a problem themselves when the input is bad, and then return -1. */
#ifndef DUBAN_REQUEST_H
#define DUBAN_REQUEST_H

#include <jansson.h>
#include <stdint.h>
#include <ulfius.h>

#include "model/params.h"

struct app;

/* Checks that the path and every query parameter's name and value, once
 * percent-decoded, are UTF-8 text without NUL bytes; answers 400 naming
 * each one that is not (quoted with its bad bytes as \xHH). Runs first for
 * every request, so no route can read text that is not UTF-8. */
int url_or_reply(const struct _u_request *req, struct _u_response *res);

/* The positive id in the path, or 0 when it is not one. */
int64_t path_id(const struct _u_request *req);

/* The id in the path; answers 404 when it is not a positive integer. */
int path_id_or_reply(const struct _u_request *req, struct _u_response *res, int64_t *id);

/* Copies the query parameters (the path variable excluded) into out;
 * answers 400 for more parameters than duban reads anywhere. Values are
 * borrowed from req. */
int query_or_reply(const struct _u_request *req, struct _u_response *res, struct param_list *out);

/* Copies the query into out (may be NULL) and answers 400 for any
 * parameter not named in allowed (NULL-terminated; NULL allows none). */
int known_query_or_reply(const struct _u_request *req, struct _u_response *res, const char *const *allowed,
                         struct param_list *out);

/* Parses the body as one JSON object: 415 when the Content-Type is not
 * JSON (merge-patch JSON accepted when `patch`), 400 for malformed JSON,
 * duplicate keys, invalid UTF-8 or a non-object. *out is a new reference. */
int json_body_or_reply(const struct _u_request *req, struct _u_response *res, int patch, json_t **out);

/* The version named by If-Match: 0 when absent or "*". Answers 400 when
 * the header is malformed and 428 when it is absent but required. */
int if_match_or_reply(const struct _u_request *req, struct _u_response *res, const struct app *app,
                      int64_t *version);

/* 1 when If-None-Match names `version` (or is "*"). */
int if_none_match(const struct _u_request *req, int64_t version);

/* 1 when the Prefer header (RFC 7240) holds the preference name=value,
 * the value plain or quoted, in any case. */
int prefers(const struct _u_request *req, const char *name, const char *value);

/* A header, whatever capitalisation the client used. */
const char *header(const struct _u_request *req, const char *name);

#endif
