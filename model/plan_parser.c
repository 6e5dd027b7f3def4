/* The plan-document parser: text in, struct plan_doc out. Pure and
 * thread-safe (no globals but constant tables, only libc).
 *
 * This file owns the input lines, their joining into paragraphs and the
 * tree; the metadata is read from the paragraphs before the first heading
 * by model/plan_preamble.c, deadlines and cadences by model/plan_dates.c,
 * unit and leader lists by model/plan_doc.c.
 *
 * The rules, in the order they are applied:
 *
 * Input. At most PLAN_MAX_INPUT bytes of valid UTF-8 without NUL or control
 *   bytes (tab, CR, LF and form feed allowed); anything else is refused before
 *   any parsing. Lines are split on LF, and trimmed of ASCII blanks, CR, form
 *   feed, U+3000, U+00A0, U+200B and U+FEFF at both ends.
 *
 * Lines. A heading is `一、` (Chinese numerals, level 1), `（一）` or `(一)`
 *   (level 2), or one or two digits followed by `.`, `．` or `、` and not by a
 *   digit (level 3, so `2.5%` and `2019.` are text). `责任领导：` and
 *   `责任单位：` (either colon) start responsibility lines. Dropped lines: a
 *   line that is only the note 列在首位的为牵头单位（下同）; with a warning, a
 *   line that is only a page number (`3`, `- 3 -`, `— 3 —`), a 责任领导 line
 *   naming no one, and after the first heading a footer (`抄送…`,
 *   `…年…月…日印发`). Everything else is text.
 *
 * Joining (page and line breaks inside a sentence). A text line continues on
 *   the next text line (past blank and dropped lines) when it does
 *   not end with 。．！？；：”’」』… or ! ? ; :, and the pieces are joined with
 *   nothing between them. A heading line continues the same way, but only
 *   when it already holds a 。 (a bare heading title never swallows the next
 *   line). Before the first heading the rule is stricter, because titles,
 *   signatures and dates stand on lines of their own there: a line continues
 *   only when it ends with ， or 、, or leaves a bracket (《〈（“) open. A
 *   责任单位 line continues on the next text line when it ends with a
 *   separator (、 ， ,) and that line has no 。 before its end. Joined text is classified again as a whole: if the
 *   pieces form a heading or a responsibility line it is one, and if they
 *   form a page number, a note or a footer it is dropped.
 *
 * Metadata, from the paragraphs before the first heading: the document
 *   number is the first line like `…〔2018〕21号`; the issue date is the first
 *   line that is only a date (`2018年12月4日`, also `二〇一八年十二月四日`); the
 *   issuer is the run of plain lines (no closing punctuation) right above
 *   that date, joined by one space, or else the part before 印发 in a
 *   `…印发…通知` line; the title is the last other plain line that is not a
 *   masthead (`…文件`), or else the 《…》 named in the 印发 line; the basis is
 *   the first 《…》, with a directly following （…号）, in the paragraphs after
 *   the title. A value that would not stand on a line of its own (an open
 *   bracket, a dangling ， or 、) is not used, with a warning.
 *
 * Tree. Headings nest by level; a heading's parent is the nearest heading
 *   above it of a lower level. A heading's own text is its title up to and
 *   including its first 。 and, when text follows that 。, the body. Text
 *   paragraphs gather until responsibility lines close them into a block.
 *   The first block under a heading belongs to the heading itself (its text
 *   is appended to the heading's body, its lines give the heading's
 *   assignment); every later block becomes a level-4 child of the innermost
 *   heading. Responsibility lines right under a heading, with no paragraph
 *   between, assign the heading itself. A block takes one 责任领导 and one
 *   责任单位 line; a second one of the same kind, or one with no text above
 *   it, is an error ("assignment with no text"). A 责任单位 line naming no
 *   unit is an error. Text that ends a section
 *   without responsibility lines is kept, with a warning.
 *
 * Units. Separators 、 ， , split the list outside brackets. The note
 *   列在首位的为牵头单位 (with its （下同）/，下同, brackets and 。) is removed
 *   wherever it stands, and trailing 。 ； (or separators left inside an
 *   unclosed bracket) of each unit too. The first
 *   unit is the lead unit. Alias rule: a unit that ends with a bracketed part
 *   `名称（别名）` has the alias 别名 when 别名 is itself a complete unit name,
 *   i.e. it starts with an administrative prefix (区 市 省 县 镇 乡 街道 国家
 *   中共 中央 工委 管委 团) and ends with a unit suffix (局 办 委 会 院 厅 中心
 *   部 署 所 站 队 社 处 室 公司 集团 联 团 行 馆 台), and the two do not
 *   overlap. Otherwise the brackets are part of the name: 各镇街（管区） stays
 *   one name, while 区农工办（区农发局） is 区农工办 alias 区农发局.
 *   Leaders are split on spaces (ASCII or U+3000), 、 ， and ,.
 *
 * Deadlines. The FIRST deadline phrase in reading order (title, then body)
 *   wins; later ones stay in the text. Forms (digits ASCII, full-width or
 *   Chinese, blanks allowed around them):
 *     Y年底[前], Y年年底[前], Y年实现, Y年完成                → Y-12-31
 *     Y年M月底[前], Y年M月末[前]                               → last day of M
 *     Y年M月D日前, Y年M月D日之前                               → that day
 *     到Y年[底[前]], 到Y年M月[底|末][前]                       → end of that year or month
 *     [在]本方案|本意见|本通知|本文件|本办法 公布|印发|发布|出台|下发
 *       [后|之日起] N个月[以]内                                → issue date + N months
 *   A year must not follow another digit, and `Y年以来`, `Y年后`, `Y年、`
 *   are not deadlines. due_text keeps the phrase exactly as written.
 *   Cadences: the first of 每月/每个月 (monthly), 每两个月 (bimonthly),
 *   每季度 (quarterly), 每半年 (semiannual), 每年 (yearly).
 */
