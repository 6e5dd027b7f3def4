#include "model/token.h"

#include <orcania.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "model/resource_def.h"
#include "model/token_cache.h"

enum { SECRET_BYTES = 32 };

static const char *const ROLES[] = {"admin", "editor", "reporter", "reader", NULL};

static const struct field FIELDS[] = {
    {"name", FIELD_TEXT, 1, 1, 100, NULL, "name", NULL},
    {"role", FIELD_ENUM, 1, 0, 0, ROLES, "role", NULL},
    {"unit_id", FIELD_ID, 0, 0, 0, NULL, "unit_id", NULL},
    {"expires_at", FIELD_TIMESTAMP, 0, 0, 0, NULL, "expires_at", NULL},
};
static const char *const READ_ONLY[] = {"id", "created_at", "updated_at", "version", "prefix",
                                        "last_used_at", "revoked_at", NULL};

#define TOKEN_JSON                                                                                       \
    "json_build_object('id', r.id, 'name', r.name, 'role', r.role, 'unit_id', r.unit_id, 'prefix', "    \
    "r.prefix, 'created_at', rfc3339(r.created_at), 'last_used_at', rfc3339(r.last_used_at), "          \
    "'expires_at', rfc3339(r.expires_at), 'revoked_at', rfc3339(r.revoked_at), "                        \
    "'updated_at', rfc3339(r.updated_at), 'version', r.version)"

const struct resource token_resource = {
    .name = "token",
    .table = "api_token",
    .json = TOKEN_JSON,
    .fields = {FIELDS, sizeof FIELDS / sizeof *FIELDS, READ_ONLY},
};

static const struct filter FILTERS[] = {
    {"role", FILTER_ENUM, "r.role = $$", NULL, 0, 0, ROLES},
    {"revoked", FILTER_BOOL, "r.revoked_at IS NOT NULL", "r.revoked_at IS NULL", 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};
static const struct sort_key SORTS[] = {{"id", "r.id"}, {"name", "r.name"}, {"created_at", "r.created_at"}, {NULL, NULL}};

const struct list_spec token_list = {"api_token", TOKEN_JSON, FILTERS, SORTS, "r.id"};

static enum role role_of(const char *name)
{
    for (int i = 0; ROLES[i]; i++)
        if (strcmp(ROLES[i], name) == 0)
            return (enum role)i;
    return ROLE_READER;
}

struct auth_args {
    const char *secret;
    struct actor *out;
};

static duban_status authenticate_work(struct call *c, PGconn *conn, void *arg)
{
    struct auth_args *a = arg;
    const char *params[] = {a->secret};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "WITH t AS (SELECT id, name, role, unit_id, last_used_at, expires_at FROM api_token "
                             " WHERE hash = sha256(convert_to($1, 'UTF8')) AND revoked_at IS NULL "
                             " AND (expires_at IS NULL OR expires_at > now())), "
                             "used AS (UPDATE api_token a SET last_used_at = now() FROM t WHERE a.id = t.id "
                             " AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute')) "
                             "SELECT id, name, role, coalesce(unit_id, 0), coalesce(extract(epoch FROM expires_at)::bigint, 0) FROM t",
                             1, params);
    if (s != DUBAN_OK)
        return s;
    if (PQntuples(res) == 1) {
        a->out->token_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(a->out->name, sizeof a->out->name, "%s", PQgetvalue(res, 0, 1));
        a->out->role = role_of(PQgetvalue(res, 0, 2));
        a->out->unit_id = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
        a->out->expires_at = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    } else {
        s = call_fail(c, DUBAN_NOT_FOUND, "the token is unknown, expired or revoked");
    }
    PQclear(res);
    return s;
}

duban_status token_authenticate(struct call *c, struct token_cache *cache, const char *secret, struct actor *out)
{
    memset(out, 0, sizeof *out);
    if (strncmp(secret, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0 || strlen(secret) > 100)
        return call_fail(c, DUBAN_NOT_FOUND, "the token is malformed");
    if (token_cache_get(cache, secret, out))
        return DUBAN_OK;
    uint64_t generation = token_cache_generation(cache);
    struct auth_args a = {secret, out};
    duban_status s = db_read(c, authenticate_work, &a);
    if (s == DUBAN_OK)
        token_cache_put(cache, secret, out, generation);
    return s;
}

/* A fresh secret: the prefix and 256 random bits in base64url. */
static int new_secret(char *out, size_t size)
{
    unsigned char bytes[SECRET_BYTES];
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes)
        return -1;
    struct _o_datum encoded = {0, NULL};
    if (!o_base64url_encode_alloc(bytes, sizeof bytes, &encoded))
        return -1;
    snprintf(out, size, "%s%.*s", TOKEN_PREFIX, (int)encoded.size, (const char *)encoded.data);
    o_free(encoded.data);
    return 0;
}

