/* UTF-8 text from the outside world: checking it, and quoting it safely in
 * messages (always valid UTF-8, never cut inside a character). Pure: no
 * state, only libc. */
#ifndef DUBAN_TEXT_H
#define DUBAN_TEXT_H

#include <stddef.h>

/* Length of the well-formed UTF-8 sequence (shortest form, no surrogate,
 * at most U+10FFFF) at the start of the n > 0 bytes at s, or 0 when there
 * is none. NUL is a well-formed one-byte sequence. */
size_t utf8_sequence(const char *s, size_t n);

/* Offset of the first byte of s[0..n) that is not part of well-formed
 * UTF-8, or n when all of it is. */
size_t utf8_invalid_at(const char *s, size_t n);

/* 1 when the n bytes at s are well-formed UTF-8. */
int utf8_valid(const char *s, size_t n);

/* The number of characters of a NUL-terminated valid UTF-8 string. */
size_t utf8_length(const char *text);

/* Copies the n bytes at s into out (size > 0 bytes, always NUL-terminated
 * and valid UTF-8) for showing to a person: every byte that is not
 * well-formed UTF-8 becomes \xHH, and so does an ASCII control character
 * (NUL included). At most max_chars characters of s are kept; when s is
 * longer, or out too small, the copy ends with "…" after a whole character
 * or escape. Returns out. */
char *text_quote(char *out, size_t size, const char *s, size_t n, size_t max_chars);

/* The same for a NUL-terminated string, with no limit but size: a message
 * made safe to put in JSON. s may be NULL (out is then ""). */
char *text_sanitize(char *out, size_t size, const char *s);

#endif
