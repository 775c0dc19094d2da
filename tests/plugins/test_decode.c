/* decode plugin: canonical fields of events, reports and commands, and the
 * error code of every kind of malformed payload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mock_host.h"
#include "timeutil.h"

static mock_host H;

static int setup(void **state)
{
    (void)state;
    return mock_load(&H, NULL, "{\"max_data\": 64}");
}

static int teardown(void **state)
{
    (void)state;
    mock_unload(&H);
    return 0;
}

static int run(sw_msg *m, enum sw_msg_kind kind, const char *payload)
{
    mock_msg(m, kind, "A", kind == SW_MSG_EVENT ? "sensor" : NULL, "d17", payload);
    return mock_run(&H, SW_HOOK_DECODE, m);
}

static void expect_reject(enum sw_msg_kind kind, const char *payload, const char *code)
{
    sw_msg m;
    assert_int_equal(run(&m, kind, payload), SW_EREJECTED);
    assert_string_equal(m.error_code, code);
    assert_true(strlen(m.error_reason) > 0);
    cJSON_Delete(m.json);
}

/* A NUL, raw or escaped, in any kind of payload: rejected, never stored
 * cut short. An escaped backslash before "u0000" is plain text. */
static void test_nul_rejected(void **state)
{
    (void)state;
    static const char raw[] = "{\"type\":\"smoke\",\"id\":\"e\0x\"}";
    sw_msg m;
    mock_msg(&m, SW_MSG_EVENT, "A", "sensor", "d17", raw);
    m.payload_len = sizeof raw - 1;
    assert_int_equal(mock_run(&H, SW_HOOK_DECODE, &m), SW_EREJECTED);
    assert_string_equal(m.error_code, "bad_json");
    assert_non_null(strstr(m.error_reason, "NUL byte at byte 23"));
    cJSON_Delete(m.json);

    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"data\":{\"k\":\"a\\u0000b\"}}", "bad_field");
    expect_reject(SW_MSG_REPORT, "{\"category\":\"repair\",\"text\":\"tap\\u0000 leaks\"}",
                  "bad_field");
    expect_reject(SW_MSG_COMMAND, "{\"op\":\"comment\",\"note\":\"\\u0000\"}", "bad_field");
    /* In a key too. */
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"data\":{\"\\u0000\":1}}", "bad_field");
    assert_int_equal(run(&m, SW_MSG_COMMAND, "{\"op\":\"comment\",\"note\":\"C:\\\\u0000\"}"), 0);
    assert_string_equal(m.note, "C:\\u0000");
    cJSON_Delete(m.json);
}

static void test_event_fields(void **state)
{
    (void)state;
    sw_msg m;
    assert_int_equal(
        run(&m, SW_MSG_EVENT,
            "{\"type\":\"smoke\",\"id\":\"d17-000123\",\"ts\":\"2026-11-22T08:15:03+08:00\","
            "\"state\":\"normal\",\"value\":1.5,\"location\":{\"building\":\"3\","
            "\"floor\":\"12\",\"unit\":\"1203\",\"area\":\"corridor\"},\"data\":{\"k\":1}}"),
        0);
    assert_string_equal(m.type, "smoke");
    assert_string_equal(m.event_id, "d17-000123");
    int64_t ts;
    sw_time_parse("2026-11-22T00:15:03Z", &ts);
    assert_int_equal(m.ts_ms, ts);
    assert_int_equal(m.normal, 1);
    assert_int_equal(m.has_value, 1);
    assert_true(m.value == 1.5);
    assert_string_equal(m.location.building, "3");
    assert_string_equal(m.location.floor, "12");
    assert_string_equal(m.location.unit, "1203");
    assert_string_equal(m.location.area, "corridor");
    assert_non_null(m.data);
    cJSON_Delete(m.json);
}

static void test_event_defaults_and_epoch_ts(void **state)
{
    (void)state;
    sw_msg m;
    assert_int_equal(run(&m, SW_MSG_EVENT, "{\"type\":\"water_leak\"}"), 0);
    assert_int_equal(m.normal, 0);
    assert_null(m.event_id);
    assert_int_equal(m.ts_ms, m.received_ms);
    assert_int_equal(m.has_value, 0);
    cJSON_Delete(m.json);
    assert_int_equal(run(&m, SW_MSG_EVENT, " {\"type\":\"heat\",\"ts\":1795000000123}\n"), 0);
    assert_int_equal(m.ts_ms, 1795000000123LL);
    cJSON_Delete(m.json);
}

