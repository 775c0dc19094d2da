/* Parsing of the policy's "planned_work" and "silences" sections and of
 * the config's "foreign" mappings: what they accept, what they refuse with
 * the file and key named, and the MQTT topic filters foreign devices use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit.h"

#include "config.h"
#include "foreign.h"
#include "policy.h"
#include "policy_plan.h"
#include "topic.h"

static char dir[UNIT_DIR_MAX];

static int setup(void **state)
{
    (void)state;
    return unit_tmpdir(dir, sizeof dir);
}

static int teardown(void **state)
{
    (void)state;
    unit_rmtree(dir);
    return 0;
}

static void test_default_planned_work(void **state)
{
    (void)state;
    sw_policy p;
    assert_int_equal(sw_policy_load(&p, SW_SOURCE_DIR "/config/policy/default.json"), 0);
    const sw_plan_kind *k = sw_plan_kind_find(&p, "pest_control");
    assert_non_null(k);
    assert_string_equal(k->cls->name, "planned_pest_control");
    assert_int_equal(k->not_on, (1u << 5) | (1u << 6));
    k = sw_plan_kind_find(&p, "power_cut");
    assert_true(sw_plan_kind_explains(k, "power_loss"));
    assert_false(sw_plan_kind_explains(k, "smoke"));
    assert_int_equal(k->not_on, 0);
    const sw_obl_rule *r = sw_class_rule(k->cls, "customer_service_notified");
    assert_true(r->before);
    assert_int_equal(r->from, SW_FROM_START);
    assert_int_equal(r->within.ms, 32 * 3600 * 1000LL);
    r = sw_class_rule(sw_plan_kind_find(&p, "community_event")->cls, "residents_notified");
    assert_int_equal(r->within.working_days, 3);
    assert_null(sw_plan_kind_find(&p, "fireworks"));
    assert_int_equal(p.plan->silence_max_ms, 24 * 3600 * 1000LL);
    sw_policy_free(&p);
}

static int load_policy(const char *text, char *log, size_t llen)
{
    char path[PATH_MAX];
    sw_policy p;
    unit_capture cap;
    unit_write(dir, "p.json", text, path, sizeof path);
    unit_capture_start(&cap, dir);
    int rc = sw_policy_load(&p, path);
    unit_capture_stop(&cap, log, llen);
    if (!rc)
        sw_policy_free(&p);
    return rc;
}

#define POLICY(pw)                                                                                 \
    "{\"event_types\": {\"power_loss\": {\"class\": \"w\"}}, \"classes\": {\"w\": {}, \"t\": "     \
    "{\"incident\": false}}, \"planned_work\": " pw "}"

static void test_bad_planned_work(void **state)
{
    (void)state;
    static const struct {
        const char *text, *key;
    } bad[] = {
        {POLICY("{}"), "planned_work.kinds"},
        {POLICY("{\"kinds\": []}"), "planned_work.kinds"},
        {POLICY("{\"kinds\": {\"cut\": {}}}"), "planned_work.kinds.cut.class"},
        {POLICY("{\"kinds\": {\"cut\": {\"class\": \"nope\"}}}"), "planned_work.kinds.cut.class"},
        {POLICY("{\"kinds\": {\"cut\": {\"class\": \"t\"}}}"), "planned_work.kinds.cut.class"},
        {POLICY("{\"kinds\": {\"cut\": {\"class\": \"w\", \"explains\": [\"smoke\"]}}}"),
         "planned_work.kinds.cut.explains"},
        {POLICY("{\"kinds\": {\"cut\": {\"class\": \"w\", \"not_on\": [\"caturday\"]}}}"),
         "planned_work.kinds.cut.not_on"},
        {POLICY("{\"kinds\": {\"cut\": {\"class\": \"w\", \"when\": 1}}}"),
         "planned_work.kinds.cut.when"},
        {"{\"classes\": {\"w\": {}}, \"silences\": {\"max\": \"forever\"}}", "silences"},
        {"{\"classes\": {\"w\": {\"obligations\": [{\"name\": \"a\", \"before\": \"1h\", "
         "\"within\": \"1h\", \"met_by\": \"ack\", \"from\": \"start\"}]}}}",
         "classes.w.obligations[0]"},
        {"{\"classes\": {\"w\": {\"obligations\": [{\"name\": \"a\", \"before\": \"8wh\", "
         "\"met_by\": \"ack\", \"from\": \"start\"}]}}}",
         "classes.w.obligations[0]"},
        {"{\"classes\": {\"w\": {\"obligations\": [{\"name\": \"a\", \"within\": \"1h\", "
         "\"met_by\": \"ack\", \"from\": \"dawn\"}]}}}",
         "classes.w.obligations[0]"},
    };
    char log[2048], want[200];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_not_equal(load_policy(bad[i].text, log, sizeof log), 0);
        snprintf(want, sizeof want, "key '%s'", bad[i].key);
        if (!strstr(log, want))
            fail_msg("case %zu: \"%s\" not in: %s", i, want, log);
        assert_non_null(strstr(log, "p.json"));
    }
    assert_int_equal(load_policy(POLICY("{\"kinds\": {\"cut\": {\"class\": \"w\", \"explains\": "
                                        "[\"power_loss\"], \"not_on\": [\"sun\"]}}}"),
                                 log, sizeof log),
                     0);
}

static void test_topic_filters(void **state)
{
    (void)state;
    static const struct {
        const char *filter, *topic;
        int match;
    } cases[] = {
        {"zigbee2mqtt/+", "zigbee2mqtt/kitchen_smoke", 1},
        {"zigbee2mqtt/+", "zigbee2mqtt/bridge/state", 0},
        {"zigbee2mqtt/+", "zigbee2mqtt", 0},
        {"zigbee2mqtt/+", "zigbee2mqtt/", 1}, /* an empty level matches '+' */
        {"zigbee2mqtt/#", "zigbee2mqtt/bridge/state", 1},
        {"zigbee2mqtt/#", "zigbee2mqtt", 1},
        {"a/+/c", "a/b/c", 1},
        {"a/+/c", "a/b/d", 0},
        {"a/b", "a/bc", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (sw_topic_filter_match(cases[i].filter, cases[i].topic, strlen(cases[i].topic)) !=
            cases[i].match)
            fail_msg("%s against %s", cases[i].filter, cases[i].topic);
}