#include "model/plan_internal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Lines                                                              */
/* ------------------------------------------------------------------ */

enum line_kind {
    LK_BLANK, LK_TEXT, LK_HEAD, LK_LEADERS, LK_UNITS,
    LK_NOTE, LK_PAGENO, LK_FOOTER, LK_NOBODY     /* dropped: see is_dropped */
};

/* One physical line, trimmed and classified. */
struct line {
    struct span s;           /* the trimmed line */
    struct span rest;        /* after the outline or label */
    int no;                  /* 1-based */
    enum line_kind kind;
    int level;               /* headings */
    char outline[24];        /* headings, normalised */
};

static int is_cn_numeral(unsigned c)
{
    return plan_chinese_digit(c) >= 0 || c == 0x5341 /* 十 */ || c == 0x767E /* 百 */;
}

/* Reads 1 to 4 Chinese numerals at the position into out (NUL-terminated). */
static int cur_numerals(struct cur *c, char *out, size_t cap)
{
    size_t start = c->i, len, count = 0;

    while (count < 5 && is_cn_numeral(plan_cur_peek(c, &len))) {
        c->i += len;
        count++;
    }
    if (count == 0 || count > 4 || c->i - start >= cap)
        return 0;
    memcpy(out, c->s.p + start, c->i - start);
    out[c->i - start] = '\0';
    return 1;
}

/* Reads 1 or 2 arabic digits followed by . ． or 、 and no further digit. */
static int cur_arabic_outline(struct cur *c, char *out)
{
    static const char *const dots[] = {".", "．", "、", NULL};
    size_t len;
    int d, digits = 0;

    while (digits < 3 && (d = plan_arabic_digit(plan_cur_peek(c, &len))) >= 0) {
        out[digits++] = (char)('0' + d);
        c->i += len;
    }
    if (digits == 0 || digits > 2 || !plan_cur_any(c, dots) ||
        plan_arabic_digit(plan_cur_peek(c, &len)) >= 0)
        return 0;
    out[digits] = '.';
    out[digits + 1] = '\0';
    return 1;
}

