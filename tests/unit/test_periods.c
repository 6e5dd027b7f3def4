/* Unit tests of the reporting-period parser (model/periods.c): the three
 * forms, their first days, ISO week years and the strictness of the form. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/periods.h"

/* Asserts that text parses to cadence and first day `start`. */
static void assert_period(const char *text, enum period_cadence cadence, const char *start)
{
    struct period p;
    char buf[16];
    ck_assert_msg(period_parse(text, &p) == 0, "refused '%s'", text);
    ck_assert_msg(p.cadence == cadence, "'%s': cadence %d", text, (int)p.cadence);
    ck_assert_str_eq(period_start_text(&p, buf), start);
}

START_TEST(months_and_quarters)
{
    assert_period("2019-06", PERIOD_MONTHLY, "2019-06-01");
    assert_period("2019-01", PERIOD_MONTHLY, "2019-01-01");
    assert_period("2019-12", PERIOD_MONTHLY, "2019-12-01");
    assert_period("2019-Q1", PERIOD_QUARTERLY, "2019-01-01");
    assert_period("2019-Q2", PERIOD_QUARTERLY, "2019-04-01");
    assert_period("2019-Q3", PERIOD_QUARTERLY, "2019-07-01");
    assert_period("2019-Q4", PERIOD_QUARTERLY, "2019-10-01");
    assert_period("1900-01", PERIOD_MONTHLY, "1900-01-01");
    assert_period("2199-Q4", PERIOD_QUARTERLY, "2199-10-01");
    ck_assert_str_eq(period_cadence_name(PERIOD_WEEKLY), "weekly");
    ck_assert_str_eq(period_cadence_name(PERIOD_MONTHLY), "monthly");
    ck_assert_str_eq(period_cadence_name(PERIOD_QUARTERLY), "quarterly");
}
END_TEST

/* First days checked against PostgreSQL's to_date('2019-23', 'IYYY-IW')
 * and a calendar. */
START_TEST(iso_weeks)
{
    assert_period("2019-W23", PERIOD_WEEKLY, "2019-06-03");
    assert_period("2019-W01", PERIOD_WEEKLY, "2018-12-31");   /* week 1 holds 4 January */
    assert_period("2019-W52", PERIOD_WEEKLY, "2019-12-23");
    assert_period("2020-W01", PERIOD_WEEKLY, "2019-12-30");
    assert_period("2020-W53", PERIOD_WEEKLY, "2020-12-28");   /* 2020 began on a Wednesday, a leap year */
    assert_period("2015-W53", PERIOD_WEEKLY, "2015-12-28");   /* 2015 began on a Thursday */
    assert_period("2021-W01", PERIOD_WEEKLY, "2021-01-04");
    assert_period("2010-W01", PERIOD_WEEKLY, "2010-01-04");
    assert_period("2009-W53", PERIOD_WEEKLY, "2009-12-28");
    assert_period("1900-W01", PERIOD_WEEKLY, "1900-01-01");
    assert_period("2000-W09", PERIOD_WEEKLY, "2000-02-28");
    ck_assert_int_eq(period_iso_weeks(2019), 52);
    ck_assert_int_eq(period_iso_weeks(2020), 53);
    ck_assert_int_eq(period_iso_weeks(2015), 53);
    ck_assert_int_eq(period_iso_weeks(2026), 53);
    ck_assert_int_eq(period_iso_weeks(2027), 52);
    ck_assert_int_eq(period_iso_weeks(2100), 52);
}
END_TEST

/* Every week of a span of ISO years starts on a Monday exactly 7 days
 * after the one before: counted here on a calendar of its own. */
START_TEST(weeks_follow_each_other)
{
    struct period prev, p;
    char name[32];   /* room for any two ints, so that no build warns of truncation */
    ck_assert_int_eq(period_parse("1999-W52", &prev), 0);
    for (int y = 2000; y <= 2040; y++) {
        for (int w = 1; w <= period_iso_weeks(y); w++) {
            snprintf(name, sizeof name, "%d-W%02d", y, w);
            ck_assert_int_eq(period_parse(name, &p), 0);
            int dy = prev.year, dm = prev.month, dd = prev.day + 7;
            int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
            int leap = (dy % 4 == 0 && dy % 100 != 0) || dy % 400 == 0;
            int len = dm == 2 && leap ? 29 : mdays[dm - 1];
            if (dd > len) {
                dd -= len;
                if (++dm > 12)
                    dm = 1, dy++;
            }
            ck_assert_msg(p.year == dy && p.month == dm && p.day == dd, "%s starts %d-%d-%d", name, p.year, p.month,
                          p.day);
            prev = p;
        }
    }
}
END_TEST

START_TEST(strict_form)
{
    static const char *const bad[] = {
        "2019-13", "2019-00", "2019-Q5", "2019-Q0", "2019-W54", "2019-W53", "2019-W00", "2021-W53",
        "2019-6", "2019-W5", "2019-W023", "2019-q2", "2019-w23", "2019-Q02", "2019-006", "2019-06 ",
        " 2019-06", "2019/06", "201906", "19-06", "+2019-06", "1899-12", "2200-01", "2200-W01",
        "2019-06-01", "2019-H1", "2019", "", "2019-", "2019-W", "2019-Q", "２０１９-06", "2019-0\xFF",
        ("2019-W2\x00" "3"),   /* a NUL inside: the parser must not stop at it */
    };
    struct period p;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(period_parse(bad[i], &p) != 0, "accepted '%s'", bad[i]);
    ck_assert_int_ne(period_parse(NULL, &p), 0);
}
END_TEST

static Suite *periods_suite(void)
{
    Suite *s = suite_create("periods");
    TCase *t = tcase_create("parse");
    tcase_add_test(t, months_and_quarters);
    tcase_add_test(t, iso_weeks);
    tcase_add_test(t, weeks_follow_each_other);
    tcase_add_test(t, strict_form);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(periods_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
