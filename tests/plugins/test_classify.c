/* classify plugin: event types and report rules to classes, and policy
 * validation at load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mock_host.h"

static const char *POLICY =
    "{\"classes\": {\"fire\": {}, \"visitor\": {}, \"repair\": {}, \"urgent\": {}, \"other\": {}},"
    " \"event_types\": {\"smoke\": {\"class\": \"fire\"},"
    "                   \"visitor_verified\": {\"class\": \"visitor\", \"meets\": \"verified\"}},"
    " \"reports\": [{\"match\": {\"category\": \"repair\", \"urgency\": \"urgent\"}, \"class\": "
    "\"urgent\"},"
    "               {\"match\": {\"category\": \"repair\"}, \"class\": \"repair\"},"
    "               {\"match\": {\"channel\": \"offline\"}, \"class\": \"other\"}]}";

static int classify_one(mock_host *h, sw_msg *m, enum sw_msg_kind kind)
{
    return mock_run(h, SW_HOOK_CLASSIFY, m);
}

static void test_events(void **state)
{
    (void)state;
    mock_host h;
    sw_msg m;
    assert_int_equal(mock_load(&h, POLICY, NULL), 0);
    mock_msg(&m, SW_MSG_EVENT, "A", "sensor", "d1", "{}");
    m.type = "smoke";
    assert_int_equal(classify_one(&h, &m, SW_MSG_EVENT), 0);
    assert_string_equal(m.cls, "fire");
    assert_string_equal(m.meets, "");
    m.type = "visitor_verified";
    assert_int_equal(classify_one(&h, &m, SW_MSG_EVENT), 0);
    assert_string_equal(m.cls, "visitor");
    assert_string_equal(m.meets, "verified");
    m.type = "unicorn";
    assert_int_equal(classify_one(&h, &m, SW_MSG_EVENT), SW_EREJECTED);
    assert_string_equal(m.error_code, "unknown_type");
    mock_unload(&h);
}

static void test_reports_first_match(void **state)
{
    (void)state;
    mock_host h;
    sw_msg m;
    assert_int_equal(mock_load(&h, POLICY, NULL), 0);
    mock_msg(&m, SW_MSG_REPORT, "A", NULL, "u1", "{}");
    m.category = "repair";
    m.urgency = "urgent";
    m.channel = "online";
    assert_int_equal(classify_one(&h, &m, SW_MSG_REPORT), 0);
    assert_string_equal(m.cls, "urgent");
    m.urgency = "general";
    assert_int_equal(classify_one(&h, &m, SW_MSG_REPORT), 0);
    assert_string_equal(m.cls, "repair");
    m.category = "complaint";
    m.channel = "offline";
    assert_int_equal(classify_one(&h, &m, SW_MSG_REPORT), 0);
    assert_string_equal(m.cls, "other");
    m.channel = "online";
    assert_int_equal(classify_one(&h, &m, SW_MSG_REPORT), SW_EREJECTED);
    assert_string_equal(m.error_code, "unclassified");
    mock_unload(&h);
}

static void test_bad_policies_fail_to_load(void **state)
{
    (void)state;
    static const char *bad[] = {
        "{\"classes\": {\"fire\": {}}, \"event_types\": {\"smoke\": {\"class\": \"water\"}}, "
        "\"reports\": []}",
        "{\"classes\": {\"fire\": {}}, \"event_types\": {\"smoke\": {}}, \"reports\": []}",
        "{\"classes\": {\"fire\": {}}, \"event_types\": [], \"reports\": []}",
        "{\"classes\": {\"fire\": {}}, \"event_types\": {}, \"reports\": {}}",
        "{\"classes\": {\"fire\": {}}, \"event_types\": {}, "
        "\"reports\": [{\"match\": {\"colour\": \"red\"}, \"class\": \"fire\"}]}",
        "{\"classes\": {\"fire\": {}}, \"event_types\": {\"smoke\": {\"class\": \"fire\", "
        "\"meets\": 3}}, \"reports\": []}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mock_host h;
        assert_int_not_equal(mock_load(&h, bad[i], NULL), 0);
        assert_true(h.policy_errors > 0);
        mock_unload(&h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_reports_first_match),
        cmocka_unit_test(test_bad_policies_fail_to_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
