/* Unit tests of the pure parts of webhooks: the Standard Webhooks
 * signature (the specification's own example), secrets, the address
 * policy and its allow-list, URL and event pattern checks, and the retry
 * schedule (model/webhook_check.c, model/webhook_sign.c,
 * model/webhook_queue.c). */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "model/webhook.h"
#include "model/webhook_queue.h"
#include "tests/unit/field_errors.h"

START_TEST(signature_matches_the_specification_example)
{
    char sig[128];
    const char *body = "{\"test\": 2432232314}";
    ck_assert_int_eq(webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                  body, strlen(body), sig, sizeof sig),
                     0);
    ck_assert_str_eq(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* the prefix is optional; another timestamp is another signature */
    char bare[128], later[128];
    webhook_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, strlen(body), bare,
                 sizeof bare);
    webhook_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body, strlen(body), later,
                 sizeof later);
    ck_assert_str_eq(bare, sig);
    ck_assert_str_ne(later, sig);
    ck_assert_int_eq(webhook_sign("whsec_not*base64", "id", 1, "x", 1, sig, sizeof sig), -1);
}
END_TEST

START_TEST(secrets_are_fresh_32_bytes)
{
    char a[64], b[64];
    ck_assert_int_eq(webhook_secret_new(a, sizeof a), 0);
    ck_assert_int_eq(webhook_secret_new(b, sizeof b), 0);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(strncmp(a, "whsec_", 6), 0);
    ck_assert_uint_eq(strlen(a), 6 + 44);
    ck_assert_int_eq(webhook_secret_new(a, 40), -1);
}
END_TEST

/* 1 when the address text is refused by the policy. */
static int refused(const char *text)
{
    unsigned char addr[16];
    char why[200];
    int family = strchr(text, ':') ? AF_INET6 : AF_INET;
    ck_assert_int_eq(inet_pton(family, text, addr), 1);
    return webhook_address_refused(family, addr, why, sizeof why);
}