static void test_event_rejections(void **state)
{
    (void)state;
    expect_reject(SW_MSG_EVENT, "", "bad_json");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\"", "bad_json");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\"} trailing", "bad_json");
    expect_reject(SW_MSG_EVENT, "\"smoke\"", "bad_json");
    /* Not UTF-8 (found by the fault corpus): cJSON would pass the bytes on
     * into the store and into published JSON. Lone continuation byte,
     * overlong '/', a surrogate, past U+10FFFF, a cut sequence. */
    expect_reject(SW_MSG_EVENT, "{\"type\":\"sm\xff\xfeoke\"}", "bad_json");
    expect_reject(SW_MSG_REPORT, "{\"category\":\"repair\",\"text\":\"\x80\"}", "bad_json");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"id\":\"\xc0\xaf\"}", "bad_json");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"id\":\"\xed\xa0\x80\"}", "bad_json");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"id\":\"\xf4\x90\x80\x80\"}", "bad_json");
    expect_reject(SW_MSG_COMMAND, "{\"op\":\"ack\",\"note\":\"\xe4\xb8\"}", "bad_json");
    expect_reject(SW_MSG_EVENT, "{}", "bad_field");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"Smoke!\"}", "bad_field");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"id\":7}", "bad_field");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"id\":\"a/b\"}", "bad_field");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"ts\":\"2026-11-22 08:15\"}", "bad_field");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"ts\":\"2026-11-22T08:15:03\"}", "bad_field");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"ts\":true}", "bad_field");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"state\":\"ALARM\"}", "bad_field");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"value\":\"high\"}", "bad_field");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"location\":\"lobby\"}", "bad_field");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"location\":{\"room\":\"1\"}}", "bad_field");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"location\":{\"floor\":12}}", "bad_field");
    expect_reject(SW_MSG_EVENT, "{\"type\":\"smoke\",\"data\":[1]}", "bad_field");
    /* max_data is 64 in this test's config. */
    expect_reject(SW_MSG_EVENT,
                  "{\"type\":\"smoke\",\"data\":{\"x\":\"0123456789012345678901234567890123456789"
                  "0123456789012345678901234567890123456789\"}}",
                  "bad_field");
}

static void test_report(void **state)
{
    (void)state;
    sw_msg m;
    /* Well-formed UTF-8 of every length passes: 2, 3 and 4 bytes. */
    assert_int_equal(run(&m, SW_MSG_REPORT,
                         "{\"category\":\"repair\",\"text\":\"caf\xc3\xa9 "
                         "\xe5\x8e\xa8\xe6\x88\xbf \xf0\x9f\x9a\xb0\"}"),
                     0);
    cJSON_Delete(m.json);
    assert_int_equal(run(&m, SW_MSG_REPORT,
                         "{\"report_id\":\"r-1\",\"category\":\"repair\",\"text\":\"tap\","
                         "\"contact\":{\"phone\":\"1\"}}"),
                     0);
    assert_string_equal(m.report_id, "r-1");
    assert_string_equal(m.category, "repair");
    assert_string_equal(m.urgency, "general");
    assert_string_equal(m.channel, "online");
    assert_string_equal(m.text, "tap");
    assert_non_null(m.contact);
    cJSON_Delete(m.json);
    expect_reject(SW_MSG_REPORT, "{\"text\":\"x\"}", "bad_field");
    expect_reject(SW_MSG_REPORT, "{\"category\":\"praise\"}", "bad_field");
    expect_reject(SW_MSG_REPORT, "{\"category\":\"repair\",\"urgency\":\"now\"}", "bad_field");
    expect_reject(SW_MSG_REPORT, "{\"category\":\"repair\",\"channel\":\"fax\"}", "bad_field");
    expect_reject(SW_MSG_REPORT, "{\"category\":\"repair\",\"contact\":\"13800138000\"}",
                  "bad_field");
}

static void test_command(void **state)
{
    (void)state;
    sw_msg m;
    assert_int_equal(run(&m, SW_MSG_COMMAND,
                         "{\"op\":\"ack\",\"incident\":\"A-20261122-0007\",\"request_id\":\"c-9\","
                         "\"note\":\"on my way\"}"),
                     0);
    assert_string_equal(m.op, "ack");
    assert_string_equal(m.incident_id, "A-20261122-0007");
    assert_string_equal(m.request_id, "c-9");
    assert_string_equal(m.note, "on my way");
    cJSON_Delete(m.json);
    expect_reject(SW_MSG_COMMAND, "{\"incident\":\"A-1\"}", "bad_command");
    expect_reject(SW_MSG_COMMAND, "{\"op\":\"ack\",\"incident\":\"A 1\"}", "bad_field");
    /* request_id becomes part of a key: the contract's id alphabet only. */
    expect_reject(SW_MSG_COMMAND, "{\"op\":\"ack\",\"request_id\":\"c/9\"}", "bad_field");
    expect_reject(SW_MSG_COMMAND, "{\"op\":\"ack\",\"request_id\":\"\"}", "bad_field");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_fields),     cmocka_unit_test(test_event_defaults_and_epoch_ts),
        cmocka_unit_test(test_event_rejections), cmocka_unit_test(test_report),
        cmocka_unit_test(test_command),          cmocka_unit_test(test_nul_rejected),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
