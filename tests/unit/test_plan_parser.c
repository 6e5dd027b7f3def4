/* Unit tests of the plan-document parser and renderer (model/plan_parser.c,
 * model/plan_preamble.c, model/plan_render_text.c, model/plan_render_csv.c).
 * Run as: test_plan_parser <path to seed/plan-2018.txt> */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/plan_doc.h"
#include "model/plan_render.h"

static const char *seed_path;

#define HEADER "path,level,outline,title,body,leaders,lead_unit,units,due_on,due_text,recurrence,recurrence_text\r\n"

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

/* Reads a whole file (malloc'd, NUL-terminated); fails the test if it cannot. */
static char *load_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    ck_assert_int_ge(size, 0);
    rewind(f);
    buf = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    buf[size] = '\0';
    *len = (size_t)size;
    return buf;
}

/* Parses the seed plan into *d, which must be accepted. */
static void parse_seed(struct plan_doc *d)
{
    size_t len;
    char *text = load_file(seed_path, &len);
    int rc = plan_parse(text, len, d);

    free(text);
    ck_assert_msg(rc == 0, "seed refused: %s", d->n_issues ? d->issues[0].message : "?");
}

/* Parses a NUL-terminated document; returns plan_parse's result. */
static int parse_str(const char *text, struct plan_doc *d)
{
    return plan_parse(text, strlen(text), d);
}

/* Parses a document that must be accepted. */
static void parse_ok(const char *text, struct plan_doc *d)
{
    int rc = parse_str(text, d);
    ck_assert_msg(rc == 0, "refused: %s", d->n_issues ? d->issues[0].message : "?");
}

/* The first node whose title or body contains needle; fails if none. */
static const struct plan_node *node_with(const struct plan_doc *d, const char *needle)
{
    for (size_t i = 0; i < d->n_nodes; i++) {
        const struct plan_node *n = &d->nodes[i];
        if ((n->title && strstr(n->title, needle)) || (n->body && strstr(n->body, needle)))
            return n;
    }
    ck_abort_msg("no node contains \"%s\"", needle);
    return NULL;
}

/* 1 when some issue of d (of the given kind) contains every word given. */
static int has_issue(const struct plan_doc *d, int is_error, const char *word1, const char *word2)
{
    for (size_t i = 0; i < d->n_issues; i++) {
        const char *m = d->issues[i].message;
        if (d->issues[i].is_error == is_error && strstr(m, word1) && (!word2 || strstr(m, word2)))
            return 1;
    }
    return 0;
}

static size_t count_level(const struct plan_doc *d, int level)
{
    size_t k = 0;
    for (size_t i = 0; i < d->n_nodes; i++)
        k += d->nodes[i].level == level;
    return k;
}

