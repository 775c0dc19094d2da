/* Durations, RFC 3339 times at a site's offset, and civil dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "siteward/types.h"
#include "timeutil.h"

static void test_durations(void **state)
{
    (void)state;
    sw_duration d;
    assert_int_equal(sw_duration_parse("90s", &d), 0);
    assert_int_equal(d.ms, 90000);
    assert_int_equal(sw_duration_parse("5m", &d), 0);
    assert_int_equal(d.ms, 300000);
    assert_int_equal(sw_duration_parse("24h", &d), 0);
    assert_int_equal(d.ms, 86400000);
    assert_int_equal(sw_duration_parse("3d", &d), 0);
    assert_int_equal(d.ms, 3 * 86400000LL);
    assert_int_equal(sw_duration_parse("3wd", &d), 0);
    assert_int_equal(d.working_days, 3);
    assert_int_equal(d.ms, 0);
    assert_int_equal(sw_duration_parse("8wh", &d), 0);
    assert_int_equal(d.working_ms, 8 * 3600000LL);
    assert_int_equal(sw_duration_parse("0s", &d), 0);
    assert_int_equal(d.ms, 0);
    const char *bad[] = {"", "5", "m", "5 m", "-5m", "5min", "1.5h", "5M", "0wd", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(sw_duration_parse(bad[i], &d), SW_EINVAL);
    int64_t ms;
    assert_int_equal(sw_duration_parse_ms("3wd", &ms), SW_EINVAL);
    assert_int_equal(sw_duration_parse_ms("2h", &ms), 0);
    assert_int_equal(ms, 7200000);
}

static void test_offsets(void **state)
{
    (void)state;
    int off;
    assert_int_equal(sw_tz_parse("+08:00", &off), 0);
    assert_int_equal(off, 8 * 3600);
    assert_int_equal(sw_tz_parse("-05:30", &off), 0);
    assert_int_equal(off, -(5 * 3600 + 30 * 60));
    assert_int_equal(sw_tz_parse("Z", &off), 0);
    assert_int_equal(off, 0);
    assert_int_equal(sw_tz_parse("Asia/Shanghai", &off), SW_EINVAL);
    assert_int_equal(sw_tz_parse("+8", &off), SW_EINVAL);
    assert_int_equal(sw_tz_parse("+15:00", &off), SW_EINVAL);
}

static void test_format_and_parse(void **state)
{
    (void)state;
    char buf[40];
    int64_t ms;
    /* 2026-11-22T00:15:03Z is 08:15:03 in China. */
    assert_int_equal(sw_time_parse("2026-11-22T08:15:03+08:00", &ms), 0);
    assert_int_equal(ms, 1795306503000LL);
    sw_time_format(ms, 8 * 3600, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-22T08:15:03+08:00");
    sw_time_format(ms, 0, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-22T00:15:03Z");
    sw_time_format(ms + 7, -(5 * 3600 + 30 * 60), buf, sizeof buf);
    assert_string_equal(buf, "2026-11-21T18:45:03.007-05:30");
    /* 16:30Z is already the next day at +08:00. */
    assert_int_equal(sw_time_parse("2026-12-31T16:30:00Z", &ms), 0);
    sw_time_format(ms, 8 * 3600, buf, sizeof buf);
    assert_string_equal(buf, "2027-01-01T00:30:00+08:00");
    /* Fractions, lower-case separators, negative offsets. */
    assert_int_equal(sw_time_parse("2026-11-22t00:15:03.5z", &ms), 0);
    assert_int_equal(ms, 1795306503500LL);
    assert_int_equal(sw_time_parse("2026-11-21T19:15:03-05:00", &ms), 0);
    assert_int_equal(ms, 1795306503000LL);
    const char *bad[] = {
        "2026-11-22T08:15:03",   "2026-11-22 08:15",         "2026-13-01T00:00:00Z",
        "2026-11-22T25:00:00Z",  "2026-11-22T08:15:03+0800", "yesterday",
        "2026-11-22T08:15:03.Z", "2026-11-22T08:15:03Zjunk", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(sw_time_parse(bad[i], &ms), SW_EINVAL);
}

static void test_civil_dates(void **state)
{
    (void)state;
    int64_t d;
    int y;
    unsigned m, day;
    assert_int_equal(sw_date_parse("1970-01-01", &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(sw_date_parse("2026-03-01", &d), 0);
    sw_civil_from_days(d - 1, &y, &m, &day);
    assert_int_equal(y, 2026);
    assert_int_equal(m, 2);
    assert_int_equal(day, 28); /* 2026 is not a leap year */
    assert_int_equal(sw_date_parse("2024-02-29", &d), 0);
    assert_int_equal(sw_date_parse("2026-02-29", &d), SW_EINVAL);
    assert_int_equal(sw_date_parse("2026-02-30", &d), SW_EINVAL);
    assert_int_equal(sw_date_parse("2026-1-1", &d), SW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_format_and_parse),
        cmocka_unit_test(test_civil_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
