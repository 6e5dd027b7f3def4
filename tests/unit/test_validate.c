/* Unit tests of JSON body validation (model/validate.c) and of how a call
 * collects errors (model/call.c): every bad field is listed, dates are read
 * strictly, and no error is lost to text that is not UTF-8. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "model/resource_def.h"
#include "model/resources.h"
#include "tests/unit/field_errors.h"
#include "model/validate.h"

/* Validates the JSON text against r's fields; the call keeps the errors. */
static duban_status check_doc(struct call *c, const struct resource *r, const char *text)
{
    json_error_t error;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &error);
    ck_assert_msg(doc != NULL, "bad test JSON: %s", error.text);
    call_init(c, NULL);
    duban_status s = validate_document(c, &r->fields, doc);
    json_decref(doc);
    return s;
}

START_TEST(a_good_document_passes)
{
    struct call c;
    ck_assert_int_eq(check_doc(&c, &plan_resource,
                               "{\"title\": \"方案\", \"issued_on\": \"2018-12-04\", \"starts_on\": \"2024-02-29\"}"),
                     DUBAN_OK);
    ck_assert_ptr_null(c.errors);
    call_clear(&c);
}
END_TEST

START_TEST(malformed_dates_are_422_naming_each_field)
{
    struct call c;
    ck_assert_int_eq(check_doc(&c, &plan_resource,
                               "{\"title\": \"方案\", \"issued_on\": \"1999- 1-01\", \"starts_on\": \"2023-02-29\","
                               " \"ends_on\": \"2200-01-01\"}"),
                     DUBAN_INVALID);
    ck_assert_uint_eq(json_array_size(c.errors), 3);
    for (const char *const *f = (const char *const[]){"issued_on", "starts_on", "ends_on", NULL}; *f; f++) {
        ck_assert_msg(error_for(&c, *f) != NULL, "no error for %s", *f);
        ck_assert_ptr_nonnull(strstr(error_for(&c, *f), "YYYY-MM-DD"));
    }
    call_clear(&c);
}
END_TEST

START_TEST(task_due_on_is_a_strict_date)
{
    struct call c;
    ck_assert_int_eq(check_doc(&c, &task_resource, "{\"plan_id\": 1, \"due_on\": \"2019-01-1\"}"), DUBAN_INVALID);
    ck_assert_ptr_nonnull(error_for(&c, "due_on"));
    call_clear(&c);
}
END_TEST

START_TEST(every_problem_is_listed_at_once)
{
    struct call c;
    ck_assert_int_eq(check_doc(&c, &plan_resource, "{\"issued_on\": 20181204, \"color\": \"red\", \"title\": \"\"}"),
                     DUBAN_BAD_INPUT);
    ck_assert_ptr_nonnull(error_for(&c, "issued_on"));
    ck_assert_ptr_nonnull(error_for(&c, "color"));
    ck_assert_ptr_nonnull(error_for(&c, "title"));
    ck_assert(c.detail[0]);
    call_clear(&c);
}
END_TEST

START_TEST(read_only_fields_are_dropped)
{
    json_t *doc = json_pack("{s:s,s:i,s:s}", "title", "方案", "id", 5, "created_at", "2026-01-01T00:00:00Z");
    struct call c;
    call_init(&c, NULL);
    ck_assert_int_eq(validate_document(&c, &plan_resource.fields, doc), DUBAN_OK);
    ck_assert_ptr_null(json_object_get(doc, "id"));
    ck_assert_ptr_nonnull(json_object_get(doc, "title"));
    json_decref(doc);
    call_clear(&c);
}
END_TEST

START_TEST(field_errors_survive_text_that_is_not_utf8)
{
    struct call c;
    call_init(&c, NULL);
    call_field_error(&c, "ab\xFF", "'%s' is bad", "x\xE4\xB8");
    ck_assert_uint_eq(json_array_size(c.errors), 1);
    ck_assert_str_eq(error_for(&c, "ab\\xFF"), "'x\\xE4\\xB8' is bad");
    ck_assert_int_eq(call_errors_status(&c, DUBAN_INVALID), DUBAN_INVALID);
    call_clear(&c);
}
END_TEST

START_TEST(a_long_detail_is_cut_on_a_character_boundary)
{
    struct call c;
    call_init(&c, NULL);
    char text[1024] = "";
    for (int i = 0; i < 300; i++)
        strcat(text, "字");
    call_fail(&c, DUBAN_INVALID, "%s", text);
    ck_assert(utf8_valid(c.detail, strlen(c.detail)));
    ck_assert_uint_lt(strlen(c.detail), sizeof c.detail);
    call_field_error(&c, "f", "%s", text);
    ck_assert(utf8_valid(error_for(&c, "f"), strlen(error_for(&c, "f"))));
    call_clear(&c);
}
END_TEST

START_TEST(members_of_an_object_are_named_with_their_parent)
{
    struct call c;
    ck_assert_int_eq(check_doc(&c, &plan_resource,
                               "{\"title\": \"方案\", \"supervision\": {\"report_day\": 0, \"lag_points\": 101,"
                               " \"requires_verification\": true, \"report_cadence\": null}}"),
                     DUBAN_INVALID);
    ck_assert_uint_eq(json_array_size(c.errors), 2);
    ck_assert_ptr_nonnull(error_for(&c, "supervision.report_day"));
    ck_assert_ptr_nonnull(error_for(&c, "supervision.lag_points"));
    call_clear(&c);
    ck_assert_int_eq(check_doc(&c, &plan_resource,
                               "{\"title\": \"方案\", \"supervision\": {\"requires_verification\": 1, \"x\": 2}}"),
                     DUBAN_BAD_INPUT);
    ck_assert_ptr_nonnull(error_for(&c, "supervision.requires_verification"));
    ck_assert_ptr_nonnull(error_for(&c, "supervision.x"));
    call_clear(&c);
    ck_assert_int_eq(check_doc(&c, &plan_resource, "{\"title\": \"方案\", \"supervision\": true}"), DUBAN_BAD_INPUT);
    ck_assert_str_eq(error_for(&c, "supervision"), "must be an object");
    call_clear(&c);
}
END_TEST

START_TEST(sql_text_of_values)
{
    json_t *list = json_pack("[s,s]", "a\"b", "c\\d");
    char *text = sql_text(list);
    ck_assert_str_eq(text, "{\"a\\\"b\",\"c\\\\d\"}");
    free(text);
    json_decref(list);
    ck_assert_ptr_null(sql_text(json_null()));
}
END_TEST

static Suite *validate_suite(void)
{
    Suite *s = suite_create("validate");
    TCase *t = tcase_create("documents");
    tcase_add_test(t, a_good_document_passes);
    tcase_add_test(t, malformed_dates_are_422_naming_each_field);
    tcase_add_test(t, task_due_on_is_a_strict_date);
    tcase_add_test(t, every_problem_is_listed_at_once);
    tcase_add_test(t, read_only_fields_are_dropped);
    tcase_add_test(t, field_errors_survive_text_that_is_not_utf8);
    tcase_add_test(t, a_long_detail_is_cut_on_a_character_boundary);
    tcase_add_test(t, members_of_an_object_are_named_with_their_parent);
    tcase_add_test(t, sql_text_of_values);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(validate_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
