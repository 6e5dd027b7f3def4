/* What a webhook subscription may name: its URL (http or https, no
 * credentials, no destination refused by the address policy), its event
 * patterns, and the address policy itself (loopback, link-local and
 * unspecified addresses refused unless DUBAN_WEBHOOK_ALLOWED_NETS lists
 * them). Pure code: no database, no network. */
#include "model/webhook.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { MAX_NETS = 64 };

struct net {
    int family;                 /* AF_INET or AF_INET6 */
    unsigned char addr[16];     /* 4 bytes used for AF_INET */
    int prefix;                 /* bits */
};

/* Set once at startup, before the workers and the server start. */
static struct net allowed[MAX_NETS];
static int allowed_count;

/* Parses one "address[/bits]" into n; 0 on success. */
static int parse_net(const char *text, struct net *n)
{
    char buf[64];
    if (strlen(text) >= sizeof buf)
        return -1;
    strcpy(buf, text);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    memset(n, 0, sizeof *n);
    if (inet_pton(AF_INET, buf, n->addr) == 1) {
        n->family = AF_INET;
        n->prefix = 32;
    } else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
        n->family = AF_INET6;
        n->prefix = 128;
    } else {
        return -1;
    }
    if (slash) {
        char *end;
        long bits = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || bits < 0 || bits > n->prefix)
            return -1;
        n->prefix = (int)bits;
    }
    return 0;
}

int webhook_allowed_nets_set(const char *list, char *err, size_t size)
{
    allowed_count = 0;
    char item[128];
    for (const char *p = list ? list : ""; *p;) {
        size_t len = strcspn(p, ",");
        const char *start = p;
        p += len + (p[len] == ',');
        while (len && (*start == ' ' || *start == '\t'))
            start++, len--;
        while (len && (start[len - 1] == ' ' || start[len - 1] == '\t'))
            len--;
        if (!len)
            continue;
        snprintf(item, sizeof item, "%.*s", (int)len, start);
        if (allowed_count == MAX_NETS || len >= sizeof item || parse_net(item, &allowed[allowed_count]) != 0) {
            snprintf(err, size, "'%s' is not an address or a CIDR network (such as 10.0.0.0/8 or fd00::/8)%s", item,
                     allowed_count == MAX_NETS ? ", or there are more than 64" : "");
            allowed_count = 0;
            return -1;
        }
        allowed_count++;
    }
    return 0;
}

/* 1 when the first `bits` bits of a and b are equal. */
static int prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)whole) != 0)
        return 0;
    if (!rest)
        return 1;
    unsigned char mask = (unsigned char)(0xFF << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

static int in_allowed(int family, const unsigned char *addr)
{
    for (int i = 0; i < allowed_count; i++)
        if (allowed[i].family == family && prefix_equal(allowed[i].addr, addr, allowed[i].prefix))
            return 1;
    return 0;
}

/* What kind of refused address addr (4 or 16 bytes) is, or NULL. */
static const char *refused_kind(int family, const unsigned char *addr)
{
    static const unsigned char zero[16];
    static const unsigned char loopback6[16] = {[15] = 1};
    if (family == AF_INET) {
        if (addr[0] == 127)
            return "a loopback address";
        if (addr[0] == 169 && addr[1] == 254)
            return "a link-local address";
        if (addr[0] == 0)
            return "an unspecified address";
        return NULL;
    }
    if (memcmp(addr, loopback6, 16) == 0)
        return "a loopback address";
    if (memcmp(addr, zero, 16) == 0)
        return "an unspecified address";
    if (addr[0] == 0xFE && (addr[1] & 0xC0) == 0x80)
        return "a link-local address";
    return NULL;
}

int webhook_address_refused(int family, const void *address, char *why, size_t size)
{
    const unsigned char *addr = address;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    char shown[INET6_ADDRSTRLEN] = "?";
    inet_ntop(family, addr, shown, sizeof shown);
    /* an IPv4-mapped IPv6 address reaches the IPv4 host: judge that one */
    if (family == AF_INET6 && memcmp(addr, mapped, sizeof mapped) == 0) {
        family = AF_INET;
        addr += 12;
    }
    const char *kind = refused_kind(family, addr);
    if (!kind || in_allowed(family, addr))
        return 0;
    snprintf(why, size, "%s is %s, refused unless DUBAN_WEBHOOK_ALLOWED_NETS lists it", shown, kind);
    return 1;
}

/* The host of a URL as curl parsed it, when it is an IP literal (brackets
 * of an IPv6 literal removed) or a name that is loopback by definition
 * (localhost, RFC 6761): refused unless allowed. */
static void check_host(struct call *c, const char *host)
{
    unsigned char addr[16];
    char literal[64], why[200];
    size_t len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof literal) {
        snprintf(literal, sizeof literal, "%.*s", (int)(len - 2), host + 1);
        host = literal;
    }
    int family = inet_pton(AF_INET, host, addr) == 1 ? AF_INET : inet_pton(AF_INET6, host, addr) == 1 ? AF_INET6 : 0;
    if (family && webhook_address_refused(family, addr, why, sizeof why)) {
        call_field_error(c, "url", "the destination %s", why);
        return;
    }
    static const unsigned char loopback4[4] = {127, 0, 0, 1};
    size_t n = strlen(host);
    int local = strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0 ||
                (n > 10 && strcasecmp(host + n - 10, ".localhost") == 0);
    if (local && !in_allowed(AF_INET, loopback4))
        call_field_error(c, "url", "%s is a loopback name, refused unless DUBAN_WEBHOOK_ALLOWED_NETS lists 127.0.0.1",
                         host);
}

