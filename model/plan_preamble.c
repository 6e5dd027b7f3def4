/* The document preamble: the metadata of a plan (document number, issuer,
 * issue date, title, basis) read from the paragraphs before its first
 * heading, by the rules under "Metadata" at the top of plan_parser.c.
 * plan_parser.c joins the lines into paragraphs and hands them over;
 * this file owns only what they mean. Pure and thread-safe. */
#include "model/plan_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What one plan_read_preamble call reads and where it reports. */
struct preamble {
    struct plan_doc *doc;
    const struct plan_pre_para *pre;  /* the paragraphs before the first heading */
    size_t n;
    plan_warn_fn *warn;
    void *ctx;
    int oom;                          /* an allocation failed */
};

/* A malloc'd copy of s, recording an allocation failure. */
static char *dup_or_oom(struct preamble *pr, struct span s)
{
    char *r = sp_dup(s);
    if (!r)
        pr->oom = 1;
    return r;
}

/* What a paragraph before the first heading is: a plain line, a sentence
 * (ends with closing punctuation), a date, a document number, a
 * …印发…通知 notice line, or a masthead (…文件). */
enum pre_kind { PK_PLAIN, PK_PARA, PK_DATE, PK_DOCNUM, PK_NOTICE, PK_MAST };

/* A document number: …〔2018〕21号, no 《, at most 90 bytes. */
static int is_doc_number(struct span s)
{
    static const char *const opens[] = {"〔", "［", "[", NULL};
    static const char *const closes[] = {"〕", "］", "]", NULL};
    struct cur c = {s, 0};
    size_t len;
    int y;

    if (s.n > 90 || !sp_ends(s, "号") || sp_find(s, "《") != NPOS)
        return 0;
    for (size_t i = 0; i < s.n; i += len) {
        u8_get(s.p + i, s.n - i, &len);
        c.i = i;
        if (plan_cur_any(&c, opens) && plan_cur_year(&c, &y) && plan_cur_any(&c, closes)) {
            size_t digits = c.i;
            while (plan_arabic_digit(plan_cur_peek(&c, &len)) >= 0)
                c.i += len;
            return c.i > digits && plan_cur_lit(&c, "号") && c.i == s.n;
        }
    }
    return 0;
}

/* The kind of the preamble paragraph text. */
static enum pre_kind preamble_kind(const char *text)
{
    struct span s = sp_str(text);
    char date[11];
    size_t len;

    if (plan_parse_full_date(s, date))
        return PK_DATE;
    if (is_doc_number(s))
        return PK_DOCNUM;
    if (plan_is_terminal(u8_last(s, &len)))
        return PK_PARA;
    if (sp_find(s, "印发") != NPOS && sp_ends(s, "通知"))
        return PK_NOTICE;
    return sp_ends(s, "文件") ? PK_MAST : PK_PLAIN;
}

/* Collapses runs of blanks in s to one ASCII space, in place. */
static void squeeze_blanks(char *s)
{
    struct span in = sp_str(s);
    size_t w = 0, len;
    int blank = 0;

    for (size_t i = 0; i < in.n; i += len) {
        unsigned c = u8_get(in.p + i, in.n - i, &len);
        if (is_blank_cp(c)) {
            blank = 1;
            continue;
        }
        if (blank && w > 0)
            s[w++] = ' ';
        blank = 0;
        memmove(s + w, in.p + i, len);
        w += len;
    }
    s[w] = '\0';
}

/* The issuer: the plain paragraphs right above the date paragraph d (at
 * most 8), joined by a space; *top is the first of them. NULL if none. */
static char *issuer_above(struct preamble *pr, const enum pre_kind *kinds, size_t d, size_t *top)
{
    size_t total = 0, w = 0;
    char *r;

    *top = d;
    while (*top > 0 && d - *top < 8 && kinds[*top - 1] == PK_PLAIN)
        total += strlen(pr->pre[--*top].text) + 1;
    if (*top == d)
        return NULL;
    if (!(r = malloc(total))) {
        pr->oom = 1;
        return NULL;
    }
    for (size_t k = *top; k < d; k++) {
        size_t n = strlen(pr->pre[k].text);
        memcpy(r + w, pr->pre[k].text, n);
        w += n;
        r[w++] = k + 1 < d ? ' ' : '\0';
    }
    squeeze_blanks(r);
    return r;
}

/* Fills the issuer and/or the title, when wanted, from a notice line
 * "<issuer> 印发《<title>》的通知"; 〈〉 inside the title become 《》. */
static void from_notice(struct preamble *pr, const char *text, int want_issuer, int want_title)
{
    struct span s = sp_str(text);
    size_t at = sp_find(s, "印发"), open, close;
    struct span who = sp_trim(sp(s.p, at));
    struct plan_doc *doc = pr->doc;

    if (want_issuer && who.n && (doc->issuer = dup_or_oom(pr, who)))
        squeeze_blanks(doc->issuer);
    s = sp_from(s, at);
    open = sp_find(s, "《");
    close = open == NPOS ? NPOS : sp_find(sp_from(s, open), "》的通知");
    if (!want_title || close == NPOS || sp_trim(sp(s.p + open + 3, close - 3)).n == 0)
        return;
    doc->title = dup_or_oom(pr, sp_trim(sp(s.p + open + 3, close - 3)));
    for (char *p = doc->title; p && *p; p++) {
        /* 〈 〉 are E3 80 88/89, 《 》 are E3 80 8A/8B */
        if ((unsigned char)p[0] == 0xE3 && (unsigned char)p[1] == 0x80 &&
            ((unsigned char)p[2] == 0x88 || (unsigned char)p[2] == 0x89))
            p[2] = (char)((unsigned char)p[2] + 2);
    }
}