static size_t count_assignments(const struct plan_doc *d)
{
    size_t k = 0;
    for (size_t i = 0; i < d->n_nodes; i++)
        k += d->nodes[i].n_units > 0;
    return k;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Asserts that two documents hold the same metadata and the same tree,
 * node by node (everything but source line numbers). */
static void assert_same_doc(const struct plan_doc *a, const struct plan_doc *b)
{
    ck_assert_pstr_eq(a->doc_number, b->doc_number);
    ck_assert_pstr_eq(a->title, b->title);
    ck_assert_pstr_eq(a->issuer, b->issuer);
    ck_assert_str_eq(a->issued_on, b->issued_on);
    ck_assert_pstr_eq(a->basis, b->basis);
    ck_assert_uint_eq(a->n_nodes, b->n_nodes);
    for (size_t i = 0; i < a->n_nodes; i++) {
        const struct plan_node *x = &a->nodes[i], *y = &b->nodes[i];
        ck_assert_msg(x->parent == y->parent && x->level == y->level, "node %zu: place differs", i);
        ck_assert_msg(same_str(x->outline, y->outline), "node %zu: outline differs", i);
        ck_assert_msg(same_str(x->title, y->title), "node %zu: title differs", i);
        ck_assert_msg(same_str(x->body, y->body), "node %zu: body differs", i);
        ck_assert_msg(x->n_leaders == y->n_leaders, "node %zu: leader count differs", i);
        for (size_t k = 0; k < x->n_leaders; k++)
            ck_assert_msg(same_str(x->leaders[k], y->leaders[k]), "node %zu: leader %zu", i, k);
        ck_assert_msg(x->n_units == y->n_units, "node %zu: unit count differs", i);
        for (size_t k = 0; k < x->n_units; k++)
            ck_assert_msg(same_str(x->units[k].name, y->units[k].name) &&
                              same_str(x->units[k].alias, y->units[k].alias),
                          "node %zu: unit %zu differs", i, k);
        ck_assert_msg(strcmp(x->due_on, y->due_on) == 0 && same_str(x->due_text, y->due_text),
                      "node %zu: deadline differs", i);
        ck_assert_msg(x->recurrence == y->recurrence && same_str(x->recurrence_text, y->recurrence_text),
                      "node %zu: recurrence differs", i);
    }
}

/* ------------------------------------------------------------------ */
/* The seed plan                                                      */
/* ------------------------------------------------------------------ */

START_TEST(seed_sections)
{
    struct plan_doc d;

    parse_seed(&d);
    ck_assert_uint_eq(count_level(&d, 1), 3);
    ck_assert_uint_eq(count_level(&d, 2), 14);
    ck_assert_uint_eq(count_assignments(&d), 100);
    ck_assert_uint_eq(d.n_issues, 0);
    for (size_t i = 0; i < d.n_nodes; i++)
        ck_assert_int_lt(d.nodes[i].parent, (int)i);
    plan_doc_free(&d);
}
END_TEST

START_TEST(seed_leaders)
{
    struct plan_doc d;
    const char *seen[64];
    size_t n_seen = 0, li = 0;

    parse_seed(&d);
    for (size_t i = 0; i < d.n_nodes; i++) {
        for (size_t k = 0; k < d.nodes[i].n_leaders; k++) {
            const char *name = d.nodes[i].leaders[k];
            size_t j = 0;
            while (j < n_seen && strcmp(seen[j], name) != 0)
                j++;
            if (j == n_seen && n_seen < 64)
                seen[n_seen++] = name;
            li += strcmp(name, "李金国") == 0;
        }
    }
    ck_assert_uint_eq(n_seen, 12);
    ck_assert_uint_eq(li, 69);
    plan_doc_free(&d);
}
END_TEST

START_TEST(seed_units)
{
    struct plan_doc d;
    size_t led = 0;
    const struct plan_node *n;

    parse_seed(&d);
    for (size_t i = 0; i < d.n_nodes; i++)
        led += d.nodes[i].n_units && strcmp(d.nodes[i].units[0].name, "区扶贫办") == 0;
    ck_assert_uint_eq(led, 16);

    n = node_with(&d, "培育提升特色优势产业");
    ck_assert_str_eq(n->units[0].name, "区农工办");
    ck_assert_pstr_eq(n->units[0].alias, "区农发局");
    ck_assert_str_eq(n->units[n->n_units - 1].name, "各镇街（管区）");
    ck_assert_ptr_null(n->units[n->n_units - 1].alias);

    /* the note 列在首位的为牵头单位（下同）。 is stripped from the first list */
    n = node_with(&d, "摸清摸实精准脱贫底数");
    ck_assert_uint_eq(n->n_units, 11);
    ck_assert_str_eq(n->units[10].name, "各镇街（管区）");

    /* a unit list that wraps onto the next line */
    n = node_with(&d, "完善对区域水源地");
    ck_assert_uint_eq(n->n_units, 5);
    ck_assert_str_eq(n->units[3].name, "区林业局");

    /* "，" as a separator */
    n = node_with(&d, "立足贫困人口插花式分布实际");
    ck_assert_uint_eq(n->n_units, 3);
    ck_assert_str_eq(n->units[2].name, "各镇街（管区）");
    plan_doc_free(&d);
}
END_TEST

START_TEST(seed_metadata)
{
    struct plan_doc d;

    parse_seed(&d);
    ck_assert_pstr_eq(d.doc_number, "青西新办发〔2018〕21号");
    ck_assert_str_eq(d.issued_on, "2018-12-04");
    ck_assert_pstr_eq(d.title, "《关于打赢脱贫攻坚战三年行动的意见》 责任分解方案");
    ck_assert_pstr_eq(d.issuer, "中共青岛西海岸新区工委办公室 青岛西海岸新区管委办公室");
    ck_assert_pstr_eq(d.basis, "《关于打赢脱贫攻坚战三年行动的意见》（青发〔2018〕47号）");
    plan_doc_free(&d);
}
END_TEST

START_TEST(seed_page_breaks)
{
    struct plan_doc d;
    const struct plan_node *n;

    parse_seed(&d);
    n = node_with(&d, "培育提升特色优势产业");
    ck_assert_int_eq(n->level, 3);
    ck_assert_pstr_eq(n->title, "培育提升特色优势产业。");
    ck_assert_pstr_eq(n->body, "以市场需求为导向，因地制宜培育发展对贫困户增收带动作用明显的特色种养业、"
                               "农产品加工业和特色手工业，建设一批特色种养基地和良种繁育基地，打造一批休闲农业园区。");
    ck_assert_int_eq(n->line, 53);
    /* every other break in the seed */
    node_with(&d, "组织贫困人口就近参与农村人居环境整治、小型基础设施等项目建设");
    node_with(&d, "采取生产奖补、劳务补助等方式，动员贫困人口参与扶贫项目实施");
    node_with(&d, "红白理事会等群众组织作用，倡树喜事新办");
    node_with(&d, "全面完成土地确权登记颁证，推进经营性资产确权到户");
    node_with(&d, "所有权归村集体，及时办理扶贫资产移交手续");
    node_with(&d, "加强贫（弱）村塘坝、机井、拦河闸坝");
    node_with(&d, "恢复改善水土流失区生态环境和农业生产条件");
    node_with(&d, "合理设置农村小规模学校和寄宿制学校，加大网络教学");
    node_with(&d, "提升农村义务教育学校基础能力。完成农村中小学标准化食堂建设。加快新建、改扩建农村幼儿园");
    node_with(&d, "生活不能自理特困人员集中供养率达到 50%以上。");
    node_with(&d, "区和镇街（管区）重在抓落实，做好动态调整");
    node_with(&d, "并向重点区域、重点人群倾斜");
    node_with(&d, "提升扶贫干部脱贫攻坚实战能力");
    node_with(&d, "注重在脱贫攻坚一线考察识别干部");
    node_with(&d, "坚决反对形式主义、官僚主义，深入开展");
    plan_doc_free(&d);
}
END_TEST

START_TEST(seed_structure)
{
    struct plan_doc d;
    const struct plan_node *n;
    int idx, children = 0;

    parse_seed(&d);
    /* （三） with no 1. item: its first block is its own body and assignment */
    n = node_with(&d, "着力推进就业扶贫增加劳务收入");
    ck_assert_int_eq(n->level, 2);
    ck_assert_pstr_eq(n->outline, "（三）");
    ck_assert_ptr_nonnull(n->body);
    ck_assert_int_eq(strncmp(n->body, "实施就业扶贫行动计划。", strlen("实施就业扶贫行动计划。")), 0);
    ck_assert_uint_eq(n->n_units, 5);
    /* （三）营造…: body, then two level-4 children */
    n = node_with(&d, "营造良好的脱贫攻坚社会氛围");
    idx = (int)(n - d.nodes);
    for (size_t i = 0; i < d.n_nodes; i++)
        children += d.nodes[i].parent == idx && d.nodes[i].level == 4;
    ck_assert_int_eq(children, 2);
    /* a paragraph right after a 责任单位 line, with no blank line between */
    n = node_with(&d, "开展扶贫龙头企业评审认定和管理工作");
    ck_assert_int_eq(n->level, 4);
    ck_assert_ptr_null(n->title);
    ck_assert_ptr_null(n->outline);
    ck_assert_pstr_eq(d.nodes[n->parent].title, "提高农业生产组织化水平。");
    /* 1.着力… with no space after the dot */
    n = node_with(&d, "着力改观提升村容村貌");
    ck_assert_int_eq(n->level, 3);
    ck_assert_pstr_eq(n->outline, "1.");
    plan_doc_free(&d);
}
END_TEST

START_TEST(seed_deadlines)
{
    struct plan_doc d;
    const struct plan_node *n;
    size_t dated = 0;

    parse_seed(&d);
    n = node_with(&d, "强化行业部门扶贫责任");
    ck_assert_str_eq(n->due_on, "2019-02-04");
    ck_assert_pstr_eq(n->due_text, "在本方案公布 2 个月内");
    n = node_with(&d, "强化扶贫干部队伍建设");
    ck_assert_str_eq(n->due_on, "2019-12-31");
    ck_assert_pstr_eq(n->due_text, "2019年底前");
    n = node_with(&d, "提升农村社区综合服务能力");
    ck_assert_str_eq(n->due_on, "2020-12-31");
    ck_assert_pstr_eq(n->due_text, "到2020年");
    n = node_with(&d, "提高医疗健康服务水平");
    ck_assert_str_eq(n->due_on, "2018-12-31");
    ck_assert_pstr_eq(n->due_text, "2018年实现");
    /* 2016 年以来, 2020 年后, 2019 年、2020 年 are not deadlines */
    ck_assert_str_eq(node_with(&d, "规范完善扶贫项目管理")->due_on, "");
    ck_assert_str_eq(node_with(&d, "建立稳定脱贫长效机制")->due_on, "");
    ck_assert_str_eq(node_with(&d, "强化脱贫攻坚投入保障")->due_on, "");
    for (size_t i = 0; i < d.n_nodes; i++)
        dated += d.nodes[i].due_on[0] != '\0';
    ck_assert_uint_eq(dated, 4);
    /* cadences */
    n = node_with(&d, "强化党政一把手负总责的领导责任制");
    ck_assert_int_eq(n->recurrence, RECUR_BIMONTHLY);
    ck_assert_pstr_eq(n->recurrence_text, "每两个月");
    n = node_with(&d, "建立稳定脱贫长效机制");
    ck_assert_int_eq(n->recurrence, RECUR_YEARLY);
    ck_assert_pstr_eq(n->recurrence_text, "每年");
    ck_assert_int_eq(node_with(&d, "问题整改落实季")->recurrence, RECUR_YEARLY);
    plan_doc_free(&d);
}
END_TEST

START_TEST(seed_text_round_trip)
{
    struct plan_doc d, again;
    char *text, *text2;

    parse_seed(&d);
    text = plan_render_text(&d);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(parse_str(text, &again), 0);
    ck_assert_uint_eq(again.n_issues, 0);
    assert_same_doc(&d, &again);
    text2 = plan_render_text(&again);
    ck_assert_str_eq(text, text2);
    free(text);
    free(text2);
    plan_doc_free(&d);
    plan_doc_free(&again);
}
END_TEST

START_TEST(seed_csv_round_trip)
{
    struct plan_doc d, again;
    char *csv, *csv2;

    parse_seed(&d);
    csv = plan_render_csv(&d);
    ck_assert_ptr_nonnull(csv);
    ck_assert_int_eq(strncmp(csv, HEADER, strlen(HEADER)), 0);
    ck_assert_ptr_nonnull(strstr(csv, "\r\n1.2.1,3,1.,培育提升特色优势产业。,"));
    ck_assert_ptr_nonnull(strstr(csv, ",隋斌 李金国,区农工办（区农发局）,区扶贫办、区工信局、"));
    ck_assert_int_eq(plan_parse_csv(csv, strlen(csv), &again), 0);
    assert_same_doc(&d, &again);
    csv2 = plan_render_csv(&again);
    ck_assert_str_eq(csv, csv2);
    free(csv);
    free(csv2);
    plan_doc_free(&d);
    plan_doc_free(&again);
}
END_TEST

/* Parses the seed and returns 1 when it matches the counts; for threads. */
static void *parse_seed_in_thread(void *text)
{
    struct plan_doc d;
    int ok = plan_parse(text, strlen(text), &d) == 0 && count_assignments(&d) == 100;

    plan_doc_free(&d);
    return ok ? text : NULL;
}

START_TEST(seed_parallel)
{
    pthread_t t[4];
    size_t len;
    char *text = load_file(seed_path, &len);

    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, parse_seed_in_thread, text), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        ck_assert_int_eq(pthread_join(t[i], &r), 0);
        ck_assert_ptr_eq(r, text);
    }
    free(text);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Rules, on small documents                                          */
