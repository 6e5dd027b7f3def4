/* Bearer tokens: random secrets shown once, stored only as SHA-256
 * hashes, each with a role and, for reporters, the one unit it acts for. */
#ifndef DUBAN_TOKEN_H
#define DUBAN_TOKEN_H

#include "model/listing.h"
#include "model/resource.h"

#define TOKEN_PREFIX "dbn_"

enum role { ROLE_ADMIN, ROLE_EDITOR, ROLE_REPORTER, ROLE_READER };

struct actor {
    int64_t token_id;
    char name[128];
    enum role role;
    int64_t unit_id;      /* reporters only; 0 otherwise */
    int64_t expires_at;   /* seconds since the epoch; 0 for never */
};

struct token_cache;

extern const struct resource token_resource;
extern const struct list_spec token_list;

/* Finds the live (not revoked, not expired) token with this secret, from
 * the cache (may be NULL) when it knows it, else from the database, noting
 * its use. DUBAN_NOT_FOUND when there is none. */
duban_status token_authenticate(struct call *c, struct token_cache *cache, const char *secret, struct actor *out);

/* Creates a token from {name, role, unit_id?, expires_at?}. *out is its
 * representation plus "token", the secret, which is never shown again. */
duban_status token_create(struct call *c, json_t *body, json_t **out);

/* Revokes token id (idempotently). DUBAN_NOT_FOUND when there is none,
 * DUBAN_STALE when if_version (0: any) is not its version. */
duban_status token_revoke(struct call *c, int64_t id, int64_t if_version);

#endif
