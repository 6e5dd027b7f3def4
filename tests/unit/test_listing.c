/* Unit tests of the list query parser (model/listing.c, list_prepare):
 * every parameter is checked, a bad one is named, dates are read strictly
 * and the SQL binds every value as a parameter. No database is needed. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "model/resources.h"
#include "tests/unit/field_errors.h"
#include "model/text.h"

/* Prepares spec's list for the query given as name, value pairs. */
static duban_status prepare_in(struct call *c, const struct list_spec *spec, const struct list_scope *scope,
                               struct list_query *lq, const char *const *pairs)
{
    static struct param_list q;
    memset(&q, 0, sizeof q);
    for (; pairs && pairs[0]; pairs += 2, q.count++) {
        q.items[q.count].name = pairs[0];
        q.items[q.count].value = pairs[1];
    }
    call_init(c, NULL);
    return list_prepare(c, spec, &q, scope, lq);
}

static duban_status prepare(struct call *c, const struct list_spec *spec, struct list_query *lq,
                            const char *const *pairs)
{
    return prepare_in(c, spec, NULL, lq, pairs);
}

START_TEST(good_filters_become_parameters)
{
    struct call c;
    struct list_query lq;
    ck_assert_int_eq(prepare(&c, &task_list, &lq,
                             (const char *const[]){"plan_id", "3", "due_before", "2027-01-31", "due_after",
                                                   "2024-02-29", "q", "扶贫", "limit", "10", NULL}),
                     DUBAN_OK);
    ck_assert_ptr_nonnull(lq.sql);
    ck_assert_int_eq(lq.limit, 10);
    ck_assert_int_eq(lq.nvalues, 4);   /* the filters; no offset, and the limit is the statement's */
    ck_assert_str_eq(lq.values[1], "2027-01-31");
    ck_assert_ptr_null(strstr(lq.sql, "2027"));   /* never pasted into the SQL */
    ck_assert_ptr_nonnull(strstr(lq.sql, " LIMIT 11"));
    ck_assert_ptr_null(strstr(lq.sql, "OFFSET"));
    list_query_clear(&lq);
    call_clear(&c);
}
END_TEST

/* A generic plan must know how many rows a page wants (listing.c,
 * build_sql): the limit is written in; an offset other than 0 stays a
 * parameter, so that deep pages do not fill the prepared statements. */
START_TEST(limit_is_written_in_and_offset_stays_a_parameter)
{
    struct call c;
    struct list_query lq;
    ck_assert_int_eq(prepare(&c, &task_list, &lq,
                             (const char *const[]){"plan_id", "3", "limit", "500", "offset", "20", NULL}),
                     DUBAN_OK);
    ck_assert_int_eq(lq.nvalues, 2);
    ck_assert_str_eq(lq.values[1], "20");
    ck_assert_ptr_nonnull(strstr(lq.sql, " LIMIT 501 OFFSET $2"));
    list_query_clear(&lq);
    call_clear(&c);
}
END_TEST

START_TEST(malformed_dates_are_named)
{
    struct call c;
    struct list_query lq;
    ck_assert_int_eq(prepare(&c, &task_list, &lq,
                             (const char *const[]){"due_before", "1999- 1-01", "due_after", "2019-02-29", NULL}),
                     DUBAN_BAD_INPUT);
    ck_assert_ptr_nonnull(error_for(&c, "due_before"));
    ck_assert_ptr_nonnull(strstr(error_for(&c, "due_before"), "YYYY-MM-DD"));
    ck_assert_ptr_nonnull(strstr(error_for(&c, "due_before"), "'1999- 1-01'"));
    ck_assert_ptr_nonnull(error_for(&c, "due_after"));
    ck_assert_ptr_null(lq.sql);
    list_query_clear(&lq);
    call_clear(&c);

    ck_assert_int_eq(prepare(&c, &progress_list, &lq,
                             (const char *const[]){"since", "2200-01-01", "until", "2024-1-01", NULL}),
                     DUBAN_BAD_INPUT);
    ck_assert_ptr_nonnull(error_for(&c, "since"));
    ck_assert_ptr_nonnull(error_for(&c, "until"));
    list_query_clear(&lq);
    call_clear(&c);
}
END_TEST

START_TEST(unknown_and_bad_parameters_are_all_named)
{
    struct call c;
    struct list_query lq;
    ck_assert_int_eq(prepare(&c, &task_list, &lq,
                             (const char *const[]){"color", "red", "limit", "abc", "offset", "-1", "sort", "-nope",
                                                   "level", "9", "status", "maybe", NULL}),
                     DUBAN_BAD_INPUT);
    ck_assert_uint_eq(json_array_size(c.errors), 6);
    for (const char *const *f = (const char *const[]){"color", "limit", "offset", "sort", "level", "status", NULL};
         *f; f++)
        ck_assert_msg(error_for(&c, *f) != NULL, "no error for %s", *f);
    ck_assert_ptr_nonnull(strstr(c.detail, "6 bad parameter"));
    list_query_clear(&lq);
    call_clear(&c);
}
END_TEST

