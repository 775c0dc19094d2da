/* map plugin: Zigbee2MQTT payloads, shaped as Zigbee2MQTT publishes them,
 * through the shipped mapping (config/mappings/zigbee2mqtt.json) to
 * canonical events; per-device rules, a device id from the payload, and
 * the configuration errors found at load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mock_host.h"

static mock_host H;
static char *policy_text;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* {"foreign": [the shipped mapping, completed with a site and devices]}. */
static char *daemon_config(const char *devices, const char *override_key, const char *override)
{
    char *text = slurp(SW_SOURCE_DIR "/config/mappings/zigbee2mqtt.json");
    cJSON *m = cJSON_Parse(text);
    free(text);
    cJSON_AddStringToObject(m, "site", "A");
    cJSON_AddItemToObject(m, "devices", cJSON_Parse(devices));
    if (override_key) {
        cJSON_DeleteItemFromObjectCaseSensitive(m, override_key);
        cJSON_AddItemToObject(m, override_key, cJSON_Parse(override));
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(doc, "foreign"), m);
    char *out = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return out;
}

static const char *const DEVICES =
    "{\"kitchen_smoke\": {\"location\": {\"building\": \"3\", \"floor\": \"12\", \"unit\": "
    "\"1203\"}},"
    " \"garage_leak\": {\"location\": {\"building\": \"P\", \"area\": \"garage\"}},"
    " \"fire_door_3\": {\"location\": {\"building\": \"3\", \"area\": \"stairs\"},"
    "   \"rules\": [{\"field\": \"contact\", \"equals\": false, \"type\": \"door_forced\"},"
    "             {\"field\": \"contact\", \"equals\": true, \"type\": \"door_forced\", "
    "\"state\": \"normal\"}]}}";

static int load(const char *devices, const char *key, const char *value)
{
    char *cfg = daemon_config(devices, key, value);
    int rc = mock_load_daemon(&H, policy_text, NULL, cfg);
    free(cfg);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    return load(DEVICES, NULL, NULL);
}

static int teardown(void **state)
{
    (void)state;
    mock_unload(&H);
    return 0;
}

/* A message on zigbee2mqtt/DEVICE as the host hands it over. */
static int run(sw_msg *m, const char *device, const char *payload)
{
    char topic[128];
    static char topics[8][128];
    static int t;
    snprintf(topic, sizeof topic, "zigbee2mqtt/%s", device);
    snprintf(topics[t % 8], sizeof topics[0], "%s", topic);
    mock_msg(m, SW_MSG_EVENT, "A", "sensor", device, payload);
    m->topic = topics[t++ % 8];
    m->mapping = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(H.daemon, "foreign"), 0);
    return mock_run(&H, SW_HOOK_DECODE, m);
}

static void expect(const char *device, const char *payload, const char *type, int normal)
{
    sw_msg m;
    assert_int_equal(run(&m, device, payload), 0);
    assert_string_equal(m.type, type);
    assert_int_equal(m.normal, normal);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m.json, "state")),
                        normal ? "normal" : "alarm");
    cJSON_Delete(m.json);
}

static void test_smoke_detector(void **state)
{
    (void)state;
    sw_msg m;
    assert_int_equal(run(&m, "kitchen_smoke",
                         "{\"battery\":100,\"battery_low\":false,\"linkquality\":123,"
                         "\"smoke\":true,\"tamper\":false}"),
                     0);
    assert_string_equal(m.type, "smoke");
    assert_int_equal(m.normal, 0);
    assert_string_equal(m.device, "kitchen_smoke");
    assert_string_equal(m.location.building, "3");
    assert_string_equal(m.location.floor, "12");
    assert_string_equal(m.location.unit, "1203");
    assert_null(m.location.area);
    assert_null(m.event_id);
    assert_int_equal(m.ts_ms, m.received_ms);
    /* The device's payload is kept whole as the data. */
    assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(m.data, "linkquality")), 123);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
                            cJSON_GetObjectItem(m.json, "location"), "building")),
                        "3");
    cJSON_Delete(m.json);
    expect("kitchen_smoke",
           "{\"battery\":100,\"battery_low\":false,\"linkquality\":120,\"smoke\":false,"
           "\"tamper\":false}",
           "smoke", 1);
}

