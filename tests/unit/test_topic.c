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

static int in_site_alphabet(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
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

/* Every byte value, in the first and in a later position. */
static void test_site_every_byte(void **state)
{
    (void)state;
    for (int c = 1; c < 256; c++) {
        char first[2] = {(char)c, 0};
        char later[3] = {'a', (char)c, 0};
        int want = in_site_alphabet(c);
        if (sw_site_valid(later, 2) != want)
            fail_msg("site \"a\\x%02x\": got %d, want %d", c, !want, want);
        if (sw_site_valid(first, 1) != (want && c != '_'))
            fail_msg("site \"\\x%02x\": got %d", c, !(want && c != '_'));
    }
    assert_true(site_ok("-"));
    assert_true(site_ok("0"));
    assert_true(site_ok("a_"));
    assert_true(site_ok("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"));
}

/* Only `len` bytes count: the rest of the buffer is not looked at, and a NUL
 * inside the length is an invalid byte. */
static void test_lengths_not_terminators(void **state)
{
    (void)state;
    assert_true(sw_site_valid("AB/cd", 2));
    assert_false(sw_site_valid("AB/cd", 3));
    assert_false(sw_site_valid("A\0B", 3));
    assert_false(sw_site_valid("A", 0));
    assert_true(sw_id_valid("d17 garbage", 3));
    assert_false(sw_id_valid("d17 garbage", 4));
    assert_false(sw_id_valid("d\0", 2));
    assert_false(sw_id_valid("d", 0));
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

static void test_id_every_byte(void **state)
{
    (void)state;
    for (int c = 1; c < 256; c++) {
        char first[2] = {(char)c, 0};
        char later[3] = {'x', (char)c, 0};
        int want = in_site_alphabet(c) || c == '.' || c == ':';
        if (sw_id_valid(later, 2) != want || sw_id_valid(first, 1) != want)
            fail_msg("id byte 0x%02x: want %d", c, want);
    }
    /* Unlike sites, ids may start with any of their characters. */
    assert_true(id_ok("_x"));
    assert_true(id_ok(".x"));
    assert_true(id_ok(":"));
    assert_true(id_ok(".."));
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

/* A parse fills only the fields of its kind; the others are cleared even
 * when the struct was reused. */
static void test_topic_fields_of_kind(void **state)
{
    (void)state;
    sw_topic t;
    const char *code = NULL;
    assert_int_equal(parse("siteward/A/event/gate/g-1", &t, &code), 0);
    assert_string_equal(t.user, "");
    assert_int_equal(parse("siteward/site-2/report/u:1", &t, &code), 0);
    assert_int_equal(t.kind, SW_MSG_REPORT);
    assert_string_equal(t.site, "site-2");
    assert_string_equal(t.source, "");
    assert_string_equal(t.device, "");
    assert_string_equal(t.user, "u:1");
}

/* The longest site and id the contract allows fit whole. */
static void test_topic_longest_parts(void **state)
{
    (void)state;
    char site[66], id[130], topic[512];
    sw_topic t;
    const char *code = NULL;
    memset(site, 'S', 64);
    site[64] = 0;
    memset(id, 'i', 128);
    id[128] = 0;
    snprintf(topic, sizeof topic, "siteward/%s/event/system/%s", site, id);
    assert_int_equal(parse(topic, &t, &code), 0);
    assert_string_equal(t.site, site);
    assert_string_equal(t.device, id);
    snprintf(topic, sizeof topic, "siteward/%s/cmd/%s", site, id);
    assert_int_equal(parse(topic, &t, &code), 0);
    assert_string_equal(t.user, id);

    code = NULL;
    snprintf(topic, sizeof topic, "siteward/%sS/cmd/u", site);
    assert_int_equal(parse(topic, &t, &code), SW_EINVAL);
    assert_string_equal(code, "bad_site");
    assert_string_equal(t.site, "");
    code = NULL;
    snprintf(topic, sizeof topic, "siteward/A/report/%si", id);
    assert_int_equal(parse(topic, &t, &code), SW_EINVAL);
    assert_string_equal(code, "bad_id");
    assert_string_equal(t.site, "A");
}

/* Other prefixes, including ones with levels of their own. */
static void test_topic_prefixes(void **state)
{
    (void)state;
    sw_topic t;
    const char *code = NULL;
    const char *topic = "acme/east/sw/A/event/sensor/d1";
    assert_int_equal(sw_topic_parse("acme/east/sw", topic, strlen(topic), &t, &code), 0);
    assert_string_equal(t.site, "A");
    assert_string_equal(t.device, "d1");
    /* The same topic under the default prefix has an unknown first level. */
    assert_int_equal(parse(topic, &t, &code), SW_EINVAL);
    assert_string_equal(code, "bad_topic");
    /* A prefix that is only the start of the first level does not match. */
    topic = "siteward/A/cmd/u";
    assert_int_equal(sw_topic_parse("site", topic, strlen(topic), &t, &code), SW_EINVAL);
    assert_string_equal(code, "bad_topic");
    /* Under a longer prefix the levels shift: "cmd" is the site, "u" no kind. */
    assert_int_equal(sw_topic_parse("siteward/A", topic, strlen(topic), &t, &code), SW_EINVAL);
    assert_string_equal(code, "bad_topic");
    assert_string_equal(t.site, "cmd");
}

static void expect(const char *topic, const char *want, const char *site)
{
    sw_topic t;
    const char *code = NULL;
    if (parse(topic, &t, &code) != SW_EINVAL)
        fail_msg("topic '%s' was accepted", topic);
    if (!code || strcmp(code, want))
        fail_msg("topic '%s': code %s, want %s", topic, code ? code : "(none)", want);
    if (strcmp(t.site, site))
        fail_msg("topic '%s': site '%s', want '%s'", topic, t.site, site);
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

static void test_topic_more_errors(void **state)
{
    (void)state;
    /* Wildcards and empty levels never pass as a site or an id. */
    expect("siteward/+/event/sensor/d1", "bad_site", "");
    expect("siteward/#", "bad_site", "");
    expect("siteward//event/sensor/d1", "bad_site", "");
    expect("siteward/A/event/sensor/+", "bad_id", "A");
    expect("siteward/A/event/sensor/#", "bad_id", "A");
    expect("siteward/A/report/+", "bad_id", "A");
    expect("siteward/A/cmd/#", "bad_id", "A");
    expect("siteward/A/event/+/d1", "bad_source", "A");
    /* The reserved site names are not sites. */
    expect("siteward/_daemon/main/status", "bad_site", "");
    expect("siteward/_unknown/deadletter", "bad_site", "");
    /* Kinds and sources are exact and case-sensitive. */
    expect("siteward/A/Event/sensor/d1", "bad_topic", "A");
    expect("siteward/A/CMD/u", "bad_topic", "A");
    expect("siteward/A/events/sensor/d1", "bad_topic", "A");
    expect("siteward/A/event/Sensor/d1", "bad_source", "A");
    expect("siteward/A/event/sensors/d1", "bad_source", "A");
    expect("siteward/A/event/sens/d1", "bad_source", "A");
    expect("siteward/A/event//d1", "bad_source", "A");
    /* Topics siteward publishes are not inputs. */
    expect("siteward/A/incident/A-20261122-0007", "bad_topic", "A");
    expect("siteward/A/escalation/manager", "bad_topic", "A");
    expect("siteward/A/reply/li.wei", "bad_topic", "A");
    expect("siteward/A/deadletter", "bad_topic", "A");
    /* Missing or extra levels. */
    expect("siteward/A", "bad_topic", "A");
    expect("siteward/A/", "bad_topic", "A");
    expect("siteward/A/cmd", "bad_id", "A");
    expect("siteward/A/report", "bad_id", "A");
    expect("siteward/A/event", "bad_source", "A");
    expect("siteward/A/cmd/u/x", "bad_topic", "A");
    expect("siteward/A/event/sensor/d1/", "bad_topic", "A");
    expect("/siteward/A/cmd/u", "bad_topic", "");
}

/* The length given cuts the topic; bytes past it do not rescue it. */
static void test_topic_cut_by_length(void **state)
{
    (void)state;
    const char *full = "siteward/A/event/sensor/d1";
    sw_topic t;
    const char *code = NULL;
    assert_int_equal(sw_topic_parse("siteward", full, strlen("siteward/A/event/sen"), &t, &code),
                     SW_EINVAL);
    assert_string_equal(code, "bad_source");
    assert_int_equal(
        sw_topic_parse("siteward", full, strlen("siteward/A/event/sensor/"), &t, &code), SW_EINVAL);
    assert_string_equal(code, "bad_id");
    assert_int_equal(sw_topic_parse("siteward", full, strlen("siteward"), &t, &code), SW_EINVAL);
    assert_string_equal(code, "bad_topic");
    assert_int_equal(sw_topic_parse("siteward", full, 0, &t, &code), SW_EINVAL);
    assert_string_equal(code, "bad_topic");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_site_alphabet),           cmocka_unit_test(test_site_every_byte),
        cmocka_unit_test(test_lengths_not_terminators), cmocka_unit_test(test_id_alphabet),
        cmocka_unit_test(test_id_every_byte),           cmocka_unit_test(test_topic_shapes),
        cmocka_unit_test(test_topic_fields_of_kind),    cmocka_unit_test(test_topic_longest_parts),
        cmocka_unit_test(test_topic_prefixes),          cmocka_unit_test(test_topic_errors),
        cmocka_unit_test(test_topic_more_errors),       cmocka_unit_test(test_topic_cut_by_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