START_TEST(loopback_link_local_and_unspecified_are_refused_unless_allowed)
{
    char err[200];
    ck_assert_int_eq(webhook_allowed_nets_set("", err, sizeof err), 0);
    const char *bad[] = {"127.0.0.1", "127.9.9.9", "169.254.169.254", "0.0.0.0", "::1", "::", "fe80::1",
                         "febf::1", "::ffff:127.0.0.1", "::ffff:169.254.1.1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(refused(bad[i]), "%s is not refused", bad[i]);
    const char *good[] = {"10.1.2.3", "192.168.1.1", "8.8.8.8", "2001:db8::1", "fec0::1", "::ffff:10.0.0.1"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_assert_msg(!refused(good[i]), "%s is refused", good[i]);

    ck_assert_int_eq(webhook_allowed_nets_set(" 127.0.0.0/8, ::1 ,169.254.169.254/32", err, sizeof err), 0);
    ck_assert(!refused("127.0.0.1"));
    ck_assert(!refused("::ffff:127.3.2.1"));
    ck_assert(!refused("::1"));
    ck_assert(!refused("169.254.169.254"));
    ck_assert(refused("169.254.169.253"));
    ck_assert(refused("fe80::1"));
    ck_assert_int_eq(webhook_allowed_nets_set("127.0.0.0/33", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "127.0.0.0/33"));
    ck_assert_int_eq(webhook_allowed_nets_set("localhost", err, sizeof err), -1);
    ck_assert(refused("127.0.0.1"));   /* a bad list allows nothing */
}
END_TEST

/* The errors webhook_check_url reports for url. */
static struct call check_url(const char *url)
{
    struct call c;
    call_init(&c, NULL);
    webhook_check_url(&c, url);
    return c;
}

START_TEST(urls_are_http_without_credentials_or_refused_hosts)
{
    char err[200];
    webhook_allowed_nets_set("", err, sizeof err);
    const char *good[] = {"https://example.org/hooks", "http://10.0.0.5:8080/x?y=1", "HTTPS://EXAMPLE.ORG",
                          "http://[2001:db8::1]/"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        struct call c = check_url(good[i]);
        ck_assert_msg(c.errors == NULL, "%s refused", good[i]);
        call_clear(&c);
    }
    const char *bad[][2] = {{"ftp://example.org/", "http or https"},
                            {"https://user:pw@example.org/", "credentials"},
                            {"https://user@example.org/", "credentials"},
                            {"http://127.0.0.1:8080/", "loopback"},
                            {"http://[::1]/", "loopback"},
                            {"http://0x7f.1/", "loopback"},
                            {"http://localhost:9/", "loopback"},
                            {"http://a.localhost/", "loopback"},
                            {"http://169.254.169.254/latest", "link-local"},
                            {"http://0.0.0.0/", "unspecified"},
                            {"example.org/hooks", "absolute"},
                            {"http:///x", "absolute"},
                            {"http://exa mple.org/", "absolute"},
                            {"http://example.org:0/", "port 0"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct call c = check_url(bad[i][0]);
        ck_assert_msg(error_for(&c, "url") && strstr(error_for(&c, "url"), bad[i][1]), "%s: %s", bad[i][0],
                      error_for(&c, "url") ? error_for(&c, "url") : "accepted");
        call_clear(&c);
    }
    webhook_allowed_nets_set("127.0.0.0/8", err, sizeof err);
    struct call c = check_url("http://127.0.0.1:8080/");
    ck_assert_ptr_null(c.errors);
    call_clear(&c);
    c = check_url("http://localhost:8080/");
    ck_assert_ptr_null(c.errors);
    call_clear(&c);
    webhook_allowed_nets_set("", err, sizeof err);
}
END_TEST

START_TEST(event_patterns)
{
    const char *good[] = {"*", "task.*", "task.updated", "progress_log.created", "acknowledgement.deleted",
                          "webhook.disabled", "webhook.*", "urge.*"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_assert_msg(webhook_pattern_valid(good[i]), "%s", good[i]);
    const char *bad[] = {"", "task", "task.", "task.frobbed", "tasks.*", "*.created", "task.**", "webhook.test",
                         " task.*", "TASK.*"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!webhook_pattern_valid(bad[i]), "'%s'", bad[i]);
    struct call c;
    call_init(&c, NULL);
    json_t *events = json_pack("[s, s, s]", "task.*", "nope", "unit.gone");
    webhook_check_events(&c, events);
    ck_assert_uint_eq(json_array_size(c.errors), 2);
    ck_assert_ptr_nonnull(strstr(error_for(&c, "events"), "item 1"));
    json_decref(events);
    call_clear(&c);
}
END_TEST

START_TEST(retry_schedules)
{
    struct webhook_policy p;
    char err[200];
    ck_assert_int_eq(webhook_schedule_parse("", &p, err, sizeof err), 0);
    ck_assert_int_eq(p.count, 7);
    ck_assert_int_eq(p.delays[0], 5);
    ck_assert_int_eq(p.delays[6], 36000);
    ck_assert_int_eq(webhook_schedule_parse("1, 2,3", &p, err, sizeof err), 0);
    ck_assert_int_eq(p.count, 3);
    ck_assert_int_eq(p.delays[1], 2);
    const char *bad[] = {"1,,2", "0", "-5", "1,x", "5 s", "1,", "9999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(webhook_schedule_parse(bad[i], &p, err, sizeof err) == -1, "'%s' accepted", bad[i]);
}
END_TEST

static Suite *webhook_suite(void)
{
    Suite *s = suite_create("webhook");
    TCase *t = tcase_create("pure");
    tcase_add_test(t, signature_matches_the_specification_example);
    tcase_add_test(t, secrets_are_fresh_32_bytes);
    tcase_add_test(t, loopback_link_local_and_unspecified_are_refused_unless_allowed);
    tcase_add_test(t, urls_are_http_without_credentials_or_refused_hosts);
    tcase_add_test(t, event_patterns);
    tcase_add_test(t, retry_schedules);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(webhook_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