START_TEST(a_long_bad_value_is_quoted_whole_characters)
{
    struct call c;
    struct list_query lq;
    char value[400] = "";
    for (int i = 0; i < 100; i++)
        strcat(value, "字");
    ck_assert_int_eq(prepare(&c, &task_list, &lq, (const char *const[]){"status", value, NULL}), DUBAN_BAD_INPUT);
    const char *message = error_for(&c, "status");
    ck_assert_ptr_nonnull(message);
    ck_assert(utf8_valid(message, strlen(message)));
    ck_assert_ptr_nonnull(strstr(message, "字…'"));
    list_query_clear(&lq);
    call_clear(&c);
}
END_TEST

/* The count statement the list runs: the spec's kept total, or NULL
 * (its rows are counted). */
static const char *total_read(const struct list_scope *scope, const char *const *pairs)
{
    struct call c;
    struct list_query lq;
    ck_assert_int_eq(prepare_in(&c, &task_list, scope, &lq, pairs), DUBAN_OK);
    const char *sql = lq.count_sql;
    list_query_clear(&lq);
    call_clear(&c);
    return sql;
}

START_TEST(the_overdue_total_is_read_from_the_kept_counts)
{
    const char *all = total_read(NULL, (const char *const[]){"overdue", "true", NULL});
    ck_assert_ptr_nonnull(all);
    ck_assert_ptr_nonnull(strstr(all, "task_open_due_count"));
    ck_assert_ptr_null(strstr(all, "$1"));
    /* with a plan, given in either order: $1 is the plan */
    const char *planned = total_read(NULL, (const char *const[]){"plan_id", "3", "overdue", "true", NULL});
    ck_assert_ptr_nonnull(planned);
    ck_assert_ptr_nonnull(strstr(planned, "c.plan_id = $1"));
    ck_assert_ptr_eq(total_read(NULL, (const char *const[]){"overdue", "true", "plan_id", "3", NULL}), planned);
    /* anything else is counted, a unit's tasks too */
    struct list_scope of_unit = {"unit_id", "unit", "unit", 4};
    ck_assert_ptr_null(total_read(&of_unit, (const char *const[]){"overdue", "true", NULL}));
    ck_assert_ptr_null(total_read(NULL, (const char *const[]){"overdue", "false", NULL}));
    ck_assert_ptr_null(total_read(NULL, (const char *const[]){NULL}));
    ck_assert_ptr_null(total_read(NULL, (const char *const[]){"plan_id", "3", NULL}));
    ck_assert_ptr_null(total_read(NULL, (const char *const[]){"overdue", "true", "status", "in_progress", NULL}));
    ck_assert_ptr_null(total_read(NULL, (const char *const[]){"overdue", "true", "unit_id", "4", NULL}));
    ck_assert_ptr_null(total_read(NULL, (const char *const[]){"overdue", "true", "overdue", "true", NULL}));
}
END_TEST

START_TEST(a_units_lead_total_is_read_from_the_kept_counts)
{
    const char *lead = total_read(NULL, (const char *const[]){"unit_id", "4", "role", "lead", NULL});
    ck_assert_ptr_nonnull(lead);
    ck_assert_ptr_nonnull(strstr(lead, "task_lead_count"));
    ck_assert_ptr_nonnull(strstr(lead, "c.unit_id = $1"));
    ck_assert_ptr_eq(total_read(NULL, (const char *const[]){"role", "lead", "unit_id", "4", NULL}), lead);
    /* the tasks it takes part in, or its lead tasks narrowed further, are counted */
    ck_assert_ptr_null(total_read(NULL, (const char *const[]){"unit_id", "4", "role", "partner", NULL}));
    ck_assert_ptr_null(total_read(NULL, (const char *const[]){"unit_id", "4", NULL}));
    ck_assert_ptr_null(total_read(NULL, (const char *const[]){"unit_id", "4", "role", "lead", "status", "done", NULL}));
    ck_assert_ptr_null(total_read(NULL, (const char *const[]){"unit_id", "4", "role", "lead", "plan_id", "3", NULL}));
}
END_TEST

static Suite *listing_suite(void)
{
    Suite *s = suite_create("listing");
    TCase *t = tcase_create("prepare");
    tcase_add_test(t, good_filters_become_parameters);
    tcase_add_test(t, limit_is_written_in_and_offset_stays_a_parameter);
    tcase_add_test(t, malformed_dates_are_named);
    tcase_add_test(t, unknown_and_bad_parameters_are_all_named);
    tcase_add_test(t, a_long_bad_value_is_quoted_whole_characters);
    tcase_add_test(t, the_overdue_total_is_read_from_the_kept_counts);
    tcase_add_test(t, a_units_lead_total_is_read_from_the_kept_counts);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(listing_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
