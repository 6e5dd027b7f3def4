/* Unit tests of the UTF-8 helpers (model/text.c): checking text and
 * quoting it safely in messages. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "model/text.h"

#define BAD(s) (s), sizeof(s) - 1

START_TEST(valid_and_invalid_sequences)
{
    ck_assert(utf8_valid(BAD("")));
    ck_assert(utf8_valid(BAD("plain ascii")));
    ck_assert(utf8_valid(BAD("责任单位")));
    ck_assert(utf8_valid(BAD("\xF0\x9F\x98\x80")));        /* U+1F600 */
    ck_assert(utf8_valid(BAD("\xF4\x8F\xBF\xBF")));        /* U+10FFFF */
    ck_assert(!utf8_valid(BAD("\xFF")));
    ck_assert(!utf8_valid(BAD("\xE4\xB8")));               /* cut short */
    ck_assert(!utf8_valid(BAD("\xC0\xAF")));               /* overlong '/' */
    ck_assert(!utf8_valid(BAD("\xE0\x80\xAF")));           /* overlong */
    ck_assert(!utf8_valid(BAD("\xED\xA0\x80")));           /* surrogate U+D800 */
    ck_assert(!utf8_valid(BAD("\xF4\x90\x80\x80")));       /* above U+10FFFF */
    ck_assert(!utf8_valid(BAD("\x80")));                   /* lone continuation */
    ck_assert_uint_eq(utf8_invalid_at(BAD("一\xFF二")), 3);
    ck_assert_uint_eq(utf8_invalid_at(BAD("一二")), 6);
    ck_assert_uint_eq(utf8_sequence(BAD("\0")), 1);       /* NUL is UTF-8; callers refuse it apart */
}
END_TEST

START_TEST(length_counts_characters)
{
    ck_assert_uint_eq(utf8_length(""), 0);
    ck_assert_uint_eq(utf8_length("abc"), 3);
    ck_assert_uint_eq(utf8_length("区扶贫办"), 4);
}
END_TEST

START_TEST(quote_escapes_bad_bytes_and_controls)
{
    char out[64];
    ck_assert_str_eq(text_quote(out, sizeof out, BAD("一\xFF"), 60), "一\\xFF");
    ck_assert_str_eq(text_quote(out, sizeof out, BAD("a\0b\n\x7F"), 60), "a\\x00b\\x0A\\x7F");
    ck_assert_str_eq(text_quote(out, sizeof out, BAD("\xE4\xB8"), 60), "\\xE4\\xB8");
    ck_assert_str_eq(text_quote(out, sizeof out, BAD(""), 60), "");
    ck_assert(utf8_valid(out, strlen(out)));
}
END_TEST

START_TEST(quote_cuts_on_a_character_boundary)
{
    char out[64];
    /* by characters: three of five, then an ellipsis */
    ck_assert_str_eq(text_quote(out, sizeof out, BAD("一二三四五"), 3), "一二三…");
    ck_assert_str_eq(text_quote(out, sizeof out, BAD("一二三"), 3), "一二三");
    /* by room: 11 bytes hold "一二" (6) and "…" (3) and NUL, never half a 三 */
    ck_assert_str_eq(text_quote(out, 11, BAD("一二三四"), 60), "一二…");
    /* an escape is never cut either */
    ck_assert_str_eq(text_quote(out, 9, BAD("a\xFF\xFF"), 60), "a\\xFF…");
    /* exactly fitting text is not cut */
    ck_assert_str_eq(text_quote(out, 7, BAD("一二"), 60), "一二");
    for (size_t size = 1; size < 20; size++) {
        text_quote(out, size, BAD("一\xFF二三\x01四五六"), 60);
        ck_assert_uint_lt(strlen(out), size);
        ck_assert_msg(utf8_valid(out, strlen(out)), "size %zu gave invalid UTF-8", size);
    }
}
END_TEST

START_TEST(sanitize_keeps_controls_and_fixes_bad_bytes)
{
    char out[32];
    ck_assert_str_eq(text_sanitize(out, sizeof out, "line\none \xFF"), "line\none \\xFF");
    ck_assert_str_eq(text_sanitize(out, sizeof out, NULL), "");
    char long_text[200];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    text_sanitize(out, sizeof out, long_text);
    ck_assert_uint_eq(strlen(out), sizeof out - 1);
    ck_assert(strcmp(out + strlen(out) - 3, "…") == 0);
}
END_TEST

static Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *t = tcase_create("utf8");
    tcase_add_test(t, valid_and_invalid_sequences);
    tcase_add_test(t, length_counts_characters);
    tcase_add_test(t, quote_escapes_bad_bytes_and_controls);
    tcase_add_test(t, quote_cuts_on_a_character_boundary);
    tcase_add_test(t, sanitize_keeps_controls_and_fixes_bad_bytes);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(text_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
