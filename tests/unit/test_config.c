/* Unit tests of the configuration (api/config.c): DUBAN_* variables are
 * read strictly, every bad one is named, defaults fill the rest. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/config.h"

static const char *const VARS[] = {"DUBAN_LISTEN", "DUBAN_DB_POOL_SIZE", "DUBAN_LOG_LEVEL", "DUBAN_AUTO_MIGRATE",
                                   "DUBAN_DATABASE_URL", "DUBAN_MAX_BODY_BYTES", NULL};

/* Loads the configuration; *report (malloc'd) is what it wrote about bad variables. */
static int load(struct config *cfg, char **report)
{
    size_t len = 0;
    FILE *err = open_memstream(report, &len);
    int problems = config_load(cfg, err);
    fclose(err);
    return problems;
}

static void clear_env(void)
{
    for (const char *const *v = VARS; *v; v++)
        unsetenv(*v);
}

START_TEST(defaults)
{
    clear_env();
    struct config cfg;
    char *report = NULL;
    ck_assert_int_eq(load(&cfg, &report), 0);
    ck_assert_str_eq(report, "");
    ck_assert_str_eq(cfg.listen_host, "0.0.0.0");
    ck_assert_uint_eq(cfg.listen_port, 8080);
    ck_assert_int_eq(cfg.db_pool_size, 8);
    ck_assert_uint_eq(cfg.max_body_bytes, 1048576);
    ck_assert_int_eq(cfg.auto_migrate, 1);
    free(report);
}
END_TEST

START_TEST(good_values)
{
    clear_env();
    setenv("DUBAN_LISTEN", "127.0.0.1:9090", 1);
    setenv("DUBAN_DB_POOL_SIZE", "16", 1);
    setenv("DUBAN_AUTO_MIGRATE", "0", 1);
    setenv("DUBAN_DATABASE_URL", "postgresql://u@h/db", 1);
    struct config cfg;
    char *report = NULL;
    ck_assert_int_eq(load(&cfg, &report), 0);
    ck_assert_str_eq(cfg.listen_host, "127.0.0.1");
    ck_assert_uint_eq(cfg.listen_port, 9090);
    ck_assert_int_eq(cfg.db_pool_size, 16);
    ck_assert_int_eq(cfg.auto_migrate, 0);
    ck_assert_str_eq(cfg.database_url, "postgresql://u@h/db");
    free(report);
    clear_env();
}
END_TEST

START_TEST(every_bad_variable_is_named)
{
    clear_env();
    setenv("DUBAN_LISTEN", "127.0.0.1:70000", 1);
    setenv("DUBAN_DB_POOL_SIZE", "8x", 1);
    setenv("DUBAN_LOG_LEVEL", "loud", 1);
    setenv("DUBAN_AUTO_MIGRATE", "2", 1);
    setenv("DUBAN_DATABASE_URL", "", 1);
    setenv("DUBAN_MAX_BODY_BYTES", "1", 1);
    struct config cfg;
    char *report = NULL;
    ck_assert_int_eq(load(&cfg, &report), 6);
    for (const char *const *v = VARS; *v; v++)
        ck_assert_msg(strstr(report, *v) != NULL, "%s not named in: %s", *v, report);
    /* the defaults stand in for the bad values */
    ck_assert_uint_eq(cfg.listen_port, 8080);
    ck_assert_int_eq(cfg.db_pool_size, 8);
    free(report);
    clear_env();
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *t = tcase_create("load");
    tcase_add_test(t, defaults);
    tcase_add_test(t, good_values);
    tcase_add_test(t, every_bad_variable_is_named);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_set_fork_status(sr, CK_NOFORK);   /* the environment is the process's own */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
