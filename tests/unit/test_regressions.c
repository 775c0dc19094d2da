/* Regressions: inputs the first version of the modules accepted or hung on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "unit.h"
#include "calendar.h"
#include "config.h"
#include "policy.h"
#include "siteward/types.h"
#include "timeutil.h"

static char dir[UNIT_DIR_MAX];

static void test_tz(void **s)
{
    (void)s;
    int off;
    const char *bad[] = {"+ 8:00", "+-1:00", "++1:00", "+08:-1", "+08:+1", "- 5:30", NULL};
    for (int i = 0; bad[i]; i++)
        if (sw_tz_parse(bad[i], &off) != SW_EINVAL)
            fail_msg("tz '%s' accepted", bad[i]);
}
static void test_time_days(void **s)
{
    (void)s;
    int64_t ms;
    assert_int_equal(sw_time_parse("2026-02-30T00:00:00Z", &ms), SW_EINVAL);
    assert_int_equal(sw_time_parse("2026-04-31T00:00:00+08:00", &ms), SW_EINVAL);
    assert_int_equal(sw_time_parse("2024-02-29T00:00:00Z", &ms), 0);
}
static void test_prefix(void **s)
{
    (void)s;
    sw_config cfg;
    sw_config_overrides ov = {.prefix = ""};
    assert_int_equal(sw_config_load(&cfg, SW_SOURCE_DIR "/config/siteward.json", &ov), SW_ECONFIG);
}
static int pol(const char *text)
{
    char path[PATH_MAX];
    sw_policy p;
    unit_write(dir, "p.json", text, path, sizeof path);
    int rc = sw_policy_load(&p, path);
    if (!rc)
        sw_policy_free(&p);
    return rc;
}
static int cal(const char *text)
{
    char path[PATH_MAX];
    sw_calendar c;
    unit_write(dir, "c.json", text, path, sizeof path);
    int rc = sw_calendar_load(&c, path);
    if (!rc)
        sw_calendar_free(&c);
    return rc;
}
#define COV "\"covers\": {\"from\": \"2026-01-01\", \"to\": \"2026-12-31\"}"
static void test_clock_times(void **s)
{
    (void)s;
    assert_int_equal(pol("{\"quiet_hours\": {\"from\": \"-1:00\", \"to\": \"08:00\"}, \"classes\": "
                         "{\"x\": {}}}"),
                     SW_ECONFIG);
    assert_int_equal(pol("{\"quiet_hours\": {\"from\": \"21:00\", \"to\": \"+8:00\"}, \"classes\": "
                         "{\"x\": {}}}"),
                     SW_ECONFIG);
    assert_int_equal(pol("{\"quiet_hours\": {\"from\": \"21:00\", \"to\": \" 8:00\"}, \"classes\": "
                         "{\"x\": {}}}"),
                     SW_ECONFIG);
    assert_int_equal(pol("{\"quiet_hours\": {\"from\": \"21:00\", \"to\": \"08:00\"}, \"classes\": "
                         "{\"x\": {}}}"),
                     0);
    assert_int_equal(pol("{\"classes\": {\"x\": {\"obligations\": [{\"name\": \"a\", \"within\": "
                         "\"5m\", \"met_by\": \"ack\", \"from\": 1}]}}}"),
                     SW_ECONFIG);
    assert_int_equal(
        cal("{" COV
            ", \"weekend\": [], \"working_hours\": {\"from\": \"-1:00\", \"to\": \"08:00\"}}"),
        SW_ECONFIG);
    assert_int_equal(
        cal("{" COV
            ", \"weekend\": [], \"working_hours\": {\"from\": \"08:30x\", \"to\": \"17:30\"}}"),
        SW_ECONFIG);
    assert_int_equal(
        cal("{" COV
            ", \"weekend\": [], \"working_hours\": {\"from\": \"00:00\", \"to\": \"24:00\"}}"),
        0);
    assert_int_equal(
        cal("{" COV
            ", \"weekend\": [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]}"),
        SW_ECONFIG);
}
static void test_state_dir(void **s)
{
    (void)s;
    char path[PATH_MAX], want[PATH_MAX];
    sw_config cfg;
    unit_write(dir, "cal.json", "{" COV ", \"weekend\": []}", path, sizeof path);
    unit_write(dir, "s.json",
               "{\"state_dir\": \"state\", \"plugins\": [{\"name\": \"d\"}], \"sites\": {\"*\": "
               "{\"timezone\": \"Z\", \"calendar\": \"cal.json\"}}}",
               path, sizeof path);
    assert_int_equal(sw_config_load(&cfg, path, NULL), 0);
    snprintf(want, sizeof want, "%s/state", dir);
    assert_string_equal(cfg.state_dir, want);
    sw_config_free(&cfg);
}
int main(void)
{
    if (unit_tmpdir(dir, sizeof dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tz),        cmocka_unit_test(test_time_days),
        cmocka_unit_test(test_prefix),    cmocka_unit_test(test_clock_times),
        cmocka_unit_test(test_state_dir),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    unit_rmtree(dir);
    return rc;
}