/* Recognises 一、 （一） 1. at the start of ln->s; sets level, outline, rest. */
static int parse_heading(struct line *ln)
{
    static const char *const opens[] = {"（", "(", NULL};
    static const char *const closes[] = {"）", ")", NULL};
    struct cur c = {ln->s, 0};
    char num[16];

    if (cur_numerals(&c, num, sizeof num) && plan_cur_lit(&c, "、")) {
        ln->level = 1;
        snprintf(ln->outline, sizeof ln->outline, "%s", num);
    } else if ((c.i = 0, plan_cur_any(&c, opens)) && cur_numerals(&c, num, sizeof num) &&
               plan_cur_any(&c, closes)) {
        ln->level = 2;
        snprintf(ln->outline, sizeof ln->outline, "（%s）", num);
    } else if ((c.i = 0, cur_arabic_outline(&c, num))) {
        ln->level = 3;
        snprintf(ln->outline, sizeof ln->outline, "%s", num);
    } else {
        return 0;
    }
    ln->kind = LK_HEAD;
    ln->rest = sp_trim(sp_from(ln->s, c.i));
    return 1;
}

/* Recognises "<label>：" (or ":") at the start of ln->s. */
static int parse_label(struct line *ln, const char *label, enum line_kind kind)
{
    static const char *const colons[] = {"：", ":", NULL};
    struct cur c = {ln->s, 0};

    if (!plan_cur_lit(&c, label))
        return 0;
    plan_cur_blanks(&c);
    if (!plan_cur_any(&c, colons))
        return 0;
    ln->kind = kind;
    ln->rest = sp_trim(sp_from(ln->s, c.i));
    return 1;
}

/* A page number line: 1 to 4 digits with dashes and blanks around them. */
static int is_page_number(struct span s)
{
    size_t len;
    int digits = 0;

    if (s.n > 32)
        return 0;
    for (size_t i = 0; i < s.n; i += len) {
        unsigned c = u8_get(s.p + i, s.n - i, &len);
        if (plan_arabic_digit(c) >= 0)
            digits++;
        else if (!(c == '-' || c == 0x2014 || c == 0x2013 || c == 0xFF0D || c == 0x2212 ||
                   is_blank_cp(c)))
            return 0;
    }
    return digits >= 1 && digits <= 4;
}

/* A footer line of an official document: 抄送… or …年…月…日印发. */
static int is_footer(struct span s)
{
    return sp_starts(s, "抄送") ||
           (sp_ends(s, "印发") && sp_find(s, "年") != NPOS && sp_find(s, "月") != NPOS &&
            sp_find(s, "日") != NPOS);
}

/* Sets ln->kind (and the heading or label fields) from its text. Footers
 * are recognised only in the body, after the first heading. Sets *oom when
 * out of memory. */
static void classify(struct line *ln, int in_body, int *oom)
{
    int r;

    ln->kind = LK_TEXT;
    ln->rest = ln->s;
    if (ln->s.n == 0) {
        ln->kind = LK_BLANK;
    } else if (parse_label(ln, "责任领导", LK_LEADERS)) {
        if ((r = plan_names_nobody(ln->rest)) != 0)
            ln->kind = LK_NOBODY;
        *oom |= r < 0;
    } else if (parse_heading(ln) || parse_label(ln, "责任单位", LK_UNITS)) {
        return;
    } else if ((r = plan_is_note_only(ln->s)) != 0) {
        ln->kind = LK_NOTE;
        *oom |= r < 0;
    } else if (is_page_number(ln->s)) {
        ln->kind = LK_PAGENO;
    } else if (in_body && is_footer(ln->s)) {
        ln->kind = LK_FOOTER;
    }
}

/* Lines that carry nothing for the tree: blank lines, page numbers, notes,
 * footers and 责任领导 lines naming no one. */
static int is_dropped(enum line_kind k)
{
    return k == LK_BLANK || k >= LK_NOTE;
}

/* 1 for the marks that end a line's sentence (see "Joining" at the top). */
int plan_is_terminal(unsigned c)
{
    static const unsigned marks[] = {0x3002, 0xFF0E, 0xFF01, 0xFF1F, 0xFF1B, 0xFF1A, 0x201D,
                                     0x2019, 0x300D, 0x300F, 0x2026, '!', '?', ';', ':'};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (c == marks[i])
            return 1;
    return 0;
}