/* ------------------------------------------------------------------ */

START_TEST(headings_forms)
{
    struct plan_doc d;

    parse_ok("一、总体\n(二)分项\n1．全角点。正文一。\n责任单位：区甲局\n2.无空格。正文二。\n责任单位：区乙局\n"
             "3. 有空格。增长 2.5%。\n责任单位：区丙局\n2.5%的指标要落实。\n责任单位：区丁局\n", &d);
    ck_assert_uint_eq(d.n_nodes, 6);
    ck_assert_pstr_eq(d.nodes[0].outline, "一");
    ck_assert_pstr_eq(d.nodes[1].outline, "（二）");
    ck_assert_int_eq(d.nodes[1].parent, 0);
    ck_assert_pstr_eq(d.nodes[2].outline, "1.");
    ck_assert_pstr_eq(d.nodes[2].title, "全角点。");
    ck_assert_pstr_eq(d.nodes[2].body, "正文一。");
    ck_assert_int_eq(d.nodes[2].parent, 1);
    ck_assert_pstr_eq(d.nodes[3].outline, "2.");
    ck_assert_pstr_eq(d.nodes[3].title, "无空格。");
    ck_assert_pstr_eq(d.nodes[4].body, "增长 2.5%。");
    ck_assert_int_eq(d.nodes[5].level, 4);
    ck_assert_pstr_eq(d.nodes[5].body, "2.5%的指标要落实。");
    ck_assert_int_eq(d.nodes[5].parent, 4);
    plan_doc_free(&d);
}
END_TEST

