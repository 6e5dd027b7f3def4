/* A cache of authenticated tokens, so that a request does not need a
 * database round trip to learn who is asking. It is trusted only while a
 * listener connection follows the database's `duban_tokens` notifications
 * (sent by a trigger whenever a token changes): any notification, or the
 * loss of that connection, empties it. Entries also age out after ttl_s. */
#ifndef DUBAN_TOKEN_CACHE_H
#define DUBAN_TOKEN_CACHE_H

#include <stdint.h>

#include "model/token.h"

struct token_cache;

/* Starts the cache and its listener thread; NULL on failure. */
struct token_cache *token_cache_start(const char *url, int ttl_s);
void token_cache_stop(struct token_cache *cache);

/* The generation to hand back to token_cache_put: an entry read from the
 * database before a change was notified must not be stored after it. */
uint64_t token_cache_generation(struct token_cache *cache);

/* 1 and *out when secret is cached, fresh and not expired; else 0. */
int token_cache_get(struct token_cache *cache, const char *secret, struct actor *out);
void token_cache_put(struct token_cache *cache, const char *secret, const struct actor *actor, uint64_t generation);

/* Forgets every entry (a token of this process was revoked). */
void token_cache_clear(struct token_cache *cache);

#endif
