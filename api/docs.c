/* The contract over HTTP, open to all: /openapi.yaml and /openapi.json
 * (compiled into the executable by cmake/docs.cmake, the JSON converted from
 * the YAML at build time), and /docs, a page where Swagger UI renders
 * /openapi.json. Swagger UI's own files are not compiled in: they are read
 * once, at the first request for them, from docs/ beside the executable or
 * else from $DUBAN_DOCS_DIR. Whatever the build or the installation lacks
 * answers 503, so the rest of the service never depends on it. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/exchange.h"
#include "api/problem.h"
#include "api/router.h"
#include "api/routes.h"
#include "model/log.h"

#ifdef DUBAN_DOCS_EMBEDDED
extern const unsigned char duban_openapi_yaml[], duban_openapi_json[], duban_docs_index[], duban_docs_init[];
extern const size_t duban_openapi_yaml_len, duban_openapi_json_len, duban_docs_index_len, duban_docs_init_len;
#else
static const unsigned char duban_openapi_yaml[1], duban_openapi_json[1], duban_docs_index[1], duban_docs_init[1];
static const size_t duban_openapi_yaml_len, duban_openapi_json_len, duban_docs_index_len, duban_docs_init_len;
#endif

enum { MAX_ASSET_BYTES = 16 << 20 };

/* A file of Swagger UI, loaded once. */
struct asset {
    const char *name;
    const char *content_type;
    char *data;     /* NULL when it could not be read */
    size_t len;
};

static struct asset assets[] = {
    {"swagger-ui-bundle.js", "text/javascript; charset=utf-8", NULL, 0},
    {"swagger-ui.css", "text/css; charset=utf-8", NULL, 0},
};
enum { ASSET_BUNDLE, ASSET_CSS, ASSET_COUNT };

static pthread_once_t assets_once = PTHREAD_ONCE_INIT;

/* Reads dir/name whole into a new buffer; NULL when it cannot. */
static char *read_file(const char *dir, const char *name, size_t *len)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && size <= MAX_ASSET_BYTES && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)size);
        if (data && fread(data, 1, (size_t)size, f) != (size_t)size) {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    *len = data ? (size_t)size : 0;
    return data;
}

/* Loads every asset from dir; 0 when all were read, else frees them. */
static int load_from(const char *dir)
{
    int ok = 1;
    for (int i = 0; i < ASSET_COUNT; i++)
        ok &= (assets[i].data = read_file(dir, assets[i].name, &assets[i].len)) != NULL;
    if (ok)
        return 0;
    for (int i = 0; i < ASSET_COUNT; i++) {
        free(assets[i].data);
        assets[i].data = NULL;
        assets[i].len = 0;
    }
    return -1;
}

/* docs/ beside the executable first (where the build puts the files), then
 * $DUBAN_DOCS_DIR (an installation that keeps them elsewhere). */
static void load_assets(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 16);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            strcpy(slash + 1, "docs");
            if (load_from(exe) == 0)
                return;
        }
    }
    const char *dir = getenv("DUBAN_DOCS_DIR");
    if (dir && *dir && load_from(dir) == 0)
        return;
    log_msg(LOG_WARN, "Swagger UI files not found beside the executable nor in DUBAN_DOCS_DIR; /docs answers 503");
}

static const struct asset *asset(int which)
{
    pthread_once(&assets_once, load_assets);
    return assets[which].data ? &assets[which] : NULL;
}

static int unavailable(const struct _u_request *req, struct _u_response *res, const char *what)
{
    char detail[200];
    snprintf(detail, sizeof detail, "%s is not available: this build or installation of duban lacks it", what);
    return reply_problem(req, res, 503, detail, NULL);
}

static int cb_openapi_yaml(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    (void)ctx;
    if (!duban_openapi_yaml_len)
        return unavailable(req, res, "the contract");
    return reply_text(res, 200, (const char *)duban_openapi_yaml, duban_openapi_yaml_len, "application/yaml");
}

static int cb_openapi_json(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    (void)ctx;
    if (!duban_openapi_json_len)
        return unavailable(req, res, "the contract as JSON");
    return reply_text(res, 200, (const char *)duban_openapi_json, duban_openapi_json_len, "application/json");
}

/* The page is served only when everything it needs can be served too. */
static int cb_docs(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    (void)ctx;
    if (!duban_docs_index_len || !duban_openapi_json_len || !asset(ASSET_BUNDLE) || !asset(ASSET_CSS))
        return unavailable(req, res, "the documentation page");
    return reply_text(res, 200, (const char *)duban_docs_index, duban_docs_index_len, "text/html; charset=utf-8");
}

static int cb_docs_init(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    (void)ctx;
    if (!duban_docs_init_len)
        return unavailable(req, res, "the documentation page");
    return reply_text(res, 200, (const char *)duban_docs_init, duban_docs_init_len, "text/javascript; charset=utf-8");
}

static int serve_asset(const struct _u_request *req, struct _u_response *res, int which)
{
    const struct asset *a = asset(which);
    if (!a)
        return unavailable(req, res, assets[which].name);
    int rc = reply_text(res, 200, a->data, a->len, a->content_type);
    ulfius_add_header_to_response(res, "Cache-Control", "public, max-age=3600");
    return rc;
}

static int cb_docs_bundle(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    (void)ctx;
    return serve_asset(req, res, ASSET_BUNDLE);
}

static int cb_docs_css(const struct _u_request *req, struct _u_response *res, void *ctx)
{
    (void)ctx;
    return serve_asset(req, res, ASSET_CSS);
}

void docs_register(struct router *r)
{
    router_add(r, "GET", "/openapi.yaml", cb_openapi_yaml, NULL);
    router_add(r, "GET", "/openapi.json", cb_openapi_json, NULL);
    router_add(r, "GET", "/docs", cb_docs, NULL);
    router_add(r, "GET", "/docs/init.js", cb_docs_init, NULL);
    router_add(r, "GET", "/docs/swagger-ui-bundle.js", cb_docs_bundle, NULL);
    router_add(r, "GET", "/docs/swagger-ui.css", cb_docs_css, NULL);
}