START_TEST(blocks_and_children)
{
    struct plan_doc d;

    parse_ok("一、大项\n\n（一）小项\n\n第一段。\n\n责任领导：甲\n\n责任单位：区甲局\n\n"
             "第二段。\n\n责任领导：乙\n\n责任单位：区乙局\n\n（二）直接分工\n\n责任单位：区丙局\n", &d);
    ck_assert_uint_eq(d.n_nodes, 4);
    ck_assert_pstr_eq(d.nodes[1].body, "第一段。");
    ck_assert_str_eq(d.nodes[1].units[0].name, "区甲局");
    ck_assert_int_eq(d.nodes[2].level, 4);
    ck_assert_int_eq(d.nodes[2].parent, 1);
    ck_assert_int_eq(d.nodes[2].line, 11);
    ck_assert_str_eq(d.nodes[2].leaders[0], "乙");
    /* responsibility lines right under a heading assign the heading */
    ck_assert_pstr_eq(d.nodes[3].title, "直接分工");
    ck_assert_ptr_null(d.nodes[3].body);
    ck_assert_str_eq(d.nodes[3].units[0].name, "区丙局");
    plan_doc_free(&d);
}
END_TEST

START_TEST(joins)
{
    struct plan_doc d;

    parse_ok("一、标题\n\n（一）不吞下一行\n\n因地制宜培\n\n- 3 -\n\n育发展产业。\n\n"
             "责任单位：区甲局\n\n句子完整。\n\n下一段独立。\n\n责任单位：区乙局\n", &d);
    ck_assert_pstr_eq(d.nodes[1].title, "不吞下一行");
    ck_assert_pstr_eq(d.nodes[1].body, "因地制宜培育发展产业。");
    ck_assert_pstr_eq(d.nodes[2].body, "句子完整。\n下一段独立。");
    ck_assert(has_issue(&d, 0, "line 7:", "page number"));
    plan_doc_free(&d);

    /* pieces that join into a responsibility line are one; dropped lines
     * (notes, footers) do not stop a sentence */
    parse_ok("一、标题\n\n工作要\n\n列在首位的为牵头单位（下同）\n\n落\n\n责任领导：\n\n实。\n\n责任单\n\n位：区甲局\n", &d);
    ck_assert_uint_eq(d.n_nodes, 1);
    ck_assert_pstr_eq(d.nodes[0].body, "工作要落实。");
    ck_assert(has_issue(&d, 0, "line 9:", "names no leader"));
    ck_assert_uint_eq(d.nodes[0].n_units, 1);
    ck_assert_str_eq(d.nodes[0].units[0].name, "区甲局");
    plan_doc_free(&d);
}
END_TEST