static int load_config(const char *foreign, sw_config *cfg, char *log, size_t llen)
{
    char path[PATH_MAX], text[4096];
    unit_capture cap;
    snprintf(
        text, sizeof text,
        "{\"plugins\": [{\"name\": \"decode\"}], \"sites\": {\"*\": {\"timezone\": \"+08:00\", "
        "\"calendar\": \"%s/config/calendars/cn-2026.json\"}}, \"foreign\": %s}",
        SW_SOURCE_DIR, foreign);
    unit_write(dir, "siteward.json", text, path, sizeof path);
    unit_capture_start(&cap, dir);
    int rc = sw_config_load(cfg, path, NULL);
    unit_capture_stop(&cap, log, llen);
    return rc;
}

static void test_foreign_config(void **state)
{
    (void)state;
    sw_config cfg;
    char log[2048];
    assert_int_equal(load_config("[{\"mapping\": \"" SW_SOURCE_DIR
                                 "/config/mappings/zigbee2mqtt.json\", \"site\": \"A\", "
                                 "\"devices\": {\"d1\": {}}}]",
                                 &cfg, log, sizeof log),
                     0);
    assert_int_equal(cfg.nforeign, 1);
    assert_string_equal(cfg.foreign[0].filter, "zigbee2mqtt/+");
    assert_string_equal(cfg.foreign[0].site, "A");
    assert_string_equal(cfg.foreign[0].source, "sensor");
    assert_int_equal(cfg.foreign[0].device_level, 1);
    /* The file's rules, completed by the entry's site and devices. */
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(cfg.foreign[0].mapping, "rules")));
    assert_non_null(cJSON_GetObjectItem(cfg.foreign[0].mapping, "devices"));
    assert_null(cJSON_GetObjectItem(cfg.foreign[0].mapping, "mapping"));

    sw_topic t;
    const sw_foreign *f;
    const char *code = NULL;
    const char *topic = "zigbee2mqtt/kitchen_smoke";
    assert_int_equal(sw_foreign_match(&cfg, topic, strlen(topic), &t, &f, &code), 0);
    assert_int_equal(t.kind, SW_MSG_EVENT);
    assert_string_equal(t.site, "A");
    assert_string_equal(t.device, "kitchen_smoke");
    topic = "zigbee2mqtt/kitchen smoke";
    assert_int_equal(sw_foreign_match(&cfg, topic, strlen(topic), &t, &f, &code), SW_EINVAL);
    assert_string_equal(code, "bad_id");
    topic = "zigbee2mqtt/bridge/state";
    assert_int_equal(sw_foreign_match(&cfg, topic, strlen(topic), &t, &f, &code), SW_ENOENT);
    sw_config_free(&cfg);

    static const struct {
        const char *foreign, *key;
    } bad[] = {
        {"{}", "foreign"},
        {"[5]", "foreign[0]"},
        {"[{\"topic\": \"z/+\", \"site\": \"A\"}]", "foreign[0].device"},
        {"[{\"topic\": \"z/+\", \"site\": \"A\", \"device\": \"topic:0\"}]", "foreign[0].device"},
        {"[{\"topic\": \"z/+\", \"site\": \"A\", \"device\": \"topic:2\"}]", "foreign[0].device"},
        {"[{\"topic\": \"z/a+\", \"site\": \"A\", \"device\": \"field:id\"}]", "foreign[0].topic"},
        {"[{\"topic\": \"z/#/x\", \"site\": \"A\", \"device\": \"field:id\"}]", "foreign[0].topic"},
        {"[{\"topic\": \"siteward/x\", \"site\": \"A\", \"device\": \"field:id\"}]",
         "foreign[0].topic"},
        {"[{\"topic\": \"#\", \"site\": \"A\", \"device\": \"field:id\"}]", "foreign[0].topic"},
        {"[{\"topic\": \"z/+\", \"site\": \"_x\", \"device\": \"topic:1\"}]", "foreign[0].site"},
        {"[{\"topic\": \"z/+\", \"site\": \"A\", \"device\": \"topic:1\", \"source\": \"cam\"}]",
         "foreign[0].source"},
        {"[{\"topic\": \"z/+\", \"site\": \"A\", \"device\": \"topic:1\", \"colour\": 1}]",
         "foreign[0].colour"},
        {"[{\"mapping\": \"missing.json\", \"site\": \"A\"}]", "missing.json"},
    };
    char want[200];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_not_equal(load_config(bad[i].foreign, &cfg, log, sizeof log), 0);
        snprintf(want, sizeof want, "%s", bad[i].key);
        if (!strstr(log, want))
            fail_msg("case %zu: \"%s\" not in: %s", i, want, log);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_planned_work),
        cmocka_unit_test(test_bad_planned_work),
        cmocka_unit_test(test_topic_filters),
        cmocka_unit_test(test_foreign_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
