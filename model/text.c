#include "model/text.h"

#include <stdio.h>
#include <string.h>

size_t utf8_sequence(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned c = u[0], lo = 0x80, hi = 0xBF;
    size_t extra;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        extra = 1;
    else if (c >= 0xE0 && c <= 0xEF)
        extra = 2;
    else if (c >= 0xF0 && c <= 0xF4)
        extra = 3;
    else
        return 0;
    /* the second byte's range rules out overlong forms, surrogates and
     * code points above U+10FFFF */
    lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : lo;
    hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : hi;
    if (n <= extra || u[1] < lo || u[1] > hi)
        return 0;
    for (size_t k = 2; k <= extra; k++)
        if ((u[k] & 0xC0) != 0x80)
            return 0;
    return extra + 1;
}

size_t utf8_invalid_at(const char *s, size_t n)
{
    size_t i = 0, len;
    while (i < n && (len = utf8_sequence(s + i, n - i)) > 0)
        i += len;
    return i;
}

int utf8_valid(const char *s, size_t n) { return utf8_invalid_at(s, n) == n; }

size_t utf8_length(const char *text)
{
    size_t n = 0;
    for (; *text; text++)
        n += ((unsigned char)*text & 0xC0) != 0x80;
    return n;
}

/* The printable form of the character or bad byte at s (n > 0 bytes):
 * written to piece, its length returned, *len set to the input it uses. */
static size_t escape_one(const char *s, size_t n, int controls, char piece[8], size_t *len)
{
    unsigned char c = (unsigned char)s[0];
    *len = utf8_sequence(s, n);
    if (*len == 0 || (controls && (c < 0x20 || c == 0x7F))) {
        *len = 1;
        return (size_t)snprintf(piece, 8, "\\x%02X", c);
    }
    memcpy(piece, s, *len);
    return *len;
}

/* The common copy of text_quote and text_sanitize: first measures the
 * whole printable form; when it does not fit, copies whole pieces while
 * there is room left for the ellipsis. */
static char *copy_escaped(char *out, size_t size, const char *s, size_t n, size_t max_chars, int controls)
{
    static const char ellipsis[] = "\xE2\x80\xA6"; /* … */
    char piece[8];
    size_t len, total = 0, chars = 0, used = 0;

    if (size == 0)
        return out;
    size_t i = 0;
    for (; i < n && total < size && chars < max_chars; i += len, chars++)
        total += escape_one(s + i, n - i, controls, piece, &len);
    int cut = i < n || total + 1 > size;
    size_t limit = cut ? (size > sizeof ellipsis ? size - sizeof ellipsis : 0) : size - 1;
    chars = 0;
    for (i = 0; i < n && chars < max_chars; i += len, chars++) {
        size_t plen = escape_one(s + i, n - i, controls, piece, &len);
        if (used + plen > limit)
            break;
        memcpy(out + used, piece, plen);
        used += plen;
    }
    if (cut && used + sizeof ellipsis <= size) {
        memcpy(out + used, ellipsis, sizeof ellipsis - 1);
        used += sizeof ellipsis - 1;
    }
    out[used] = '\0';
    return out;
}

char *text_quote(char *out, size_t size, const char *s, size_t n, size_t max_chars)
{
    return copy_escaped(out, size, s, n, max_chars, 1);
}

char *text_sanitize(char *out, size_t size, const char *s)
{
    return copy_escaped(out, size, s ? s : "", s ? strlen(s) : 0, (size_t)-1, 0);
}