struct create_args {
    json_t *body;
    const char *secret;
    json_t **out;
};

static duban_status create_work(struct call *c, PGconn *conn, void *arg)
{
    struct create_args *a = arg;
    char *unit = sql_text(json_object_get(a->body, "unit_id"));
    const char *params[] = {json_string_value(json_object_get(a->body, "name")),
                            json_string_value(json_object_get(a->body, "role")), unit,
                            json_string_value(json_object_get(a->body, "expires_at")), a->secret};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "INSERT INTO api_token (name, role, unit_id, expires_at, hash, prefix) "
                             "VALUES ($1, $2, $3, $4, sha256(convert_to($5, 'UTF8')), left($5, 12)) RETURNING id",
                             5, params);
    free(unit);
    if (s != DUBAN_OK)
        return s;
    int64_t id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return resource_fetch(c, conn, &token_resource, id, 0, a->out);
}

duban_status token_create(struct call *c, json_t *body, json_t **out)
{
    *out = NULL;
    duban_status s = validate_document(c, &token_resource.fields, body);
    if (s != DUBAN_OK)
        return s;
    const char *role = json_string_value(json_object_get(body, "role"));
    int has_unit = json_is_integer(json_object_get(body, "unit_id"));
    if (strcmp(role, "reporter") == 0 && !has_unit)
        call_field_error(c, "unit_id", "a reporter token needs the unit it reports for");
    if (strcmp(role, "reporter") != 0 && has_unit)
        call_field_error(c, "unit_id", "only a reporter token is bound to a unit");
    if ((s = call_errors_status(c, DUBAN_INVALID)) != DUBAN_OK)
        return s;
    char secret[128];
    if (new_secret(secret, sizeof secret) != 0)
        return call_fail(c, DUBAN_ERROR, "no randomness available for a token");
    struct create_args a = {body, secret, out};
    s = db_write(c, create_work, &a);
    if (s == DUBAN_INVALID && strcmp(c->sqlstate, "23503") == 0)
        s = call_fail(c, DUBAN_INVALID, "unit %lld does not exist",
                      (long long)json_integer_value(json_object_get(body, "unit_id")));
    if (s == DUBAN_OK)
        json_object_set_new(*out, "token", json_string(secret));
    explicit_bzero(secret, sizeof secret);
    return s;
}

struct revoke_args {
    char id[24], version[24];
};

static duban_status revoke_work(struct call *c, PGconn *conn, void *arg)
{
    struct revoke_args *a = arg;
    const char *params[] = {a->id, a->version};
    PGresult *res;
    duban_status s = db_exec(c, conn, &res,
                             "WITH t AS (SELECT id, version FROM api_token WHERE id = $1 FOR UPDATE), "
                             "done AS (UPDATE api_token a SET revoked_at = coalesce(a.revoked_at, now()), "
                             " version = a.version + CASE WHEN a.revoked_at IS NULL THEN 1 ELSE 0 END, updated_at = now() "
                             " FROM t WHERE a.id = t.id AND ($2::int = 0 OR t.version = $2::int) RETURNING a.id) "
                             "SELECT t.version, EXISTS (SELECT 1 FROM done) FROM t",
                             2, params);
    if (s != DUBAN_OK)
        return s;
    int found = PQntuples(res) == 1, done = found && strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    char have[24];
    snprintf(have, sizeof have, "%s", found ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    if (!found)
        return call_fail(c, DUBAN_NOT_FOUND, "token %s does not exist", a->id);
    if (!done)
        return call_fail(c, DUBAN_STALE, "token %s is at version %s, not %s", a->id, have, a->version);
    return DUBAN_OK;
}

duban_status token_revoke(struct call *c, int64_t id, int64_t if_version)
{
    struct revoke_args a;
    id_text(id, a.id);
    id_text(if_version, a.version);
    return db_write(c, revoke_work, &a);
}
