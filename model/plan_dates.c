/* Dates, numbers and the deadline and cadence phrases of plan documents
 * (see "Deadlines" at the top of plan_parser.c). Pure and thread-safe (no
 * globals but constant tables, only libc). */
#include "model/plan_internal.h"

#include "model/dates.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Dates                                                              */
/* ------------------------------------------------------------------ */

/* 1 when y-m-d is a real date in the year range every date of duban
 * shares (model/dates.h). */
int plan_date_ok(int y, int m, int d) { return date_is_real(y, m, d); }

/* Writes y-m-d (already checked by plan_date_ok) as "YYYY-MM-DD". */
static void format_date(char out[11], int y, int m, int d)
{
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

/* Adds `months` to the "YYYY-MM-DD" date `from`, keeping the day unless the
 * target month is shorter. Returns 0, or -1 when the result is out of range. */
static int add_months(const char *from, int months, char out[11])
{
    int y = atoi(from), m = atoi(from + 5), d = atoi(from + 8);
    int total = y * 12 + (m - 1) + months;

    y = total / 12;
    m = total % 12 + 1;
    if (y < DATE_MIN_YEAR || y > DATE_MAX_YEAR)
        return -1;
    if (d > date_days_in_month(y, m))
        d = date_days_in_month(y, m);
    format_date(out, y, m, d);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Numbers and date phrases                                           */
/* ------------------------------------------------------------------ */

unsigned plan_cur_peek(const struct cur *c, size_t *len)
{
    if (c->i >= c->s.n) {
        *len = 0;
        return 0;
    }
    return u8_get(c->s.p + c->i, c->s.n - c->i, len);
}

int plan_cur_lit(struct cur *c, const char *lit)
{
    if (!sp_starts(sp_from(c->s, c->i), lit))
        return 0;
    c->i += strlen(lit);
    return 1;
}

/* Consumes the first literal of lits found at the position; 1 if any. */
int plan_cur_any(struct cur *c, const char *const *lits)
{
    size_t k = sp_prefix_of(sp_from(c->s, c->i), lits);
    c->i += k;
    return k > 0;
}

void plan_cur_blanks(struct cur *c)
{
    size_t len;
    unsigned u;

    while ((u = plan_cur_peek(c, &len)) == ' ' || u == '\t' || u == 0x3000)
        c->i += len;
}

/* Value of an ASCII or full-width digit, or -1. */
int plan_arabic_digit(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 0xFF10 && c <= 0xFF19)
        return (int)(c - 0xFF10);
    return -1;
}

/* Value of a Chinese digit 〇 零 ○ 一 … 九 (and 两 = 2), or -1. */
int plan_chinese_digit(unsigned c)
{
    static const unsigned digits[10] = {0x3007, 0x4E00, 0x4E8C, 0x4E09, 0x56DB,
                                        0x4E94, 0x516D, 0x4E03, 0x516B, 0x4E5D};
    for (int i = 0; i < 10; i++)
        if (c == digits[i])
            return i;
    if (c == 0x96F6 || c == 0x25CB)
        return 0;
    return c == 0x4E24 ? 2 : -1;
}

static int any_digit(unsigned c)
{
    int d = plan_arabic_digit(c);
    return d >= 0 ? d : plan_chinese_digit(c);
}

/* Reads a four-digit year (arabic or Chinese digits, not mixed with a fifth
 * digit), with blanks around it. */
int plan_cur_year(struct cur *c, int *y)
{
    size_t len;
    int v = 0;

    plan_cur_blanks(c);
    for (int k = 0; k < 4; k++) {
        int d = any_digit(plan_cur_peek(c, &len));
        if (d < 0 || (k == 0 && d == 0))
            return 0;
        v = v * 10 + d;
        c->i += len;
    }
    if (any_digit(plan_cur_peek(c, &len)) >= 0)
        return 0;
    plan_cur_blanks(c);
    *y = v;
    return v >= DATE_MIN_YEAR && v <= DATE_MAX_YEAR;
}

/* Reads a number from 1 to 99: one or two arabic digits, or Chinese
 * (五, 十, 十二, 二十, 二十三, 两), with blanks around it. */
static int cur_small(struct cur *c, int *v)
{
    size_t len;
    int d, val = 0, digits = 0;

    plan_cur_blanks(c);
    while ((d = plan_arabic_digit(plan_cur_peek(c, &len))) >= 0 && digits < 3) {
        val = val * 10 + d;
        digits++;
        c->i += len;
    }
    if (digits == 0) {
        if ((d = plan_chinese_digit(plan_cur_peek(c, &len))) > 0)
            c->i += len;
        val = d > 0 ? d : 0;
        if (plan_cur_lit(c, "十")) {
            val = (val ? val : 1) * 10;
            if ((d = plan_chinese_digit(plan_cur_peek(c, &len))) > 0) {
                val += d;
                c->i += len;
            }
        }
        digits = val > 0;
    }
    plan_cur_blanks(c);
    *v = val;
    return digits > 0 && digits < 3 && val >= 1 && val <= 99;
}

/* Parses a line that is only a date, 2018年12月4日 or 二〇一八年十二月四日. */
int plan_parse_full_date(struct span s, char out[11])
{
    struct cur c = {s, 0};
    int y, m, d;

    if (!plan_cur_year(&c, &y) || !plan_cur_lit(&c, "年") || !cur_small(&c, &m) ||
        !plan_cur_lit(&c, "月") || !cur_small(&c, &d) || !plan_cur_lit(&c, "日") || c.i != s.n ||
        !plan_date_ok(y, m, d))
        return 0;
    format_date(out, y, m, d);
    return 1;
}

/* After "Y年M" has been read: 月底/月末 [前] → end of month; 月D日前 → that
 * day; bare 月 only when `bare` (the 到 form). */
static int due_after_month(struct cur c, int y, int m, int bare, struct due *d)
{
    static const char *const ends[] = {"底", "末", NULL};
    static const char *const before[] = {"之前", "前", NULL};
    int day;

    if (m < 1 || m > 12 || !plan_cur_lit(&c, "月"))
        return 0;
    if (plan_cur_any(&c, ends)) {
        plan_cur_lit(&c, "前");
        day = date_days_in_month(y, m);
    } else {
        struct cur k = c;
        if (cur_small(&k, &day) && plan_cur_lit(&k, "日") && plan_cur_any(&k, before) &&
            plan_date_ok(y, m, day)) {
            c = k;
        } else if (bare) {
            day = date_days_in_month(y, m);
        } else {
            return 0;
        }
    }
    format_date(d->date, y, m, day);
    d->end = c.i;
    return 1;
}

/* After "Y年" has been read: 底/年底 [前], 实现, 完成, or a month form;
 * a bare "Y年" only when `bare`. */
static int due_after_year(struct cur c, int y, int bare, struct due *d)
{
    static const char *const year_end[] = {"年底", "底", NULL};
    static const char *const kept[] = {"实现", "完成", NULL};
    struct cur k = c;
    int m;

    if (plan_cur_any(&c, year_end)) {
        plan_cur_lit(&c, "前");
    } else if (!plan_cur_any(&c, kept)) {
        if (cur_small(&k, &m) && due_after_month(k, y, m, bare, d))
            return 1;
        if (!bare)
            return 0;
    }
    format_date(d->date, y, 12, 31);
    d->end = c.i;
    return 1;
}

/* Y年… at the position (the caller checks that no digit precedes it). */
static int due_year(struct cur c, struct due *d)
{
    int y;

    return plan_cur_year(&c, &y) && plan_cur_lit(&c, "年") && due_after_year(c, y, 0, d);
}

/* 到Y年… at the position. */
static int due_by(struct cur c, struct due *d)
{
    int y;

    return plan_cur_lit(&c, "到") && plan_cur_year(&c, &y) && plan_cur_lit(&c, "年") &&
           due_after_year(c, y, 1, d);
}

/* [在]本方案公布 N 个月内 at the position; the date is issued + N months, or
 * "" when the issue date is unknown. */
static int due_relative(struct cur c, const char *issued, struct due *d)
{
    static const char *const docs[] = {"本方案", "本意见", "本通知", "本文件", "本办法", NULL};
    static const char *const acts[] = {"公布", "印发", "发布", "出台", "下发", NULL};
    static const char *const after[] = {"之日起", "之日后", "后", NULL};
    int n;

    plan_cur_lit(&c, "在");
    if (!plan_cur_any(&c, docs) || !plan_cur_any(&c, acts))
        return 0;
    plan_cur_any(&c, after);
    if (!cur_small(&c, &n) || !plan_cur_lit(&c, "个月"))
        return 0;
    plan_cur_lit(&c, "以");
    if (!plan_cur_lit(&c, "内"))
        return 0;
    d->date[0] = '\0';
    if (issued[0] && add_months(issued, n, d->date))
        d->date[0] = '\0';
    d->end = c.i;
    return 1;
}

/* Finds the first deadline phrase in s. Returns 1 with *d and *start set. */
int plan_find_due(struct span s, const char *issued, struct due *d, size_t *start)
{
    unsigned prev = 0;
    size_t len;

    for (size_t i = 0; i < s.n; i += len) {
        struct cur c = {s, i};
        unsigned u = u8_get(s.p + i, s.n - i, &len);
        int found = due_relative(c, issued, d) || due_by(c, d) ||
                    (any_digit(prev) < 0 && any_digit(u) >= 0 && due_year(c, d));
        if (found) {
            *start = i;
            return 1;
        }
        prev = u;
    }
    return 0;
}

/* The first cadence word in s: its recurrence, with *at and *n set. */
enum plan_recurrence plan_find_cadence(struct span s, size_t *at, size_t *n)
{
    static const struct {
        const char *word;
        enum plan_recurrence r;
    } words[] = {
        {"每两个月", RECUR_BIMONTHLY}, {"每个月", RECUR_MONTHLY}, {"每月", RECUR_MONTHLY},
        {"每季度", RECUR_QUARTERLY}, {"每半年", RECUR_SEMIANNUAL}, {"每年", RECUR_YEARLY},
    };
    enum plan_recurrence best = RECUR_NONE;

    *at = NPOS;
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        size_t k = sp_find(s, words[w].word);
        if (k != NPOS && k < *at) {
            *at = k;
            *n = strlen(words[w].word);
            best = words[w].r;
        }
    }
    return best;
}