/* Opening minus closing brackets in s. */
int plan_bracket_balance(struct span s)
{
    size_t len;
    int bal = 0;

    for (size_t i = 0; i < s.n; i += len) {
        unsigned c = u8_get(s.p + i, s.n - i, &len);
        bal += plan_is_open_bracket(c) ? 1 : plan_is_close_bracket(c) ? -1 : 0;
    }
    return bal;
}

/* Whether the paragraph that starts with line `first` and whose last piece
 * is `tail` continues on line `next` (see "Joining" at the top). `depth` is
 * its bracket balance so far, which matters before the first heading. */
static int continues(const struct line *first, struct span tail, const struct line *next,
                     int preamble, int depth)
{
    size_t len, stop;
    unsigned last = u8_last(tail, &len);

    if (next->kind != LK_TEXT)
        return 0;
    switch (first->kind) {
    case LK_UNITS:
        stop = sp_find(next->s, "。");
        return plan_is_unit_sep(last) && (stop == NPOS || stop + 3 == next->s.n);
    case LK_HEAD:
        return sp_find(first->rest, "。") != NPOS && !plan_is_terminal(last);
    case LK_TEXT:
        if (plan_is_terminal(last))
            return 0;
        return !preamble || last == 0xFF0C || last == 0x3001 || depth > 0;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------ */
/* Reading paragraphs                                                 */
/* ------------------------------------------------------------------ */

#define MAX_PREAMBLE 500     /* paragraphs before the first heading */
#define MAX_LISTED 1000      /* issues listed; further ones are only counted */

/* A logical line: a heading, a responsibility line or a text paragraph,
 * with the pieces a break split joined. */
struct para {
    enum line_kind kind;
    int level;
    int no;
    char outline[24];
    char *text;              /* owned; the rest after outline or label */
};

struct builder {
    int head;                /* innermost heading node, -1 before any */
    int head_open;           /* that heading has not taken a block yet */
    int last_at[4];          /* last heading node at levels 1..3 */
    char *pending;           /* text paragraphs waiting for their block, */
    size_t pend_n, pend_cap; /* joined by "\n"; its length and room */
    int pend_line;
    int blk;                 /* node taking responsibility lines, or -1 */
    int blk_leaders, blk_units;
};

struct parser {
    struct plan_doc *doc;
    int oom;                 /* an allocation failed */
    int stop;                /* a limit was hit: read no further */
    const char *text;        /* the input and the read position */
    size_t len, pos;
    int line_no;
    int in_body;             /* a heading has been read */
    struct line ahead;       /* a line read but not used yet */
    int have_ahead;
    struct plan_pre_para *pre; /* paragraphs before the first heading */
    size_t n_pre, pre_cap;
    struct builder b;
    size_t listed, unlisted;
    int error_listed;
};

static void issue(struct parser *ps, int line, int is_error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Adds an issue to the document. After MAX_LISTED issues, further ones are
 * only counted (but the first error is always listed). */
static void issue(struct parser *ps, int line, int is_error, const char *fmt, ...)
{
    va_list ap;

    if (ps->listed >= MAX_LISTED && (!is_error || ps->error_listed)) {
        ps->unlisted++;
        return;
    }
    va_start(ap, fmt);
    if (plan_doc_add_issue_v(ps->doc, line, is_error, fmt, ap))
        ps->oom = 1;
    va_end(ap);
    ps->listed++;
    ps->error_listed |= is_error;
}

/* A malloc'd copy of s, recording an allocation failure. */
static char *dup_or_oom(struct parser *ps, struct span s)
{
    char *r = sp_dup(s);
    if (!r)
        ps->oom = 1;
    return r;
}

/* Warns about a dropped line that the reader should know of. */
static void report_dropped(struct parser *ps, enum line_kind kind, int line)
{
    if (kind == LK_PAGENO)
        issue(ps, line, 0, "page number dropped");
    else if (kind == LK_FOOTER)
        issue(ps, line, 0, "footer line dropped");
    else if (kind == LK_NOBODY)
        issue(ps, line, 0, "责任领导 line names no leader; ignored");
}

/* Reads the next physical line, classified; 0 at the end of the input.
 * Page numbers and footers are reported here, as each line is read once. */
static int read_line(struct parser *ps, struct line *ln)
{
    const char *nl;
    size_t end;

    if (ps->pos > ps->len || (ps->pos == ps->len && ps->len > 0 && ps->text[ps->len - 1] == '\n'))
        return 0;               /* no empty line after a final newline */
    nl = ps->pos < ps->len ? memchr(ps->text + ps->pos, '\n', ps->len - ps->pos) : NULL;
    end = nl ? (size_t)(nl - ps->text) : ps->len;
    memset(ln, 0, sizeof *ln);
    ln->s = sp_trim(sp(ps->text + ps->pos, end - ps->pos));
    ln->no = ps->line_no < INT_MAX ? ++ps->line_no : INT_MAX;
    ps->pos = end + 1;
    classify(ln, ps->in_body, &ps->oom);
    if (ln->kind == LK_HEAD)
        ps->in_body = 1;
    report_dropped(ps, ln->kind, ln->no);
    return 1;
}

/* The next line that is not dropped (so a sentence joins across dropped
 * lines). 0 at the end of the input. */
static int next_line(struct parser *ps, struct line *ln)
{
    if (ps->have_ahead) {
        *ln = ps->ahead;
        ps->have_ahead = 0;
        return 1;
    }
    while (read_line(ps, ln))
        if (!is_dropped(ln->kind))
            return 1;
    return 0;
}

/* Appends s to the text buffer *buf of *n bytes (NUL kept after them). */
static int buf_add(void **buf, size_t *n, size_t *cap, struct span s)
{
    if (plan_grow(buf, cap, *n + s.n + 1, 1))
        return -1;
    if (s.n)
        memcpy((char *)*buf + *n, s.p, s.n);
    *n += s.n;
    ((char *)*buf)[*n] = '\0';
    return 0;
}

/* Reads the lines of the next paragraph into *p (p->text malloc'd), with
 * *joined set when more than one line went into it. 0 at the end of the
 * input or when out of memory. */
static int join_lines(struct parser *ps, struct para *p, int *joined)
{
    struct line first, ln;
    struct span tail;
    void *buf = NULL;
    size_t n = 0, cap = 0;
    int preamble, depth;

    if (!next_line(ps, &first))
        return 0;
    preamble = !ps->in_body;
    depth = plan_bracket_balance(first.rest);
    tail = first.rest;
    *joined = 0;
    if (buf_add(&buf, &n, &cap, first.rest))
        goto oom;
    while (next_line(ps, &ln)) {
        if (!continues(&first, tail, &ln, preamble, depth)) {
            ps->ahead = ln;
            ps->have_ahead = 1;
            break;
        }
        if (buf_add(&buf, &n, &cap, ln.s))
            goto oom;
        tail = ln.s;
        depth += plan_bracket_balance(ln.s);
        *joined = 1;
    }
    p->kind = first.kind;
    p->level = first.level;
    p->no = first.no;
    memcpy(p->outline, first.outline, sizeof p->outline);
    p->text = buf;
    return 1;
oom:
    free(buf);
    ps->oom = 1;
    return 0;
}

/* Classifies a joined text paragraph again as a whole, since pieces can
 * join into a heading, a responsibility line, or a line that is dropped.
 * Returns 0 when the paragraph is to be dropped. */
static int reclassify(struct parser *ps, struct para *p)
{
    struct line ln;

    memset(&ln, 0, sizeof ln);
    ln.s = sp_str(p->text);
    classify(&ln, ps->in_body, &ps->oom);
    if (ln.kind == LK_TEXT)
        return 1;
    if (is_dropped(ln.kind)) {
        report_dropped(ps, ln.kind, p->no);
        return 0;
    }
    p->kind = ln.kind;
    p->level = ln.level;
    memcpy(p->outline, ln.outline, sizeof p->outline);
    memmove(p->text, ln.rest.p, ln.rest.n);
    p->text[ln.rest.n] = '\0';
    ps->in_body |= ln.kind == LK_HEAD;
    return 1;
}

/* Reads the next paragraph into *p (p->text malloc'd): a heading, a
 * responsibility line or text. 0 at the end of the input or when out of memory. */
static int next_para(struct parser *ps, struct para *p)
{
    int joined;

    while (join_lines(ps, p, &joined)) {
        if (!joined || p->kind != LK_TEXT || reclassify(ps, p))
            return 1;
        free(p->text);
    }
    return 0;
}

/* plan_warn_fn for plan_read_preamble: a warning listed through issue (ctx
 * is the struct parser). */
static void warn_issue(void *ctx, int line, const char *message)
{
    issue(ctx, line, 0, "%s", message);
}

/* Keeps a paragraph that comes before the first heading (takes p->text). */
static void keep_preamble(struct parser *ps, struct para *p)
{
    void *arr = ps->pre;

    if (p->kind == LK_LEADERS || p->kind == LK_UNITS) {
        issue(ps, p->no, 1, "%s line before the first heading (assignment with no text)",
              p->kind == LK_LEADERS ? "责任领导" : "责任单位");
        free(p->text);
        return;
    }
    if (ps->n_pre >= MAX_PREAMBLE) {
        issue(ps, p->no, 1, "more than %d paragraphs before the first heading", MAX_PREAMBLE);
        ps->stop = 1;
        free(p->text);
        return;
    }
    if (plan_grow(&arr, &ps->pre_cap, ps->n_pre + 1, sizeof *ps->pre)) {
        ps->oom = 1;
        free(p->text);
        return;
    }
    ps->pre = arr;
    ps->pre[ps->n_pre].text = p->text;
    ps->pre[ps->n_pre++].line = p->no;
}

/* ------------------------------------------------------------------ */
/* The tree                                                           */
/* ------------------------------------------------------------------ */

/* Appends `add` to *body, separated by "\n". Takes ownership of add. */
static void append_body(struct parser *ps, char **body, char *add)
{
    size_t a, b;
    char *r;

    if (!add)
        return;
    if (!*body) {
        *body = add;
        return;
    }
    a = strlen(*body);
    b = strlen(add);
    r = realloc(*body, a + b + 2);
    if (!r) {
        ps->oom = 1;
        free(add);
        return;
    }
    r[a] = '\n';
    memcpy(r + a + 1, add, b + 1);
    *body = r;
    free(add);
}

/* A new node, or -1 (with an error and parsing stopped) past PLAN_MAX_NODES. */
static int new_node(struct parser *ps, int line)
{
    int idx;

    if (ps->doc->n_nodes >= PLAN_MAX_NODES) {
        issue(ps, line, 1, "more than %d headings and paragraphs", PLAN_MAX_NODES);
        ps->stop = 1;
        return -1;
    }
    if ((idx = plan_doc_add_node(ps->doc)) < 0)
        ps->oom = 1;
    else
        ps->doc->nodes[idx].line = line;
    return idx;
}

/* Gives the pending text to the open heading, or else to a new level-4
 * child of the innermost heading. Returns that node, or -1 when nothing
 * was pending (or on failure). */
static int flush_pending(struct parser *ps, struct builder *b)
{
    char *text = b->pending;
    int idx = b->head;

    if (!text)
        return -1;
    b->pending = NULL;
    b->pend_n = b->pend_cap = 0;
    if (!(b->head_open && b->head >= 0) && (idx = new_node(ps, b->pend_line)) >= 0) {
        ps->doc->nodes[idx].parent = b->head;
        ps->doc->nodes[idx].level = 4;
    }
    if (idx < 0) {
        free(text);
        return -1;
    }
    b->head_open = 0;
    append_body(ps, &ps->doc->nodes[idx].body, text);
    return idx;
}

/* Splits heading text into title (through the first 。) and body. */
static void set_heading_text(struct parser *ps, struct plan_node *n, const char *text)
{
    struct span s = sp_str(text);
    size_t stop = sp_find(s, "。");
    struct span rest = stop == NPOS ? sp(s.p, 0) : sp_trim(sp_from(s, stop + 3));

    if (rest.n) {
        n->title = dup_or_oom(ps, sp(s.p, stop + 3));
        n->body = dup_or_oom(ps, rest);
    } else if (s.n) {
        n->title = dup_or_oom(ps, s);
    }
}

static void on_heading(struct parser *ps, struct builder *b, const struct para *p)
{
    struct plan_node *n;
    int idx, parent = -1;

    flush_pending(ps, b);
    b->blk = -1;
    if ((idx = new_node(ps, p->no)) < 0)
        return;
    for (int l = p->level - 1; l >= 1 && parent < 0; l--)
        parent = b->last_at[l];
    for (int l = p->level; l <= 3; l++)
        b->last_at[l] = -1;
    b->last_at[p->level] = idx;
    n = &ps->doc->nodes[idx];
    n->parent = parent;
    n->level = p->level;
    n->outline = dup_or_oom(ps, sp_str(p->outline));
    set_heading_text(ps, n, p->text);
    b->head = idx;
    b->head_open = 1;
}

/* The values of a 责任领导 or 责任单位 line, before they go to a node. */
struct duty {
    char **leaders;
    size_t n_leaders;
    struct plan_unit_ref *units;
    size_t n_units;
};

static void duty_free(struct duty *d)
{
    for (size_t i = 0; i < d->n_leaders; i++)
        free(d->leaders[i]);
    for (size_t i = 0; i < d->n_units; i++) {
        free(d->units[i].name);
        free(d->units[i].alias);
    }
    free(d->leaders);
    free(d->units);
    memset(d, 0, sizeof *d);
}

/* Splits the values of a responsibility line into *d. Returns 0 when the
 * line names someone; a line naming no unit is an error, one naming no
 * leader a warning, and either is then left out. */
static int read_duty(struct parser *ps, const struct para *p, struct duty *d)
{
    struct span s = sp_str(p->text);
    int leaders = p->kind == LK_LEADERS;

    memset(d, 0, sizeof *d);
    if (leaders ? plan_parse_leaders(s.p, s.n, &d->leaders, &d->n_leaders)
                : plan_parse_units(s.p, s.n, &d->units, &d->n_units)) {
        ps->oom = 1;
        return -1;
    }
    if (d->n_leaders + d->n_units > 0)
        return 0;
    issue(ps, p->no, !leaders, "%s line names no %s", leaders ? "责任领导" : "责任单位",
          leaders ? "leader" : "unit");
    return -1;
}

/* The node a 责任领导 (leaders = 1) or 责任单位 line assigns (see "Tree"),
 * or -1 (with an error when the line has no text above it). */
static int duty_target(struct parser *ps, struct builder *b, int leaders, int line)
{
    int seen = leaders ? b->blk_leaders : b->blk_units;
    int idx = -1;

    if (b->pending) {
        idx = flush_pending(ps, b);
    } else if (b->blk >= 0 && !seen) {
        return b->blk;
    } else if (b->blk < 0 && b->head_open &&
               (ps->doc->nodes[b->head].title || ps->doc->nodes[b->head].body)) {
        idx = b->head;
        b->head_open = 0;
    } else {
        issue(ps, line, 1, "%s line has no task text above it (assignment with no text)",
              leaders ? "责任领导" : "责任单位");
        return -1;
    }
    b->blk = idx;
    b->blk_leaders = b->blk_units = 0;
    return idx;
}

/* Moves the names in d to node n. A node takes one block and a block one
 * line of each kind, so the lists of n that d fills are still empty. */
static void give_duty(struct plan_node *n, struct duty *d)
{
    if (d->n_leaders) {
        n->leaders = d->leaders;
        n->n_leaders = d->n_leaders;
    }
    if (d->n_units) {
        n->units = d->units;
        n->n_units = d->n_units;
    }
    memset(d, 0, sizeof *d);
}

/* A 责任领导 or 责任单位 line: gives its names to the node it assigns. */
static void on_duty(struct parser *ps, struct builder *b, const struct para *p)
{
    int leaders = p->kind == LK_LEADERS;
    struct duty d;
    int idx;

    if (read_duty(ps, p, &d))
        return;
    if ((idx = duty_target(ps, b, leaders, p->no)) >= 0) {
        *(leaders ? &b->blk_leaders : &b->blk_units) = 1;
        give_duty(&ps->doc->nodes[idx], &d);
    }
    duty_free(&d);
}

/* Adds a text paragraph to the pending text, after a "\n" if there is some;
 * it ends any block of responsibility lines. */
static void add_pending(struct parser *ps, struct builder *b, const struct para *p)
{
    void *buf = b->pending;

    b->blk = -1;
    if (!b->pending)
        b->pend_line = p->no;
    if ((b->pend_n && buf_add(&buf, &b->pend_n, &b->pend_cap, sp("\n", 1))) ||
        buf_add(&buf, &b->pend_n, &b->pend_cap, sp_str(p->text)))
        ps->oom = 1;
    b->pending = buf;
}

/* Feeds one paragraph after the first heading to the tree (frees p->text). */
static void take_para(struct parser *ps, struct para *p)
{
    struct builder *b = &ps->b;

    if (p->kind == LK_HEAD) {
        on_heading(ps, b, p);
    } else if (p->kind == LK_LEADERS || p->kind == LK_UNITS) {
        on_duty(ps, b, p);
    } else {
        add_pending(ps, b, p);
    }
    free(p->text);
}

/* Fills the deadline and cadence of node n from its title, then its body. */
static void read_schedule(struct parser *ps, struct plan_node *n)
{
    const char *texts[2] = {n->title, n->body};

    for (int t = 0; t < 2; t++) {
        struct span s = sp_str(texts[t]);
        struct due d;
        size_t at, len;
        enum plan_recurrence r;

        if (!n->due_text && plan_find_due(s, ps->doc->issued_on, &d, &at)) {
            memcpy(n->due_on, d.date, sizeof n->due_on);
            n->due_text = dup_or_oom(ps, sp(s.p + at, d.end - at));
            if (!d.date[0] && n->due_text)
                issue(ps, n->line, 0, "deadline \"%s\" counts from the issue date, which the document does not give",
                      n->due_text);
        }
        if (!n->recurrence_text && (r = plan_find_cadence(s, &at, &len)) != RECUR_NONE) {
            n->recurrence = r;
            n->recurrence_text = dup_or_oom(ps, sp(s.p + at, len));
        }
    }
}

/* Schedules every node and warns about text that carries no assignment. */
static void finish_nodes(struct parser *ps)
{
    for (size_t i = 0; i < ps->doc->n_nodes && !ps->oom; i++) {
        struct plan_node *n = &ps->doc->nodes[i];
        read_schedule(ps, n);
        if (n->body && n->n_units == 0)
            issue(ps, n->line, 0, "text has no 责任单位 line, so it is not an assignment");
    }
}

static void parser_release(struct parser *ps)
{
    for (size_t i = 0; i < ps->n_pre; i++)
        free(ps->pre[i].text);
    free(ps->pre);
    free(ps->b.pending);
}

int plan_parse(const char *text, size_t len, struct plan_doc *out)
{
    struct parser ps;
    struct para p;
    int body = 0, rc = -1;

    memset(out, 0, sizeof *out);
    memset(&ps, 0, sizeof ps);
    ps.doc = out;
    ps.text = text ? text : "";
    ps.len = text ? len : 0;
    ps.b.head = ps.b.blk = -1;
    ps.b.last_at[1] = ps.b.last_at[2] = ps.b.last_at[3] = -1;
    if (plan_text_check(ps.text, ps.len, out))
        goto out;
    while (!ps.oom && !ps.stop && next_para(&ps, &p)) {
        if (!body && p.kind != LK_HEAD) {
            keep_preamble(&ps, &p);
            continue;
        }
        if (!body && plan_read_preamble(out, ps.pre, ps.n_pre, warn_issue, &ps))
            ps.oom = 1;
        body = 1;
        take_para(&ps, &p);
    }
    if (!body && !ps.stop)
        issue(&ps, ps.line_no, 1,
              "the document ends without any heading (一、, （一） or 1.); it is not a plan");
    flush_pending(&ps, &ps.b);
    finish_nodes(&ps);
    if (ps.unlisted)
        plan_doc_add_issue(out, 0, 0, "%zu more issues not listed", ps.unlisted);
    rc = ps.oom || plan_doc_has_errors(out) ? -1 : 0;
out:
    if (ps.oom)
        plan_doc_add_issue(out, 0, 1, "out of memory");
    if (rc != 0)
        plan_doc_drop_content(out);
    parser_release(&ps);
    return rc;
}