START_TEST(preamble_join_and_metadata)
{
    struct plan_doc d;

    parse_ok("中共某区委办公室文件\n\n某办发〔2019〕3号\n\n现将《〈关于某事的意见〉责任分解方\n\n"
             "案》印发给你们，请认真贯彻执行。\n\n某区委办公室　某区政府办公室\n\n二〇一九年三月五日\n\n"
             "一、标题\n\n工作。\n\n责任单位：区甲局\n", &d);
    ck_assert_pstr_eq(d.doc_number, "某办发〔2019〕3号");
    ck_assert_str_eq(d.issued_on, "2019-03-05");
    ck_assert_pstr_eq(d.issuer, "某区委办公室 某区政府办公室");
    /* no plain title line after the date: without the join, the broken
     * half "现将《〈关于…方" would have been taken for the title */
    ck_assert_ptr_null(d.title);
    ck_assert_pstr_eq(d.basis, "《〈关于某事的意见〉责任分解方案》");
    plan_doc_free(&d);

    /* a title line that leaves a bracket open is not used */
    parse_ok("2019年3月5日\n\n《关于某事的意见\n\n一、标题\n", &d);
    ck_assert_ptr_null(d.title);
    ck_assert(has_issue(&d, 0, "line 3:", "title not used"));
    plan_doc_free(&d);

    parse_ok("某区委办公室 某区政府办公室 印发《〈关于某事的意见〉责任分解方案》的通知\n\n一、标题\n", &d);
    ck_assert_pstr_eq(d.issuer, "某区委办公室 某区政府办公室");
    ck_assert_pstr_eq(d.title, "《关于某事的意见》责任分解方案");
    plan_doc_free(&d);
}
END_TEST

START_TEST(leaders_and_units)
{
    struct plan_doc d;
    const struct plan_node *n;

    parse_ok("一、标题\n任务一。\n责任领导：张三　李四  王五\n"
             "责任单位：区甲局，区乙局,团区委（区青联）、各镇街（管区）、区丙办（筹）（列在首位的为牵头单位，下同）\n"
             "任务二。\n责任领导：赵六、钱七\n责任单位：列在首位的为牵头单位（下同）区丁局、\n\n区戊局\n"
             "任务三。\n责任单位：区己局。\n列在首位的为牵头单位（下同）\n"
             "任务四。\n责任单位：区庚局（列在首位的为牵列在首位的为牵头单位（下同）头单位，下同）\n", &d);
    n = &d.nodes[0];
    ck_assert_uint_eq(n->n_leaders, 3);
    ck_assert_str_eq(n->leaders[0], "张三");
    ck_assert_str_eq(n->leaders[1], "李四");
    ck_assert_str_eq(n->leaders[2], "王五");
    ck_assert_uint_eq(n->n_units, 5);
    ck_assert_str_eq(n->units[1].name, "区乙局");
    ck_assert_str_eq(n->units[2].name, "团区委");
    ck_assert_pstr_eq(n->units[2].alias, "区青联");
    ck_assert_str_eq(n->units[3].name, "各镇街（管区）");
    ck_assert_ptr_null(n->units[3].alias);
    ck_assert_str_eq(n->units[4].name, "区丙办（筹）");
    ck_assert_ptr_null(n->units[4].alias);
    n = &d.nodes[1];
    ck_assert_uint_eq(n->n_leaders, 2);
    ck_assert_uint_eq(n->n_units, 2);
    ck_assert_str_eq(n->units[0].name, "区丁局");
    ck_assert_str_eq(n->units[1].name, "区戊局");
    ck_assert_uint_eq(d.nodes[2].n_units, 1);
    ck_assert_str_eq(d.nodes[2].units[0].name, "区己局");
    /* a note that removing another note splices together goes too */
    ck_assert_uint_eq(d.nodes[3].n_units, 1);
    ck_assert_str_eq(d.nodes[3].units[0].name, "区庚局");
    ck_assert_uint_eq(d.n_issues, 0);
    plan_doc_free(&d);
}
END_TEST

/* Parses "一、标题\n<task>\n责任单位：区甲局\n" after an issue-date preamble
 * and checks the deadline found. */
static void check_due(const char *task, const char *due_on, const char *due_text)
{
    struct plan_doc d;
    char doc[512];

    snprintf(doc, sizeof doc, "2018年12月4日\n\n一、标题\n\n%s\n\n责任单位：区甲局\n", task);
    parse_ok(doc, &d);
    ck_assert_msg(strcmp(d.nodes[0].due_on, due_on) == 0, "%s: due_on %s, expected %s", task,
                  d.nodes[0].due_on, due_on);
    ck_assert_pstr_eq(d.nodes[0].due_text, due_text);
    plan_doc_free(&d);
}