static void test_water_leak_contact_occupancy(void **state)
{
    (void)state;
    expect("garage_leak",
           "{\"battery\":97,\"battery_low\":false,\"linkquality\":87,\"tamper\":false,"
           "\"water_leak\":true}",
           "water_leak", 0);
    expect("garage_leak",
           "{\"battery\":97,\"battery_low\":false,\"linkquality\":87,\"tamper\":false,"
           "\"water_leak\":false}",
           "water_leak", 1);
    /* An open contact (contact false) is an open door. */
    expect("bin_room_door",
           "{\"battery\":100,\"contact\":false,\"device_temperature\":22,\"linkquality\":102,"
           "\"voltage\":3005}",
           "door_open", 0);
    expect("bin_room_door",
           "{\"battery\":100,\"contact\":true,\"linkquality\":102,\"voltage\":3005}", "door_open",
           1);
    expect("lobby_motion",
           "{\"battery\":100,\"illuminance\":21,\"illuminance_lux\":21,\"linkquality\":78,"
           "\"occupancy\":true,\"voltage\":3015}",
           "occupancy", 0);
    expect("lobby_motion",
           "{\"battery\":100,\"illuminance_lux\":20,\"linkquality\":78,\"occupancy\":false}",
           "occupancy", 1);
}

static void test_emergency_button(void **state)
{
    (void)state;
    expect("sos_1203", "{\"action\":\"emergency\",\"battery\":100,\"linkquality\":120}",
           "emergency_button", 0);
    /* Any other payload of the button (a battery report, an empty action)
     * is a status, recorded and nothing more. */
    expect("sos_1203", "{\"action\":\"\",\"battery\":99,\"linkquality\":118}", "device_status", 1);
    expect("sos_1203", "{\"battery\":99,\"linkquality\":118}", "device_status", 1);
}

static void test_device_rules_override(void **state)
{
    (void)state;
    expect("fire_door_3", "{\"battery\":100,\"contact\":false,\"linkquality\":90}", "door_forced",
           0);
    expect("fire_door_3", "{\"battery\":100,\"contact\":true,\"linkquality\":90}", "door_forced",
           1);
}

static void test_other_messages_untouched_and_bad_payloads(void **state)
{
    (void)state;
    sw_msg m;
    /* Not a mapped topic: left to the contract's decoder. */
    mock_msg(&m, SW_MSG_EVENT, "A", "sensor", "d17", "{\"type\":\"smoke\"}");
    assert_int_equal(mock_run(&H, SW_HOOK_DECODE, &m), 0);
    assert_null(m.json);
    assert_null(m.type);
    assert_int_equal(run(&m, "kitchen_smoke", "online"), SW_EREJECTED);
    assert_string_equal(m.error_code, "bad_json");
    cJSON_Delete(m.json);
    assert_int_equal(run(&m, "kitchen_smoke", "[1,2]"), SW_EREJECTED);
    assert_string_equal(m.error_code, "bad_json");
    cJSON_Delete(m.json);
}

/* The decoder's rules hold for mapped payloads: only whitespace after the
 * JSON value, no NUL (raw or escaped), UTF-8 only. */
static void test_mapped_payloads_follow_the_decoder(void **state)
{
    (void)state;
    static const char raw[] = "{\"smoke\":true}\0{\"smoke\":false}";
    sw_msg m;
    assert_int_equal(run(&m, "kitchen_smoke", " {\"smoke\":true} \r\n"), 0);
    assert_string_equal(m.type, "smoke");
    cJSON_Delete(m.json);
    assert_int_equal(run(&m, "kitchen_smoke", "{\"smoke\":true} trailing"), SW_EREJECTED);
    assert_string_equal(m.error_code, "bad_json");
    assert_non_null(strstr(m.error_reason, "byte 15"));
    cJSON_Delete(m.json);
    assert_int_equal(run(&m, "kitchen_smoke", "{\"smoke\":true}{\"smoke\":false}"), SW_EREJECTED);
    assert_string_equal(m.error_code, "bad_json");
    cJSON_Delete(m.json);
    assert_int_equal(run(&m, "kitchen_smoke", "{\"smoke\":true,\"x\":\"a\\u0000b\"}"),
                     SW_EREJECTED);
    assert_string_equal(m.error_code, "bad_field");
    assert_non_null(strstr(m.error_reason, "u0000"));
    cJSON_Delete(m.json);
    /* Read as a C string it is a valid payload; with its true length not. */
    assert_int_equal(run(&m, "kitchen_smoke", raw), 0);
    cJSON_Delete(m.json);
    m.json = NULL;
    m.payload_len = sizeof raw - 1;
    assert_int_equal(mock_run(&H, SW_HOOK_DECODE, &m), SW_EREJECTED);
    assert_string_equal(m.error_code, "bad_json");
    assert_non_null(strstr(m.error_reason, "NUL byte at byte 14"));
    cJSON_Delete(m.json);
    assert_int_equal(run(&m, "kitchen_smoke", "{\"smoke\":\"\xff\"}"), SW_EREJECTED);
    assert_string_equal(m.error_code, "bad_json");
    cJSON_Delete(m.json);
}