/* The first balanced 《…》 in s, with a directly following （…号）; an empty
 * span when there is none. */
static struct span find_basis(struct span s)
{
    size_t open = sp_find(s, "《"), len = 0, end, close;
    int depth = 0;

    if (open == NPOS)
        return sp(s.p, 0);
    for (end = open; end < s.n; end += len) {
        unsigned c = u8_get(s.p + end, s.n - end, &len);
        depth += c == 0x300A ? 1 : c == 0x300B ? -1 : 0;
        if (depth == 0)
            break;
    }
    if (depth != 0)
        return sp(s.p, 0);
    end += len;
    close = sp_starts(sp_from(s, end), "（") ? sp_find(sp_from(s, end), "）") : NPOS;
    if (close != NPOS) {
        struct span inner = sp(s.p + end, close);
        if (sp_find(inner, "号") != NPOS && sp_find(inner, "《") == NPOS)
            end += close + 3;
    }
    return sp(s.p + open, end - open);
}

/* The title: the last plain paragraph that is not part of the issuer block
 * [top, date). Returns its index, or NPOS. */
static size_t pick_title(struct preamble *pr, const enum pre_kind *kinds, size_t date, size_t top)
{
    for (size_t i = pr->n; i-- > 0;) {
        if (kinds[i] == PK_PLAIN && (date == NPOS || i < top || i > date)) {
            pr->doc->title = dup_or_oom(pr, sp_str(pr->pre[i].text));
            return i;
        }
    }
    return NPOS;
}

/* The basis: the first 《…》（…号） in a closing paragraph after `from`. */
static void pick_basis(struct preamble *pr, const enum pre_kind *kinds, size_t from)
{
    for (size_t i = from; i < pr->n && !pr->doc->basis; i++) {
        struct span b = kinds[i] == PK_PARA ? find_basis(sp_str(pr->pre[i].text)) : sp("", 0);
        if (b.n)
            pr->doc->basis = dup_or_oom(pr, b);
    }
}

/* Keeps a metadata value only if, written on a line of its own (as
 * plan_render_text does), it is read back as the same kind of line and does
 * not run on into the next one (an open bracket, a dangling ， or 、).
 * Otherwise drops it with a warning naming the line it came from. */
static void keep_if_alone(struct preamble *pr, char **value, enum pre_kind kind, int line,
                          const char *what)
{
    struct span s = sp_str(*value);
    size_t len;
    unsigned last = u8_last(s, &len);
    char msg[160];

    if (!*value || (preamble_kind(*value) == kind && last != 0xFF0C && last != 0x3001 &&
                    plan_bracket_balance(s) <= 0))
        return;
    snprintf(msg, sizeof msg,
             "%s not used: it leaves a bracket open or does not stand on its own line", what);
    pr->warn(pr->ctx, line, msg);
    free(*value);
    *value = NULL;
}

/* Fills the document metadata from the paragraphs before the first heading
 * (see "Metadata" at the top of plan_parser.c). */
static void read_metadata(struct preamble *pr)
{
    struct plan_doc *doc = pr->doc;
    size_t n = pr->n, date = NPOS, notice = NPOS, title, top = NPOS;
    enum pre_kind *kinds = n ? calloc(n, sizeof *kinds) : NULL;

    if (n && !kinds) {
        pr->oom = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        kinds[i] = preamble_kind(pr->pre[i].text);
        if (kinds[i] == PK_DOCNUM && !doc->doc_number) {
            doc->doc_number = dup_or_oom(pr, sp_str(pr->pre[i].text));
            keep_if_alone(pr, &doc->doc_number, PK_DOCNUM, pr->pre[i].line, "document number");
        }
        if (kinds[i] == PK_DATE && date == NPOS &&
            plan_parse_full_date(sp_str(pr->pre[i].text), doc->issued_on))
            date = i;
        if (kinds[i] == PK_NOTICE && notice == NPOS)
            notice = i;
    }
    if (date != NPOS && (doc->issuer = issuer_above(pr, kinds, date, &top)))
        keep_if_alone(pr, &doc->issuer, PK_PLAIN, pr->pre[top].line, "issuer");
    if ((title = pick_title(pr, kinds, date, top)) != NPOS)
        keep_if_alone(pr, &doc->title, PK_PLAIN, pr->pre[title].line, "title");
    if (notice != NPOS && (!doc->issuer || !doc->title)) {
        from_notice(pr, pr->pre[notice].text, !doc->issuer, !doc->title);
        keep_if_alone(pr, &doc->issuer, PK_PLAIN, pr->pre[notice].line, "issuer");
        keep_if_alone(pr, &doc->title, PK_PLAIN, pr->pre[notice].line, "title");
    }
    pick_basis(pr, kinds, title == NPOS ? 0 : title + 1);
    free(kinds);
}

int plan_read_preamble(struct plan_doc *doc, const struct plan_pre_para *pre, size_t n,
                       plan_warn_fn *warn, void *ctx)
{
    struct preamble pr = {doc, pre, n, warn, ctx, 0};

    read_metadata(&pr);
    return pr.oom ? -1 : 0;
}
