/* Webhook secrets and Standard Webhooks signatures: HMAC-SHA256 from
 * GnuTLS (the TLS library libcurl and ulfius already link), base64 from
 * orcania. */
#include "model/webhook.h"

#include <gnutls/crypto.h>
#include <orcania.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

enum { SECRET_BYTES = 32, DIGEST_BYTES = 32 };

static const char PREFIX[] = "whsec_";

int webhook_secret_new(char *out, size_t size)
{
    unsigned char bytes[SECRET_BYTES];
    unsigned char encoded[64];
    size_t len = 0;
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes ||
        !o_base64_encode(bytes, sizeof bytes, encoded, &len) || sizeof PREFIX - 1 + len >= size)
        return -1;
    snprintf(out, size, "%s%.*s", PREFIX, (int)len, (const char *)encoded);
    explicit_bzero(bytes, sizeof bytes);
    return 0;
}

int webhook_sign(const char *secret, const char *id, long long timestamp, const char *body, size_t body_len,
                 char *out, size_t size)
{
    if (strncmp(secret, PREFIX, sizeof PREFIX - 1) == 0)
        secret += sizeof PREFIX - 1;
    unsigned char key[128], digest[DIGEST_BYTES], encoded[64];
    size_t key_len = 0, len = 0;
    if (strlen(secret) > 160 || !o_base64_decode((const unsigned char *)secret, strlen(secret), key, &key_len))
        return -1;
    char stamp[32];
    int stamp_len = snprintf(stamp, sizeof stamp, ".%lld.", timestamp);
    gnutls_hmac_hd_t mac;
    int rc = gnutls_hmac_init(&mac, GNUTLS_MAC_SHA256, key, key_len);
    explicit_bzero(key, sizeof key);
    if (rc < 0)
        return -1;
    rc = gnutls_hmac(mac, id, strlen(id));
    if (rc >= 0)
        rc = gnutls_hmac(mac, stamp, (size_t)stamp_len);
    if (rc >= 0)
        rc = gnutls_hmac(mac, body, body_len);
    gnutls_hmac_deinit(mac, digest);
    if (rc < 0 || !o_base64_encode(digest, sizeof digest, encoded, &len) || len + 4 > size)
        return -1;
    snprintf(out, size, "v1,%.*s", (int)len, (const char *)encoded);
    return 0;
}