START_TEST(deadline_forms)
{
    check_due("2019年底前完成。", "2019-12-31", "2019年底前");
    check_due("2023年6月底前完成。", "2023-06-30", "2023年6月底前");
    check_due("2024年2月底前完成。", "2024-02-29", "2024年2月底前");
    check_due("在本方案公布 2 个月内制定。", "2019-02-04", "在本方案公布 2 个月内");
    check_due("在本方案公布2个月内制定。", "2019-02-04", "在本方案公布2个月内");
    check_due("在本方案印发后三个月内制定。", "2019-03-04", "在本方案印发后三个月内");
    check_due("到 2020 年基本实现。", "2020-12-31", "到 2020 年");
    check_due("到2020年底前全部完成。", "2020-12-31", "到2020年底前");
    check_due("2018年实现全覆盖。", "2018-12-31", "2018年实现");
    check_due("2019年3月15日前报送。", "2019-03-15", "2019年3月15日前");
    check_due("二〇一九年底前完成。", "2019-12-31", "二〇一九年底前");
    /* the first deadline in reading order wins */
    check_due("2020年底前完成，2019年底前启动。", "2020-12-31", "2020年底前");
    /* not deadlines */
    check_due("对 2016 年以来的项目排查。", "", NULL);
    check_due("研究 2020 年后的路子。", "", NULL);
    check_due("2019 年、2020 年投入不减。", "", NULL);
    check_due("对2018-2020年工作纪实。", "", NULL);
    check_due("编号12019年底前的记录。", "", NULL);
}
END_TEST

START_TEST(deadline_relative_clamped_and_unknown)
{
    struct plan_doc d;

    parse_ok("2018年12月31日\n\n一、标题\n\n在本方案公布2个月内完成。\n\n责任单位：区甲局\n", &d);
    ck_assert_str_eq(d.nodes[0].due_on, "2019-02-28");
    plan_doc_free(&d);
    parse_ok("一、标题\n\n在本方案公布2个月内完成。\n\n责任单位：区甲局\n", &d);
    ck_assert_str_eq(d.nodes[0].due_on, "");
    ck_assert_pstr_eq(d.nodes[0].due_text, "在本方案公布2个月内");
    ck_assert(has_issue(&d, 0, "line 1:", "issue date"));    /* the node's line */
    plan_doc_free(&d);
}
END_TEST

