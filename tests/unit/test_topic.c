/* The contract's identifiers and topic shapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "topic.h"

static int site_ok(const char *s)
{
    return sw_site_valid(s, strlen(s));
}

static int id_ok(const char *s)
{
    return sw_id_valid(s, strlen(s));
}

static void test_site_alphabet(void **state)
{
    (void)state;
    char long65[66];
    memset(long65, 'a', 65);
    long65[65] = 0;
    assert_true(site_ok("A"));
    assert_true(site_ok("site-7_B"));
    assert_true(site_ok(long65 + 1)); /* 64 */
    assert_false(site_ok(long65));    /* 65 */
    assert_false(site_ok(""));
    assert_false(site_ok("_daemon"));
    assert_false(site_ok("_unknown"));
    assert_false(site_ok("a.b"));
    assert_false(site_ok("a b"));
    assert_false(site_ok("a+"));
    assert_false(site_ok("a#"));
    assert_false(site_ok("a/b"));
    assert_false(site_ok("栋"));
}

static void test_id_alphabet(void **state)
{
    (void)state;
    char long129[130];
    memset(long129, 'x', 129);
    long129[129] = 0;
    assert_true(id_ok("d17-000123"));
    assert_true(id_ok("li.wei"));
    assert_true(id_ok("A-20261122-0007"));
    assert_true(id_ok("urn:dev:7"));
    assert_true(id_ok(long129 + 1));
    assert_false(id_ok(long129));
    assert_false(id_ok(""));
    assert_false(id_ok("a/b"));
    assert_false(id_ok("a+b"));
    assert_false(id_ok("a#"));
    assert_false(id_ok("a b"));
    assert_false(id_ok("é"));
}

static int parse(const char *topic, sw_topic *t, const char **code)
{
    return sw_topic_parse("siteward", topic, strlen(topic), t, code);
}

static void test_topic_shapes(void **state)
{
    (void)state;
    sw_topic t;
    const char *code = NULL;

    assert_int_equal(parse("siteward/A/event/sensor/d17", &t, &code), 0);
    assert_int_equal(t.kind, SW_MSG_EVENT);
    assert_string_equal(t.site, "A");
    assert_string_equal(t.source, "sensor");
    assert_string_equal(t.device, "d17");
    for (const char *const *s = (const char *const[]){"gate", "patrol", "system", NULL}; *s; s++) {
        char topic[64];
        snprintf(topic, sizeof topic, "siteward/B/event/%s/x", *s);
        assert_int_equal(parse(topic, &t, &code), 0);
        assert_string_equal(t.source, *s);
    }
    assert_int_equal(parse("siteward/A/report/resident-7", &t, &code), 0);
    assert_int_equal(t.kind, SW_MSG_REPORT);
    assert_string_equal(t.user, "resident-7");
    assert_int_equal(parse("siteward/A/cmd/li.wei", &t, &code), 0);
    assert_int_equal(t.kind, SW_MSG_COMMAND);
    assert_string_equal(t.user, "li.wei");
    /* Not NUL-terminated: only `len` bytes count. */
    assert_int_equal(sw_topic_parse("siteward", "siteward/A/cmd/li.weiGARBAGE", 21, &t, &code), 0);
    assert_string_equal(t.user, "li.wei");
}

static void expect(const char *topic, const char *want, const char *site)
{
    sw_topic t;
    const char *code = NULL;
    assert_int_equal(parse(topic, &t, &code), SW_EINVAL);
    assert_string_equal(code, want);
    assert_string_equal(t.site, site);
}

static void test_topic_errors(void **state)
{
    (void)state;
    expect("other/A/event/sensor/d1", "bad_topic", "");
    expect("siteward", "bad_topic", "");
    expect("siteward/", "bad_site", "");
    expect("sitewardX/A/event/sensor/d1", "bad_topic", "");
    expect("siteward/_x/event/sensor/d1", "bad_site", "");
    expect("siteward/A/event/radar/d1", "bad_source", "A");
    expect("siteward/A/event/sensor/", "bad_id", "A");
    expect("siteward/A/event/sensor/d 1", "bad_id", "A");
    expect("siteward/A/event/sensor", "bad_id", "A");
    expect("siteward/A/event/sensor/d1/extra", "bad_topic", "A");
    expect("siteward/A/report/u1/", "bad_topic", "A");
    expect("siteward/A/alarm/d1", "bad_topic", "A");
    expect("siteward/A/cmd/", "bad_id", "A");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_site_alphabet),
        cmocka_unit_test(test_id_alphabet),
        cmocka_unit_test(test_topic_shapes),
        cmocka_unit_test(test_topic_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
