/* A bulletin (model/bulletin.c, with its extra members) as a Chinese
 * document ready to circulate: plain text, or Markdown with the same
 * sections. Pure: it reads only the document, so the same document always
 * gives the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/report_window.h"

/* The document being written. */
struct out {
    FILE *f;
    int md;   /* Markdown, else plain text */
};

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static long long num(const json_t *o, const char *key) { return json_integer_value(json_object_get(o, key)); }

/* Writes text on one line: line breaks and tabs become spaces; in a
 * Markdown table cell a bar is escaped. */
static void inline_text(struct out *o, const char *text, int cell)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t')
            fputc(' ', o->f);
        else if (*p == '|' && cell)
            fputs("\\|", o->f);
        else
            fputc(*p, o->f);
    }
}

/* Writes n (1..99) in Chinese numerals, larger ones in digits. */
static void chinese_number(FILE *f, int n)
{
    static const char *const digit[] = {"", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
    if (n < 1 || n > 99)
        fprintf(f, "%d", n);
    else if (n < 10)
        fputs(digit[n], f);
    else
        fprintf(f, "%s十%s", n >= 20 ? digit[n / 10] : "", digit[n % 10]);
}

/* Writes a date YYYY-MM-DD as 2019年6月30日. */
static void chinese_date(FILE *f, const char *date)
{
    int y, m, d;
    if (sscanf(date, "%4d-%2d-%2d", &y, &m, &d) == 3)
        fprintf(f, "%d年%d月%d日", y, m, d);
    else
        fputs(date, f);
}

/* Writes a period 2019-06, 2019-Q2 or 2019-W23 as 2019年6月, 2019年第二季度
 * or 2019年第23周. */
static void chinese_period(FILE *f, const char *period)
{
    int y, n;
    if (sscanf(period, "%4d-Q%d", &y, &n) == 2) {
        fprintf(f, "%d年第", y);
        chinese_number(f, n);
        fputs("季度", f);
    } else if (sscanf(period, "%4d-W%d", &y, &n) == 2) {
        fprintf(f, "%d年第%d周", y, n);
    } else if (sscanf(period, "%4d-%d", &y, &n) == 2) {
        fprintf(f, "%d年%d月", y, n);
    } else {
        fputs(period, f);
    }
}

/* A section heading: 一、总体情况. */
static void section(struct out *o, int n, const char *title)
{
    fputs(o->md ? "\n## " : "\n", o->f);
    chinese_number(o->f, n);
    fprintf(o->f, "、%s\n\n", title);
}

/* The start of a paragraph (plain text indents it by two wide spaces). */
static void paragraph(struct out *o) { fputs(o->md ? "" : "　　", o->f); }

/* Writes 无。 for an empty section; returns 1 when `list` is empty. */
static int none(struct out *o, const json_t *list)
{
    if (json_array_size(list) > 0)
        return 0;
    paragraph(o);
    fputs("无。\n", o->f);
    return 1;
}

static void title(struct out *o, const json_t *doc)
{
    fprintf(o->f, "%s《", o->md ? "# " : "");
    inline_text(o, str(doc, "title"), 0);
    fputs("》落实情况通报\n\n", o->f);
    if (*str(doc, "doc_number")) {
        fputs("方案文号：", o->f);
        inline_text(o, str(doc, "doc_number"), 0);
        fputs(o->md ? "  \n" : "\n", o->f);
    }
    fputs("报告期：", o->f);
    if (*str(doc, "period")) {
        chinese_period(o->f, str(doc, "period"));
        fputs("（", o->f);
        chinese_date(o->f, str(doc, "period_start"));
        fputs("至", o->f);
        chinese_date(o->f, str(doc, "period_end"));
        fputs("）", o->f);
    } else {
        fputs("方案未设定报送周期", o->f);
    }
    fputs(o->md ? "  \n截至：" : "\n截至：", o->f);
    chinese_date(o->f, str(doc, "as_of"));
    fputs("\n", o->f);
}

static void totals(struct out *o, const json_t *doc)
{
    const json_t *t = json_object_get(doc, "totals");
    const json_t *s = json_object_get(t, "by_status"), *w = json_object_get(t, "by_warning");
    section(o, 1, "总体情况");
    paragraph(o);
    fprintf(o->f,
            "方案共有任务%lld项，其中未启动%lld项、推进中%lld项、已完成%lld项、已取消%lld项。"
            "红色预警%lld项，黄色预警%lld项，蓝色预警%lld项，无预警%lld项。\n",
            num(t, "tasks"), num(s, "not_started"), num(s, "in_progress"), num(s, "done"), num(s, "cancelled"),
            num(w, "red"), num(w, "yellow"), num(w, "blue"), num(w, "none"));
}

/* The name of a warning reason's code, for a reason without detail. */
static const char *reason_name(const char *code)
{
    static const char *const names[][2] = {
        {"overdue", "逾期未完成"},          {"due_soon", "临近期限"},
        {"behind_schedule", "进度滞后"},    {"report_missing", "未按期报送进展"},
        {"urge_unanswered", "催办逾期未回复"}, {"closure_rejected", "办结申请被退回"},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(names[i][0], code) == 0)
            return names[i][1];
    return code;
}

/* A task named by its path and title. */
static void task_name(struct out *o, const json_t *task, int cell)
{
    inline_text(o, str(task, "path"), cell);
    fputc(' ', o->f);
    inline_text(o, str(task, "title"), cell);
}

/* The number of tasks of a colour in a group of the attention list. */
static size_t coloured(const json_t *group, const char *colour)
{
    size_t i, n = 0;
    const json_t *task;
    json_array_foreach(json_object_get(group, "tasks"), i, task)
        n += strcmp(str(task, "warning"), colour) == 0;
    return n;
}

/* The tasks of one colour by lead unit, each with its reasons. */
static void warned(struct out *o, int n, const char *heading, const json_t *doc, const char *colour)
{
    const json_t *groups = json_object_get(doc, "attention");
    size_t i, k, r;
    int shown = 0;
    const json_t *g, *task, *reason;
    section(o, n, heading);
    json_array_foreach(groups, i, g) {
        size_t count = coloured(g, colour);
        if (!count)
            continue;
        fputs(o->md && shown ? "\n### （" : o->md ? "### （" : "（", o->f);
        chinese_number(o->f, ++shown);
        fputs("）", o->f);
        inline_text(o, json_is_null(json_object_get(g, "unit_id")) ? "未明确牵头单位" : str(g, "unit_name"), 0);
        fprintf(o->f, "（%zu项）\n%s", count, o->md ? "\n" : "");
        int number = 0;
        json_array_foreach(json_object_get(g, "tasks"), k, task) {
            if (strcmp(str(task, "warning"), colour) != 0)
                continue;
            fprintf(o->f, "%s%d. ", o->md ? "" : "　　", ++number);
            task_name(o, task, 0);
            fputs("\n", o->f);
            json_array_foreach(json_object_get(task, "reasons"), r, reason) {
                fputs(o->md ? "   - " : "　　　　", o->f);
                inline_text(o, *str(reason, "detail") ? str(reason, "detail") : reason_name(str(reason, "code")), 0);
                fputs("\n", o->f);
            }
        }
    }
    if (!shown) {
        paragraph(o);
        fputs("无。\n", o->f);
    }
}

static void missing_reports(struct out *o, int n, const json_t *doc)
{
    const json_t *items = json_object_get(doc, "missing_reports");
    section(o, n, "未按期报送进展情况");
    if (!*str(doc, "period")) {
        paragraph(o);
        fputs("方案未设定报送周期。\n", o->f);
        return;
    }
    if (none(o, items))
        return;
    paragraph(o);
    chinese_period(o->f, str(doc, "period"));
    fprintf(o->f, "应报未报%zu项：\n%s", json_array_size(items),
            o->md ? "\n| 序号 | 牵头单位 | 任务 | 报送期限 |\n|---|---|---|---|\n" : "");
    size_t i;
    const json_t *m;
    json_array_foreach(items, i, m) {
        fprintf(o->f, o->md ? "| %zu | " : "　　%zu. ", i + 1);
        inline_text(o, str(m, "unit_name"), o->md);
        fputs(o->md ? " | " : "：", o->f);
        task_name(o, m, o->md);
        fputs(o->md ? " | " : "（报送期限", o->f);
        chinese_date(o->f, str(m, "due_on"));
        fputs(o->md ? " |\n" : "）\n", o->f);
    }
}

static void ranking(struct out *o, int n, const json_t *doc)
{
    const json_t *items = json_object_get(doc, "ranking");
    section(o, n, "考评排名");
    paragraph(o);
    fputs("考评期：", o->f);
    chinese_date(o->f, str(doc, "ranking_from"));
    fputs("至", o->f);
    chinese_date(o->f, str(doc, "as_of"));
    fputs("。\n", o->f);
    if (o->md && json_array_size(items))
        fputs("\n| 名次 | 单位 | 得分 | 牵头任务 | 按期完成 | 逾期完成 | 逾期未完成 | 应报送 | 按时报送 | 逾期报送 | 未报送 "
              "| 收到催办 | 按时回复 |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
              o->f);
    if (!o->md && json_array_size(items))
        fputs("\n", o->f);
    size_t i;
    const json_t *u;
    json_array_foreach(items, i, u) {
        fprintf(o->f, o->md ? "| %lld | " : "　　%lld. ", num(u, "rank"));
        inline_text(o, str(u, "name"), o->md);
        fprintf(o->f,
                o->md ? " | %.1f | %lld | %lld | %lld | %lld | %lld | %lld | %lld | %lld | %lld | %lld |\n"
                      : "　%.1f分（牵头任务%lld项，按期完成%lld项，逾期完成%lld项，逾期未完成%lld项；"
                        "应报送%lld次，按时报送%lld次，逾期报送%lld次，未报送%lld次；收到催办%lld次，按时回复%lld次）\n",
                json_real_value(json_object_get(u, "score")), num(u, "led"), num(u, "done_on_time"),
                num(u, "done_late"), num(u, "overdue_open"), num(u, "reports_expected"), num(u, "reports_on_time"),
                num(u, "reports_late"), num(u, "reports_missing"), num(u, "urges_received"),
                num(u, "urges_answered_on_time"));
    }
}

static void open_urges(struct out *o, int n, const json_t *doc)
{
    const json_t *items = json_object_get(doc, "open_urges");
    section(o, n, "催办未回复情况");
    if (none(o, items))
        return;
    size_t i;
    const json_t *u;
    json_array_foreach(items, i, u) {
        fprintf(o->f, o->md ? "%zu. " : "　　%zu. ", i + 1);
        inline_text(o, str(u, "unit_name"), 0);
        fputs("：", o->f);
        task_name(o, u, 0);
        fputs("，", o->f);
        chinese_date(o->f, str(u, "urged_on"));
        fputs("催办，要求", o->f);
        chinese_date(o->f, str(u, "reply_by"));
        fputs(strcmp(str(u, "reply_by"), str(doc, "as_of")) < 0 ? "前回复，已逾期。\n" : "前回复。\n", o->f);
        fputs(o->md ? "   - 催办事项：" : "　　　　催办事项：", o->f);
        inline_text(o, str(u, "message"), 0);
        fputs("\n", o->f);
    }
}

char *bulletin_render(const json_t *doc, int format)
{
    char *text = NULL;
    size_t len = 0;
    struct out o = {open_memstream(&text, &len), format == BULLETIN_MARKDOWN};
    if (!o.f)
        return NULL;
    title(&o, doc);
    totals(&o, doc);
    warned(&o, 2, "红色预警", doc, "red");
    warned(&o, 3, "黄色预警", doc, "yellow");
    missing_reports(&o, 4, doc);
    ranking(&o, 5, doc);
    open_urges(&o, 6, doc);
    if (fclose(o.f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