START_TEST(cadences)
{
    static const struct {
        const char *text;
        enum plan_recurrence r;
        const char *name;
    } cases[] = {
        {"每月报送进展。", RECUR_MONTHLY, "monthly"},
        {"每两个月研究一次。", RECUR_BIMONTHLY, "bimonthly"},
        {"每季度调度一次。", RECUR_QUARTERLY, "quarterly"},
        {"每半年总结一次。", RECUR_SEMIANNUAL, "semiannual"},
        {"每年开展一次，每月通报。", RECUR_YEARLY, "yearly"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct plan_doc d;
        char doc[256];
        enum plan_recurrence back;
        snprintf(doc, sizeof doc, "一、标题\n%s\n责任单位：区甲局\n", cases[i].text);
        parse_ok(doc, &d);
        ck_assert_int_eq(d.nodes[0].recurrence, cases[i].r);
        ck_assert_str_eq(plan_recurrence_name(cases[i].r), cases[i].name);
        ck_assert_int_eq(plan_recurrence_from_name(cases[i].name, &back), 0);
        ck_assert_int_eq(back, cases[i].r);
        plan_doc_free(&d);
    }
    ck_assert_ptr_null(plan_recurrence_name(RECUR_NONE));
}
END_TEST

START_TEST(warnings)
{
    struct plan_doc d;

    /* an empty 责任领导 line is reported and claims no block */
    parse_ok("一、标题\n\n责任领导：\n\n工作。\n\n责任单位：区甲局\n", &d);
    ck_assert(has_issue(&d, 0, "line 3:", "names no leader"));
    ck_assert_uint_eq(d.n_nodes, 1);
    ck_assert_pstr_eq(d.nodes[0].body, "工作。");
    plan_doc_free(&d);

    parse_ok("一、标题\n\n（一）小项\n\n没有分工的文字。\n\n（二）另一项\n\n工作。\n\n责任单位：区甲局\n\n"
             "抄送：区人大办公室\n", &d);
    ck_assert(has_issue(&d, 0, "line 3:", "not an assignment"));    /* （一）, whose body it became */
    ck_assert(has_issue(&d, 0, "line 13:", "footer"));
    ck_assert(!plan_doc_has_errors(&d));
    plan_doc_free(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Refused documents                                                  */
/* ------------------------------------------------------------------ */

/* The document must be refused with an error containing both words. */
static void check_refused(const char *text, size_t len, const char *word1, const char *word2)
{
    struct plan_doc d;

    ck_assert_int_eq(plan_parse(text, len, &d), -1);
    ck_assert_msg(has_issue(&d, 1, word1, word2), "no error with \"%s\" \"%s\" (first: %s)", word1,
                  word2 ? word2 : "", d.n_issues ? d.issues[0].message : "none");
    ck_assert_uint_eq(d.n_nodes, 0);
    ck_assert_ptr_null(d.title);
    plan_doc_free(&d);
}

START_TEST(refuse_no_headings)
{
    const char *t = "关于某事的通知\n\n请认真执行。\n";
    check_refused(t, strlen(t), "line 3:", "without any heading");
    check_refused("", 0, "line 1:", "without any heading");
    check_refused(NULL, 0, "line 1:", "without any heading");
}
END_TEST

START_TEST(refuse_assignment_without_text)
{
    const char *t = "一、标题\n\n工作。\n\n责任单位：区甲局\n\n责任单位：区乙局\n";
    check_refused(t, strlen(t), "line 7:", "no task text");
    t = "一、标题\n\n工作。\n\n责任领导：张三\n\n责任单位：区甲局\n\n责任领导：李四\n";
    check_refused(t, strlen(t), "line 9:", "no task text");
    t = "一、标题\n\n1.\n\n责任单位：区甲局\n";
    check_refused(t, strlen(t), "line 5:", "no task text");
    t = "责任单位：区甲局\n\n一、标题\n";
    check_refused(t, strlen(t), "line 1:", "before the first heading");
}
END_TEST

START_TEST(refuse_units_missing)
{
    const char *t = "一、标题\n\n工作。\n\n责任领导：张三\n\n责任单位：\n";
    check_refused(t, strlen(t), "line 7:", "names no unit");
    t = "一、标题\n\n工作。\n\n责任单位：列在首位的为牵头单位（下同）。\n";
    check_refused(t, strlen(t), "line 5:", "names no unit");
}
END_TEST

START_TEST(refuse_binary)
{
    char garbage[4096];
    unsigned seed = 12345;
    const char bad_utf8[] = "一、标题\n\n工作\xC3\x28。\n";
    const char nul[] = "一、标题\n\n工\0作。\n";
    const char control[] = "一、标题\n\x01\n";

    for (size_t i = 0; i < sizeof garbage; i++) {
        seed = seed * 1103515245u + 12345u;
        garbage[i] = (char)(seed >> 16);
    }
    check_refused(garbage, sizeof garbage, "line", NULL);
    check_refused(bad_utf8, sizeof bad_utf8 - 1, "line 3:", "invalid UTF-8");
    check_refused(nul, sizeof nul - 1, "line 3:", "NUL");
    check_refused(control, sizeof control - 1, "line 2:", "control");
}
END_TEST

START_TEST(refuse_too_big)
{
    size_t len = 10 * 1000 * 1000;
    char *big = malloc(len);
    struct timespec t0, t1;
    double ms;

    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < len; i++)
        big[i] = "一、标题\n"[i % 13];
    /* CPU time, not wall time, so that a busy machine does not fail the
     * test: refusing takes about 2 ms, reading 4 MiB would take far more */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    check_refused(big, len, "line 322639:", "limit of 4194304 bytes");
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    ck_assert_msg(ms < 100, "refusing 10 MB took %.1f ms of CPU", ms);
    free(big);
}
END_TEST

START_TEST(big_input_is_bounded)
{
    size_t len = PLAN_MAX_INPUT, w = 0;
    char *big = malloc(len + 1);
    struct plan_doc d;
    const char head[] = "一、标题\n\n";

    ck_assert_ptr_nonnull(big);
    memcpy(big, head, sizeof head - 1);
    w = sizeof head - 1;
    while (w + 3 <= len) {
        memcpy(big + w, "字", 3);
        w += 3;
    }
    big[w] = '\0';
    /* one huge paragraph: accepted, with a warning, in linear time */
    ck_assert_int_eq(plan_parse(big, w, &d), 0);
    ck_assert_uint_eq(d.n_nodes, 1);
    plan_doc_free(&d);
    /* 800 thousand short paragraphs in one block: linear too */
    w = sizeof head - 1;
    while (w + 7 <= len) {
        memcpy(big + w, "字。\n", 7);
        w += 7;
    }
    ck_assert_int_eq(plan_parse(big, w, &d), 0);
    ck_assert_uint_eq(d.n_nodes, 1);
    ck_assert_uint_eq(strlen(d.nodes[0].body), w - (sizeof head - 1) - 1);
    plan_doc_free(&d);
    /* too many nodes: refused */
    w = 0;
    while (w + 8 <= len) {
        memcpy(big + w, "1.x\n", 4);
        w += 4;
    }
    ck_assert_int_eq(plan_parse(big, w, &d), -1);
    ck_assert(has_issue(&d, 1, "more than", "headings"));
    plan_doc_free(&d);
    free(big);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Rendering and CSV                                                  */
/* ------------------------------------------------------------------ */

START_TEST(csv_quoting_round_trip)
{
    struct plan_doc d, again;
    char *csv;

    parse_ok("一、标题,含逗号\n\n“引号”和\"双引号\"。\n\n第二段，含, 逗号。\n\n责任单位：区甲局（区乙局）、区丙局\n", &d);
    ck_assert_pstr_eq(d.nodes[0].body, "“引号”和\"双引号\"。\n第二段，含, 逗号。");
    csv = plan_render_csv(&d);
    ck_assert_ptr_nonnull(strstr(csv, "\"标题,含逗号\""));
    ck_assert_ptr_nonnull(strstr(csv, "\"“引号”和\"\"双引号\"\"。\n第二段，含, 逗号。\""));
    ck_assert_int_eq(plan_parse_csv(csv, strlen(csv), &again), 0);
    assert_same_doc(&d, &again);
    ck_assert_int_eq(again.nodes[0].line, 7);
    free(csv);
    plan_doc_free(&d);
    plan_doc_free(&again);
}
END_TEST

/* The CSV must be refused with an error containing both words. */
static void check_csv_refused(const char *csv, const char *word1, const char *word2)
{
    struct plan_doc d;

    ck_assert_int_eq(plan_parse_csv(csv, strlen(csv), &d), -1);
    ck_assert_msg(has_issue(&d, 1, word1, word2), "no error with \"%s\" (first: %s)", word1,
                  d.n_issues ? d.issues[0].message : "none");
    ck_assert_uint_eq(d.n_nodes, 0);
    plan_doc_free(&d);
}

START_TEST(csv_refused)
{
    check_csv_refused("path,level\r\n", "line 1:", "header");
    check_csv_refused(HEADER "1,1,一,\"标题,,,,,,,,\r\n", "line 2:", "never closed");
    check_csv_refused(HEADER "1,1,一,标\"题,,,,,,,,\r\n", "line 2:", "quote");
    check_csv_refused(HEADER "1,1,一,标题\r\n", "line 2:", "fields");
    check_csv_refused(HEADER "1,5,一,标题,,,,,,,,\r\n", "line 2:", "level");
    check_csv_refused(HEADER "1.3,3,1.,标题,,,,,,,,\r\n", "line 2:", "parent");
    check_csv_refused(HEADER "1,1,一,标题,,,,,2019-02-30,,,\r\n", "line 2:", "due_on");
    check_csv_refused(HEADER "1,1,一,标题,,,,,,,weekly,\r\n", "line 2:", "recurrence");
    check_csv_refused(HEADER "1,1,一,标题,,,,区甲局,,,,\r\n", "line 2:", "without a lead unit");
    check_csv_refused(HEADER "#issued_on,2018-13-01,,,,,,,,,,\r\n", "line 2:", "issued_on");
    check_csv_refused(HEADER "#colour,red,,,,,,,,,,\r\n", "line 2:", "unknown metadata");
    check_csv_refused(HEADER "1,1,一,标题,,,,,,,,\r\n1.1,1,一,标题,,,,,,,,\r\n", "line 3:", "below its parent");
}
END_TEST

START_TEST(render_refuses_broken_doc)
{
    struct plan_doc d;

    memset(&d, 0, sizeof d);
    ck_assert_int_eq(plan_doc_add_node(&d), 0);
    d.nodes[0].level = 1;
    d.nodes[0].parent = 0;      /* its own parent */
    ck_assert_ptr_null(plan_render_text(&d));
    ck_assert_ptr_null(plan_render_csv(&d));
    plan_doc_free(&d);
}
END_TEST

START_TEST(dates)
{
    ck_assert(plan_date_is_valid("2024-02-29"));
    ck_assert(!plan_date_is_valid("2023-02-29"));
    ck_assert(!plan_date_is_valid("2023-2-01"));
    ck_assert(!plan_date_is_valid("2023-01-011"));
    ck_assert(!plan_date_is_valid(NULL));
}
END_TEST

static Suite *plan_parser_suite(void)
{
    Suite *s = suite_create("plan_parser");
    TCase *seed = tcase_create("seed"), *rules = tcase_create("rules");
    TCase *refused = tcase_create("refused"), *render = tcase_create("render");

    tcase_add_test(seed, seed_sections);
    tcase_add_test(seed, seed_leaders);
    tcase_add_test(seed, seed_units);
    tcase_add_test(seed, seed_metadata);
    tcase_add_test(seed, seed_page_breaks);
    tcase_add_test(seed, seed_structure);
    tcase_add_test(seed, seed_deadlines);
    tcase_add_test(seed, seed_text_round_trip);
    tcase_add_test(seed, seed_csv_round_trip);
    tcase_add_test(seed, seed_parallel);
    tcase_add_test(rules, headings_forms);
    tcase_add_test(rules, blocks_and_children);
    tcase_add_test(rules, joins);
    tcase_add_test(rules, preamble_join_and_metadata);
    tcase_add_test(rules, leaders_and_units);
    tcase_add_test(rules, deadline_forms);
    tcase_add_test(rules, deadline_relative_clamped_and_unknown);
    tcase_add_test(rules, cadences);
    tcase_add_test(rules, warnings);
    tcase_add_test(refused, refuse_no_headings);
    tcase_add_test(refused, refuse_assignment_without_text);
    tcase_add_test(refused, refuse_units_missing);
    tcase_add_test(refused, refuse_binary);
    tcase_add_test(refused, refuse_too_big);
    tcase_add_test(refused, big_input_is_bounded);
    tcase_add_test(render, csv_quoting_round_trip);
    tcase_add_test(render, csv_refused);
    tcase_add_test(render, render_refuses_broken_doc);
    tcase_add_test(render, dates);
    /* generous: some tests read 4 MiB, and CI machines are busy */
    tcase_set_timeout(seed, 60);
    tcase_set_timeout(rules, 60);
    tcase_set_timeout(refused, 60);
    tcase_set_timeout(render, 60);
    suite_add_tcase(s, seed);
    suite_add_tcase(s, rules);
    suite_add_tcase(s, refused);
    suite_add_tcase(s, render);
    return s;
}

int main(int argc, char **argv)
{
    SRunner *sr;
    int failed;

    if (argc < 2) {
        fprintf(stderr, "usage: %s path/to/seed/plan-2018.txt\n", argv[0]);
        return 2;
    }
    seed_path = argv[1];
    sr = srunner_create(plan_parser_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