void webhook_check_url(struct call *c, const char *url)
{
    CURLU *h = curl_url();
    char *scheme = NULL, *user = NULL, *password = NULL, *host = NULL, *port = NULL;
    if (!h) {
        call_fail(c, DUBAN_ERROR, "out of memory");
        return;
    }
    size_t skip = strcspn(url, ":");
    CURLUcode rc = curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (rc == CURLUE_OK)
        curl_url_get(h, CURLUPART_SCHEME, &scheme, 0);
    if (rc != CURLUE_OK || strncmp(url + skip, "://", 3) != 0 || url[skip + 3] == '/') {
        call_field_error(c, "url", "must be an absolute http or https URL such as https://example.org/hooks%s%s",
                         rc != CURLUE_OK ? ": " : "", rc != CURLUE_OK ? curl_url_strerror(rc) : "");
    } else if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        call_field_error(c, "url", "must use http or https, not %s", scheme);
    } else {
        curl_url_get(h, CURLUPART_USER, &user, 0);
        curl_url_get(h, CURLUPART_PASSWORD, &password, 0);
        curl_url_get(h, CURLUPART_HOST, &host, 0);
        curl_url_get(h, CURLUPART_PORT, &port, 0);
        if (user || password)
            call_field_error(c, "url", "must not carry credentials (user:password@): the signature authenticates "
                                       "duban to the receiver");
        if (port && strcmp(port, "0") == 0)
            call_field_error(c, "url", "port 0 cannot be reached");
        if (host)
            check_host(c, host);
    }
    curl_free(scheme);
    curl_free(user);
    curl_free(password);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(h);
}

/* The entities whose changes are events, and what happens to them. */
static const char *const ENTITIES[] = {"plan", "task", "unit", "leader", "progress_log", "acknowledgement",
                                       "closure_request", "urge", NULL};
static const char *const ACTIONS[] = {"created", "updated", "deleted", NULL};
static const char *const WEBHOOK_EVENTS[] = {"webhook.disabled", NULL};

static int listed(const char *const *names, const char *s, size_t len)
{
    for (; *names; names++)
        if (strlen(*names) == len && strncmp(*names, s, len) == 0)
            return 1;
    return 0;
}

int webhook_pattern_valid(const char *p)
{
    if (strcmp(p, "*") == 0 || listed(WEBHOOK_EVENTS, p, strlen(p)) || strcmp(p, "webhook.*") == 0)
        return 1;
    const char *dot = strchr(p, '.');
    if (!dot || !listed(ENTITIES, p, (size_t)(dot - p)))
        return 0;
    return strcmp(dot + 1, "*") == 0 || listed(ACTIONS, dot + 1, strlen(dot + 1));
}

void webhook_check_events(struct call *c, const json_t *events)
{
    size_t i;
    json_t *item;
    json_array_foreach(events, i, item) {
        const char *p = json_string_value(item);
        if (p && !webhook_pattern_valid(p))
            call_field_error(c, "events",
                             "item %zu ('%.60s') is not an event pattern: an event type such as task.updated, "
                             "an entity with .* such as task.*, or *",
                             i, p);
    }
}