static void test_unmapped_without_otherwise(void **state)
{
    (void)state;
    /* Without "otherwise", a payload no rule matches is rejected. */
    sw_msg m;
    mock_unload(&H);
    char *cfg = daemon_config(DEVICES, NULL, NULL);
    cJSON *doc = cJSON_Parse(cfg);
    free(cfg);
    cJSON_DeleteItemFromObject(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "foreign"), 0),
                               "otherwise");
    cfg = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    assert_int_equal(mock_load_daemon(&H, policy_text, NULL, cfg), 0);
    free(cfg);
    assert_int_equal(run(&m, "sos_1203", "{\"battery\":99}"), SW_EREJECTED);
    assert_string_equal(m.error_code, "unmapped");
    cJSON_Delete(m.json);
}

static void test_device_id_from_payload(void **state)
{
    (void)state;
    mock_unload(&H);
    assert_int_equal(load(DEVICES, "device", "\"field:ieee\""), 0);
    sw_msg m;
    mock_msg(&m, SW_MSG_EVENT, "A", "sensor", NULL,
             "{\"ieee\":\"0x00158d0001a2b3c4\",\"smoke\":true}");
    m.topic = "zigbee2mqtt/ignored";
    m.mapping = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(H.daemon, "foreign"), 0);
    assert_int_equal(mock_run(&H, SW_HOOK_DECODE, &m), 0);
    assert_string_equal(m.device, "0x00158d0001a2b3c4");
    assert_string_equal(m.type, "smoke");
    cJSON_Delete(m.json);
    mock_msg(&m, SW_MSG_EVENT, "A", "sensor", NULL, "{\"ieee\":\"a/b\",\"smoke\":true}");
    m.topic = "zigbee2mqtt/ignored";
    m.mapping = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(H.daemon, "foreign"), 0);
    assert_int_equal(mock_run(&H, SW_HOOK_DECODE, &m), SW_EREJECTED);
    assert_string_equal(m.error_code, "bad_field");
    cJSON_Delete(m.json);
}

static void test_config_errors_at_load(void **state)
{
    (void)state;
    mock_unload(&H);
    static const struct {
        const char *key, *value;
    } bad[] = {
        {"rules", "[]"},
        {"rules", "[{\"field\": \"smoke\", \"equals\": true, \"type\": \"not_a_type\"}]"},
        {"rules", "[{\"field\": \"smoke\", \"type\": \"smoke\"}]"},
        {"rules",
         "[{\"field\": \"smoke\", \"equals\": true, \"type\": \"smoke\", \"state\": \"on\"}]"},
        {"otherwise", "{\"type\": \"nope\"}"},
        {"devices", "{\"d1\": {\"location\": {\"tower\": \"1\"}}}"},
        {"devices", "{\"d1\": {\"location\": {\"building\": \"a/b\"}}}"},
        {"devices", "{\"bad id\": {}}"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_not_equal(load(DEVICES, bad[i].key, bad[i].value), 0);
        mock_unload(&H);
    }
    assert_int_equal(load(DEVICES, NULL, NULL), 0);
}

int main(void)
{
    policy_text = slurp(SW_SOURCE_DIR "/config/policy/default.json");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_smoke_detector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_water_leak_contact_occupancy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emergency_button, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_rules_override, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_messages_untouched_and_bad_payloads, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mapped_payloads_follow_the_decoder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmapped_without_otherwise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_id_from_payload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors_at_load, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(policy_text);
    return rc;
}
