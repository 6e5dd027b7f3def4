/* Unit tests of the log (model/log.c): every line reaches the kernel in one
 * write, whole, whatever the number of threads logging at once. stderr is
 * replaced by a SOCK_SEQPACKET socket, where each write is one message. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "model/log.h"

enum { WRITERS = 4, LINES = 300, MESSAGE_MAX = 8192 };

static int receiver_fd;
static int saved_stderr;

/* Points stderr at one end of a socket pair; the other end is receiver_fd. */
static void capture(void)
{
    int pair[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair), 0);
    saved_stderr = dup(STDERR_FILENO);
    ck_assert_int_eq(dup2(pair[0], STDERR_FILENO), STDERR_FILENO);
    close(pair[0]);
    receiver_fd = pair[1];
}

static void release(void)
{
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    close(receiver_fd);
}

/* The next message, NUL-terminated, and its length. */
static ssize_t next_message(char *buf)
{
    ssize_t n = recv(receiver_fd, buf, MESSAGE_MAX - 1, 0);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    return n;
}

static void *write_lines(void *arg)
{
    int writer = (int)(intptr_t)arg;
    char payload[301];
    memset(payload, 'a' + writer, sizeof payload - 1);
    payload[sizeof payload - 1] = '\0';
    for (int i = 0; i < LINES; i++)
        log_msg(LOG_INFO, "access writer=%d line=%d %s", writer, i, payload);
    return NULL;
}

START_TEST(each_line_is_one_whole_write)
{
    capture();
    log_msg(LOG_INFO, "access method=%s status=%d", "GET", 200);
    char buf[MESSAGE_MAX];
    ssize_t n = next_message(buf);
    ck_assert_msg(buf[n - 1] == '\n', "the line came in more than one write: '%s'", buf);
    ck_assert_ptr_nonnull(strstr(buf, "Z info access method=GET status=200\n"));
    release();
}
END_TEST

START_TEST(lines_from_many_threads_never_interleave)
{
    capture();
    pthread_t threads[WRITERS];
    for (int w = 0; w < WRITERS; w++)
        pthread_create(&threads[w], NULL, write_lines, (void *)(intptr_t)w);
    int next_line[WRITERS] = {0};
    char buf[MESSAGE_MAX];
    for (int m = 0; m < WRITERS * LINES; m++) {
        ssize_t n = next_message(buf);
        int writer = -1, line = -1, at = 0;
        ck_assert_msg(sscanf(buf, "%*s info access writer=%d line=%d %n", &writer, &line, &at) == 2, "bad: %s", buf);
        ck_assert(writer >= 0 && writer < WRITERS);
        ck_assert_int_eq(line, next_line[writer]++);
        ck_assert_int_eq(n - at, 301);   /* 300 letters and the newline */
        int whole = 1;
        for (int i = 0; i < 300; i++)
            whole &= buf[at + i] == 'a' + writer;
        ck_assert_msg(whole, "line %d of writer %d holds another writer's text: %s", line, writer, buf);
        ck_assert_int_eq(buf[n - 1], '\n');
    }
    for (int w = 0; w < WRITERS; w++)
        pthread_join(threads[w], NULL);
    release();
}
END_TEST

START_TEST(a_long_line_is_cut_and_still_one_line)
{
    capture();
    char *big = malloc(10000);
    memset(big, 'x', 9999);
    big[9999] = '\0';
    log_msg(LOG_WARN, "%s", big);
    free(big);
    char buf[MESSAGE_MAX];
    ssize_t n = next_message(buf);
    ck_assert_int_le(n, 4096);
    ck_assert_int_eq(buf[n - 1], '\n');
    ck_assert(strncmp(buf + n - 4, "...", 3) == 0);
    ck_assert_ptr_null(memchr(buf, '\n', (size_t)n - 1));
    release();
}
END_TEST

int main(void)
{
    log_set_level(LOG_INFO);
    Suite *s = suite_create("log");
    TCase *t = tcase_create("lines");
    tcase_add_test(t, each_line_is_one_whole_write);
    tcase_add_test(t, lines_from_many_threads_never_interleave);
    tcase_add_test(t, a_long_line_is_cut_and_still_one_line);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
