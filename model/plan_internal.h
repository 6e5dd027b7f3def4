/* Internal declarations shared by the plan-document parser's files
 * (plan_doc.c, plan_dates.c, plan_parser.c, plan_preamble.c, and the CSV
 * reader in plan_render_csv.c). Not part of the public API:
 * include only from those files; the public API is model/plan_doc.h. */
#ifndef DUBAN_MODEL_PLAN_INTERNAL_H
#define DUBAN_MODEL_PLAN_INTERNAL_H

#include "model/plan_doc.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* "Not found" for the byte offsets returned by sp_find and friends. */
#define NPOS SIZE_MAX

/* ------------------------------------------------------------------ */
/* Spans and UTF-8                                                    */
/* ------------------------------------------------------------------ */

/* A run of n bytes at p, not NUL-terminated and not owned. */
struct span {
    const char *p;
    size_t n;
};

/* The span of n bytes at p. */
static inline struct span sp(const char *p, size_t n)
{
    struct span s = {p, n};
    return s;
}

/* The span of the NUL-terminated string s (empty when s is NULL). */
static inline struct span sp_str(const char *s)
{
    return sp(s, s ? strlen(s) : 0);
}

/* s without its first off bytes (empty, at the end of s, when off >= s.n). */
static inline struct span sp_from(struct span s, size_t off)
{
    return off >= s.n ? sp(s.p + s.n, 0) : sp(s.p + off, s.n - off);
}

/* 1 when s starts with the string lit. */
static inline int sp_starts(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n >= n && memcmp(s.p, lit, n) == 0;
}

/* 1 when s ends with the string lit. */
static inline int sp_ends(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n >= n && memcmp(s.p + s.n - n, lit, n) == 0;
}

/* Byte offset of the first occurrence of lit in s, or NPOS. */
static inline size_t sp_find(struct span s, const char *lit)
{
    size_t n = strlen(lit);

    for (size_t i = 0; n && i + n <= s.n; i++)
        if (s.p[i] == lit[0] && memcmp(s.p + i, lit, n) == 0)
            return i;
    return NPOS;
}

/* Length of the literal in `lits` (NULL-terminated) that s starts with, or 0. */
static inline size_t sp_prefix_of(struct span s, const char *const *lits)
{
    for (; *lits; lits++)
        if (sp_starts(s, *lits))
            return strlen(*lits);
    return 0;
}

/* Length of the literal in `lits` that s ends with, or 0. */
static inline size_t sp_suffix_of(struct span s, const char *const *lits)
{
    for (; *lits; lits++)
        if (sp_ends(s, *lits))
            return strlen(*lits);
    return 0;
}

/* Decodes the code point at the start of p (n > 0 bytes), setting *len to
 * its size. Input has been validated; a broken sequence reads as U+FFFD. */
static inline unsigned u8_get(const char *p, size_t n, size_t *len)
{
    const unsigned char *s = (const unsigned char *)p;

    if (n >= 1 && s[0] < 0x80) {
        *len = 1;
        return s[0];
    }
    if (n >= 2 && (s[0] & 0xE0) == 0xC0) {
        *len = 2;
        return (unsigned)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
    }
    if (n >= 3 && (s[0] & 0xF0) == 0xE0) {
        *len = 3;
        return (unsigned)(s[0] & 0x0F) << 12 | (unsigned)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
    }
    if (n >= 4 && (s[0] & 0xF8) == 0xF0) {
        *len = 4;
        return (unsigned)(s[0] & 0x07) << 18 | (unsigned)(s[1] & 0x3F) << 12 |
               (unsigned)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
    }
    *len = n ? 1 : 0;
    return 0xFFFD;
}

/* The last code point of s (0 when s is empty), its size in *len. */
static inline unsigned u8_last(struct span s, size_t *len)
{
    size_t k = s.n;

    *len = 0;
    if (!s.n)
        return 0;
    while (k > 0 && s.n - k < 4 && ((unsigned char)s.p[k - 1] & 0xC0) == 0x80)
        k--;
    if (k > 0)
        k--;
    return u8_get(s.p + k, s.n - k, len);
}

/* 1 for the code points trimmed from lines: ASCII blanks, CR, form feed,
 * U+3000, U+00A0, U+FEFF and U+200B. */
static inline int is_blank_cp(unsigned c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == 0x3000 || c == 0xA0 ||
           c == 0xFEFF || c == 0x200B;
}

/* s without blank code points (is_blank_cp) at both ends. */
static inline struct span sp_trim(struct span s)
{
    size_t len;

    while (s.n && is_blank_cp(u8_get(s.p, s.n, &len)))
        s = sp_from(s, len);
    while (s.n && is_blank_cp(u8_last(s, &len)))
        s.n -= len;
    return s;
}

/* A malloc'd NUL-terminated copy of s, or NULL when out of memory. */
static inline char *sp_dup(struct span s)
{
    char *r = malloc(s.n + 1);

    if (r) {
        if (s.n)
            memcpy(r, s.p, s.n);
        r[s.n] = '\0';
    }
    return r;
}

/* ------------------------------------------------------------------ */
/* The document (plan_doc.c)                                          */
/* ------------------------------------------------------------------ */

/* Makes room for `need` elements of `elem` bytes in *arr, doubling *cap.
 * Returns 0, or -1 (and leaves *arr and *cap alone) when out of memory. */
