/* log.c: the rate limiter on an injected clock, and the journald form
 * under a JOURNAL_STREAM that names the output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log.h"
#include "unit.h"

static int64_t fake_now;

static int64_t fake_clock(void)
{
    return fake_now;
}

typedef struct fixture {
    char dir[UNIT_DIR_MAX];
    char path[PATH_MAX];
    FILE *out;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(unit_tmpdir(f->dir, sizeof f->dir), 0);
    snprintf(f->path, sizeof f->path, "%s/log.txt", f->dir);
    assert_non_null(f->out = fopen(f->path, "w+"));
    unsetenv("JOURNAL_STREAM");
    fake_now = 1000000;
    sw_log_set_clock(fake_clock);
    sw_log_set_output(f->out);
    sw_log_set_level(SW_LOG_INFO);
    sw_log_reset();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sw_log_set_output(NULL);
    sw_log_set_clock(NULL);
    sw_log_reset();
    unsetenv("JOURNAL_STREAM");
    fclose(f->out);
    unit_rmtree(f->dir);
    free(f);
    return 0;
}

/* Everything logged so far, as lines; returns how many. */
static int lines(fixture *f, char out[][512], int max)
{
    int n = 0;
    fflush(f->out);
    rewind(f->out);
    while (n < max && fgets(out[n], 512, f->out)) {
        out[n][strcspn(out[n], "\n")] = 0;
        n++;
    }
    fseek(f->out, 0, SEEK_END);
    return n;
}

/* The text after the "TIMESTAMP level: " of a plain line. */
static const char *text_of(const char *line)
{
    const char *p = strstr(line, ": ");
    assert_non_null(p);
    return p + 2;
}

static void test_burst_then_suppressed_then_summary(void **state)
{
    fixture *f = *state;
    char got[64][512];

    for (int i = 0; i < SW_LOG_BURST + 15; i++) {
        fake_now += 10; /* all well inside one window */
        sw_log(SW_LOG_WARNING, "mqtt: cannot connect to port %d", 1000 + i);
    }
    assert_int_equal(lines(f, got, 64), SW_LOG_BURST);
    assert_string_equal(text_of(got[0]), "mqtt: cannot connect to port 1000");

    sw_log_flush(); /* the window has not passed: nothing yet */
    assert_int_equal(lines(f, got, 64), SW_LOG_BURST);

    fake_now += SW_LOG_WINDOW_MS;
    sw_log_flush();
    assert_int_equal(lines(f, got, 64), SW_LOG_BURST + 1);
    assert_string_equal(text_of(got[SW_LOG_BURST]),
                        "suppressed 15 similar messages: mqtt: cannot connect to port 1000");
    assert_non_null(strstr(got[SW_LOG_BURST], " warning: "));

    /* A new window: shown again; the summary is not repeated. */
    sw_log(SW_LOG_WARNING, "mqtt: cannot connect to port %d", 7);
    sw_log_flush();
    assert_int_equal(lines(f, got, 64), SW_LOG_BURST + 2);
    assert_string_equal(text_of(got[SW_LOG_BURST + 1]), "mqtt: cannot connect to port 7");
}

static void test_summary_before_the_next_similar_line(void **state)
{
    fixture *f = *state;
    char got[64][512];

    for (int i = 0; i < SW_LOG_BURST + 2; i++)
        sw_log(SW_LOG_ERR, "store: commit failed %d times", i);
    fake_now += SW_LOG_WINDOW_MS + 1;
    sw_log(SW_LOG_ERR, "store: commit failed %d times", 99);
    int n = lines(f, got, 64);
    assert_int_equal(n, SW_LOG_BURST + 2);
    assert_string_equal(text_of(got[n - 2]),
                        "suppressed 2 similar messages: store: commit failed 0 times");
    assert_string_equal(text_of(got[n - 1]), "store: commit failed 99 times");
}

static void test_different_lines_are_not_similar(void **state)
{
    fixture *f = *state;
    char got[64][512];

    /* Same format, different words: each its own. Different levels too. */
    for (int i = 0; i < SW_LOG_BURST; i++) {
        sw_log(SW_LOG_WARNING, "site %s: calendar does not cover today", "A");
        sw_log(SW_LOG_WARNING, "site %s: calendar does not cover today", "B");
        sw_log(SW_LOG_ERR, "site %s: calendar does not cover today", "A");
    }
    assert_int_equal(lines(f, got, 64), 3 * SW_LOG_BURST);
    sw_log(SW_LOG_WARNING, "site %s: calendar does not cover today", "B");
    assert_int_equal(lines(f, got, 64), 3 * SW_LOG_BURST);
}

static void test_levels_and_one_line(void **state)
{
    fixture *f = *state;
    char got[8][512];

    sw_log(SW_LOG_DEBUG, "not shown at info");
    sw_log(SW_LOG_INFO, "two\nlines");
    assert_int_equal(lines(f, got, 8), 1);
    assert_string_equal(text_of(got[0]), "two lines");
    assert_non_null(strstr(got[0], "Z info: "));
    assert_int_equal(got[0][4], '-');
    assert_int_equal(got[0][10], 'T');
}

static void __attribute__((format(printf, 3, 4)))
log_prefixed(int level, const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sw_log_v(level, prefix, fmt, ap);
    va_end(ap);
}

static void test_journal_stream(void **state)
{
    fixture *f = *state;
    char got[8][512], env[64];
    struct stat st;

    assert_int_equal(fstat(fileno(f->out), &st), 0);
    snprintf(env, sizeof env, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", env, 1);
    sw_log_reset();
    sw_log(SW_LOG_ERR, "broken %s", "thing");
    sw_log(SW_LOG_NOTICE, "stopped");
    log_prefixed(SW_LOG_INFO, "plugin decode", "loaded %s", "decode.so");
    assert_int_equal(lines(f, got, 8), 3);
    assert_string_equal(got[0], "<3>broken thing");
    assert_string_equal(got[1], "<5>stopped");
    assert_string_equal(got[2], "<6>plugin decode: loaded decode.so");

    /* Inherited by a process whose stderr goes elsewhere: not the journal. */
    snprintf(env, sizeof env, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + 1);
    setenv("JOURNAL_STREAM", env, 1);
    sw_log_reset();
    sw_log(SW_LOG_ERR, "broken %s", "again");
    assert_int_equal(lines(f, got, 8), 4);
    assert_non_null(strstr(got[3], "Z error: broken again"));

    setenv("JOURNAL_STREAM", "garbage", 1);
    sw_log_reset();
    sw_log(SW_LOG_ERR, "broken %s", "thrice");
    assert_int_equal(lines(f, got, 8), 5);
    assert_non_null(strstr(got[4], "Z error: broken thrice"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_burst_then_suppressed_then_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_before_the_next_similar_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_different_lines_are_not_similar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_levels_and_one_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_stream, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
