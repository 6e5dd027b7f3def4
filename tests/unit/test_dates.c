/* Unit tests of the one date parser (model/dates.c) and of its year range,
 * shared with the plan-document importer. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "model/dates.h"
#include "model/plan_doc.h"

START_TEST(strict_form)
{
    int y = 0, m = 0, d = 0;
    ck_assert_int_eq(date_parse("2018-12-04", &y, &m, &d), 0);
    ck_assert_int_eq(y, 2018);
    ck_assert_int_eq(m, 12);
    ck_assert_int_eq(d, 4);
    static const char *const bad[] = {
        "1999- 1-01", " 1999-01-01", "1999-01-01 ", "1999-1-01", "1999-01-1", "+999-01-01", "1999-+1-01",
        "1999-01--1", "19990101", "1999/01/01", "1999-01-01T00:00:00Z", "99-01-01", "01999-01-01",
        "１９９９-01-01", "", "1999-01-0\xFF", "1999-01-",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(date_parse(bad[i], NULL, NULL, NULL) != 0, "accepted '%s'", bad[i]);
    ck_assert(!date_valid(NULL));
}
END_TEST

START_TEST(real_calendar_days)
{
    ck_assert(date_valid("2024-02-29"));
    ck_assert(date_valid("2000-02-29"));       /* divisible by 400 */
    ck_assert(!date_valid("2100-02-29"));      /* divisible by 100 */
    ck_assert(!date_valid("2023-02-29"));
    ck_assert(date_valid("2023-04-30"));
    ck_assert(!date_valid("2023-04-31"));
    ck_assert(!date_valid("2023-00-10"));
    ck_assert(!date_valid("2023-13-10"));
    ck_assert(!date_valid("2023-01-00"));
    ck_assert(!date_valid("2023-01-32"));
}
END_TEST

START_TEST(year_range_shared_with_the_importer)
{
    ck_assert(date_valid("1900-01-01"));
    ck_assert(date_valid("2199-12-31"));
    ck_assert(!date_valid("1899-12-31"));
    ck_assert(!date_valid("2200-01-01"));
    ck_assert(!date_valid("9999-12-31"));
    /* the CSV form of a plan checks its dates with the same parser */
    ck_assert(plan_date_is_valid("2199-12-31"));
    ck_assert(!plan_date_is_valid("2200-01-01"));
    /* and a document's issue date in the range is read, out of it is not */
    static const char *const doc = "2199年12月31日\n一、总体要求\n";
    struct plan_doc out;
    ck_assert_int_eq(plan_parse(doc, strlen(doc), &out), 0);
    ck_assert_str_eq(out.issued_on, "2199-12-31");
    ck_assert(date_valid(out.issued_on));
    plan_doc_free(&out);
    static const char *const late = "2200年1月1日\n一、总体要求\n";
    ck_assert_int_eq(plan_parse(late, strlen(late), &out), 0);
    ck_assert_str_eq(out.issued_on, "");
    plan_doc_free(&out);
}
END_TEST

START_TEST(timestamps)
{
    static const char *const good[] = {"2027-01-31T08:00:00Z", "2027-01-31T08:00:00.123456Z",
                                       "2027-01-31T08:00:00+08:00", "2027-01-31T23:59:60-05:30"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_assert_msg(timestamp_valid(good[i]), "refused '%s'", good[i]);
    static const char *const bad[] = {
        "2027-01-31", "2027-01-31T08:00:00", "2027-01-31 08:00:00Z", "2027-01-31T 8:00:00Z", "2027-01-31T08:00:00.Z",
        "2027-01-31T24:00:00Z", "2027-01-31T08:60:00Z", "2027-01-31T08:00:00+8:00", "2027-01-31T08:00:00+08:00x",
        "2027- 1-31T08:00:00Z", "2027-02-30T08:00:00Z", "2200-01-01T00:00:00Z", "2027-01-31T08:00:00+24:00", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!timestamp_valid(bad[i]), "accepted '%s'", bad[i]);
    ck_assert(!timestamp_valid(NULL));
}
END_TEST

START_TEST(days_in_month)
{
    ck_assert_int_eq(date_days_in_month(2024, 2), 29);
    ck_assert_int_eq(date_days_in_month(2023, 2), 28);
    ck_assert_int_eq(date_days_in_month(2023, 12), 31);
    ck_assert_int_eq(date_days_in_month(2023, 11), 30);
}
END_TEST

static Suite *dates_suite(void)
{
    Suite *s = suite_create("dates");
    TCase *t = tcase_create("parse");
    tcase_add_test(t, strict_form);
    tcase_add_test(t, real_calendar_days);
    tcase_add_test(t, year_range_shared_with_the_importer);
    tcase_add_test(t, timestamps);
    tcase_add_test(t, days_in_month);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dates_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
