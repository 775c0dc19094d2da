/* correlate plugin: dedup keys and correlation keys by the policy's
 * location granularity and window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mock_host.h"

static const char *POLICY =
    "{\"correlation\": {\"window\": \"30m\", \"by\": [\"building\", \"floor\"]},"
    " \"classes\": {\"fire\": {},"
    "   \"visitor\": {\"correlation\": {\"window\": \"10m\", \"by\": [\"device\"]}},"
    "   \"complaint\": {\"correlation\": false}}}";

static mock_host H;

static int setup(void **state)
{
    (void)state;
    return mock_load(&H, POLICY, NULL);
}

static int teardown(void **state)
{
    (void)state;
    mock_unload(&H);
    return 0;
}

static void event(sw_msg *m, const char *cls, const char *id)
{
    mock_msg(m, SW_MSG_EVENT, "A", "sensor", "d17", "{}");
    snprintf(m->cls, sizeof m->cls, "%s", cls);
    m->event_id = id;
}

static void test_event_keys(void **state)
{
    (void)state;
    sw_msg m;
    event(&m, "fire", "e-1");
    m.location.building = "3";
    m.location.floor = "12";
    m.location.unit = "1203";
    assert_int_equal(mock_run(&H, SW_HOOK_CORRELATE, &m), 0);
    assert_string_equal(m.dedup_key, "E/A/sensor/d17/e-1");
    assert_string_equal(m.corr_key, "A/fire/3/12");
    assert_int_equal(m.corr_window_ms, 30 * 60000);

    /* Missing parts are placeholders, so a floor-less alarm stays apart. */
    event(&m, "fire", NULL);
    m.location.building = "3";
    assert_int_equal(mock_run(&H, SW_HOOK_CORRELATE, &m), 0);
    assert_string_equal(m.dedup_key, "");
    assert_string_equal(m.corr_key, "A/fire/3/-");

    /* No location at all: the device itself. */
    event(&m, "fire", NULL);
    assert_int_equal(mock_run(&H, SW_HOOK_CORRELATE, &m), 0);
    assert_string_equal(m.corr_key, "A/fire/@sensor:d17");
}

static void test_class_overrides(void **state)
{
    (void)state;
    sw_msg m;
    event(&m, "visitor", "v1");
    m.source = "gate";
    assert_int_equal(mock_run(&H, SW_HOOK_CORRELATE, &m), 0);
    assert_string_equal(m.corr_key, "A/visitor/gate:d17");
    assert_int_equal(m.corr_window_ms, 10 * 60000);

    mock_msg(&m, SW_MSG_REPORT, "A", NULL, "resident-7", "{}");
    snprintf(m.cls, sizeof m.cls, "complaint");
    m.report_id = "r-1";
    m.location.building = "3";
    assert_int_equal(mock_run(&H, SW_HOOK_CORRELATE, &m), 0);
    assert_string_equal(m.dedup_key, "R/A/resident-7/r-1");
    assert_string_equal(m.corr_key, "");
}

static void test_command_keys(void **state)
{
    (void)state;
    sw_msg m;
    mock_msg(&m, SW_MSG_COMMAND, "A", NULL, "li.wei", "{}");
    m.op = "comment";
    m.request_id = "c-9";
    assert_int_equal(mock_run(&H, SW_HOOK_CORRELATE, &m), 0);
    assert_string_equal(m.dedup_key, "C/A/li.wei/c-9");
    assert_string_equal(m.corr_key, "");
    m.request_id = NULL;
    assert_int_equal(mock_run(&H, SW_HOOK_CORRELATE, &m), 0);
    assert_string_equal(m.dedup_key, "");
}

static void test_reports_without_location_stand_alone(void **state)
{
    (void)state;
    sw_msg m;
    mock_msg(&m, SW_MSG_REPORT, "A", NULL, "resident-7", "{}");
    snprintf(m.cls, sizeof m.cls, "fire");
    assert_int_equal(mock_run(&H, SW_HOOK_CORRELATE, &m), 0);
    assert_string_equal(m.corr_key, "");
    assert_string_equal(m.dedup_key, "");
}

static void test_bad_policy(void **state)
{
    (void)state;
    mock_host h;
    assert_int_not_equal(
        mock_load(&h, "{\"correlation\": {\"by\": [\"room\"]}, \"classes\": {}}", NULL), 0);
    mock_unload(&h);
    assert_int_not_equal(
        mock_load(&h, "{\"classes\": {\"x\": {\"correlation\": {\"window\": \"soon\"}}}}", NULL),
        0);
    mock_unload(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_keys),
        cmocka_unit_test(test_class_overrides),
        cmocka_unit_test(test_command_keys),
        cmocka_unit_test(test_reports_without_location_stand_alone),
        cmocka_unit_test(test_bad_policy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