int plan_grow(void **arr, size_t *cap, size_t need, size_t elem);

/* plan_doc_add_issue with a va_list: appends an issue (message prefixed
 * with "line N: " when line > 0). Returns 0, or -1 when out of memory. */
int plan_doc_add_issue_v(struct plan_doc *doc, int line, int is_error, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Frees the tree and the metadata of doc, keeping its issues. */
void plan_doc_drop_content(struct plan_doc *doc);

/* ------------------------------------------------------------------ */
/* Units and leaders (plan_doc.c)                                     */
/* ------------------------------------------------------------------ */

/* 1 when s holds the note 列在首位的为牵头单位 and nothing else but blanks;
 * 0 when not; -1 when out of memory. */
int plan_is_note_only(struct span s);

/* 1 when a 责任领导 value names no one (plan_parse_leaders would find no
 * name); 0 when it names someone; -1 when out of memory. */
int plan_names_nobody(struct span s);

/* 1 for the opening brackets （ ( 《 〈 “ [ 【 〔. */
int plan_is_open_bracket(unsigned c);

/* 1 for the closing brackets ） ) 》 〉 ” ] 】 〕. */
int plan_is_close_bracket(unsigned c);

/* 1 for the separators of a unit list: 、 ， and ,. */
int plan_is_unit_sep(unsigned c);

/* ------------------------------------------------------------------ */
/* Dates, numbers and date phrases (plan_dates.c)                     */
/* ------------------------------------------------------------------ */

/* 1 when y-m-d is a real date with y in 1900..2199. */
int plan_date_ok(int y, int m, int d);

/* A read position in a span; functions taking a struct cur by value try a
 * form and leave the caller's position alone when it does not match. */
struct cur {
    struct span s;
    size_t i;
};

/* The code point at the position (0 at the end), its size in *len. */
unsigned plan_cur_peek(const struct cur *c, size_t *len);

/* Consumes the string lit at the position; 1 if it was there, else 0. */
int plan_cur_lit(struct cur *c, const char *lit);

/* Consumes the first literal of lits (NULL-terminated) found at the
 * position; 1 if any. */
int plan_cur_any(struct cur *c, const char *const *lits);

/* Skips ASCII blanks, tabs and U+3000 at the position. */
void plan_cur_blanks(struct cur *c);

/* Reads a four-digit year from 1900 to 2199 (arabic or Chinese digits, not
 * followed by a fifth digit), with blanks around it; 1 when read. */
int plan_cur_year(struct cur *c, int *y);

/* Value of an ASCII or full-width digit, or -1. */
int plan_arabic_digit(unsigned c);

/* Value of a Chinese digit 〇 零 ○ 一 … 九 (and 两 = 2), or -1. */
int plan_chinese_digit(unsigned c);

/* Parses s when it is only a date, 2018年12月4日 or 二〇一八年十二月四日,
 * into out as "YYYY-MM-DD"; 1 when it is, else 0. */
int plan_parse_full_date(struct span s, char out[11]);

/* A deadline found by plan_find_due. */
struct due {
    char date[11];           /* "YYYY-MM-DD", or "" when it cannot be known */
    size_t end;              /* byte offset just past the phrase */
};

/* Finds the first deadline phrase in s (see "Deadlines" in plan_parser.c);
 * `issued` is the issue date "YYYY-MM-DD" or "". Returns 1 with *d and
 * *start (the phrase's byte offset) set, or 0 when there is none. */
int plan_find_due(struct span s, const char *issued, struct due *d, size_t *start);

/* The first cadence word in s: its recurrence, with *at (byte offset) and
 * *n (length) set; RECUR_NONE, with *at = NPOS, when there is none. */
enum plan_recurrence plan_find_cadence(struct span s, size_t *at, size_t *n);

/* ------------------------------------------------------------------ */
/* Lines (plan_parser.c)                                              */
/* ------------------------------------------------------------------ */

/* 1 for the marks that end a line's sentence: 。．！？；：”’」』… and
 * ! ? ; : (see "Joining" at the top of plan_parser.c). */
int plan_is_terminal(unsigned c);

/* Opening minus closing brackets in s. */
int plan_bracket_balance(struct span s);

/* ------------------------------------------------------------------ */
/* The preamble (plan_preamble.c)                                     */
/* ------------------------------------------------------------------ */

/* A paragraph before the first heading, its lines joined by the parser. */
struct plan_pre_para {
    char *text;              /* NUL-terminated; owned by the caller */
    int line;                /* the line it starts on, 1-based */
};

/* Receives a warning about line `line` of the document; ctx is the
 * caller's, message is borrowed for the call. */
typedef void plan_warn_fn(void *ctx, int line, const char *message);

/* Fills the metadata of doc (doc_number, issued_on, issuer, title, basis)
 * from the n paragraphs pre[] before the first heading, by the rules under
 * "Metadata" at the top of plan_parser.c. A value found but not used is
 * reported through warn(ctx, ...). Returns 0, or -1 when out of memory
 * (doc may then hold part of the metadata, which plan_doc_free frees). */
int plan_read_preamble(struct plan_doc *doc, const struct plan_pre_para *pre, size_t n,
                       plan_warn_fn *warn, void *ctx);

#endif
