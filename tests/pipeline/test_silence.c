/*
 * Silences with an injected clock: a class, a device or an area muted
 * (kept as records, no incident, nobody paged), the expiry and unsilence
 * ending it, and commands that are refused.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define MIN  60000LL
#define HOUR (60 * MIN)
#define T0   "2026-11-20T08:00:00+08:00"

static cJSON *command(harness *h, int64_t t, const char *json)
{
    h_send(h, t, "siteward/A/cmd/li.wei", json);
    return h_last(h, "siteward/A/reply/li.wei");
}

static void leak(harness *h, int64_t t, const char *dev, const char *building)
{
    char payload[256], topic[128];
    snprintf(payload, sizeof payload,
             "{\"type\":\"water_leak\",\"id\":\"e-%lld\",\"location\":{\"building\":\"%s\","
             "\"floor\":\"1\"}}",
             (long long)t, building);
    snprintf(topic, sizeof topic, "siteward/A/event/sensor/%s", dev);
    h_send(h, t, topic, payload);
}

/* Records (events that opened no incident) whose JSON contains `needle`. */
static int records_with(harness *h, const char *needle)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int n = 0;
    assert_int_equal(sw_store_begin(&h->store, 0, &txn), 0);
    assert_int_equal(mdb_cursor_open(txn, h->store.dbi[SW_DB_RECORDS], &cur), 0);
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !r;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        n += memmem(v.mv_data, v.mv_size, needle, strlen(needle)) != NULL;
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return n;
}

static int deadlines_with(harness *h, const char *needle)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int n = 0;
    assert_int_equal(sw_store_begin(&h->store, 0, &txn), 0);
    assert_int_equal(mdb_cursor_open(txn, h->store.dbi[SW_DB_DEADLINES], &cur), 0);
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !r;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        n += memmem(k.mv_data, k.mv_size, needle, strlen(needle)) != NULL;
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return n;
}

static int meta_has(harness *h, const char *key)
{
    MDB_txn *txn;
    MDB_val v;
    assert_int_equal(sw_store_begin(&h->store, 0, &txn), 0);
    int rc = sw_store_get(&h->store, txn, SW_DB_META, key, strlen(key), &v);
    mdb_txn_abort(txn);
    return rc == 0;
}

static void test_class_silence_mutes_then_expires(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    cJSON *r = command(h, t0,
                       "{\"op\":\"silence\",\"class\":\"water\",\"for\":\"2h\",\"reason\":\"pipe "
                       "work in the garage\",\"request_id\":\"s-1\"}");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(r, "silence");
    assert_string_equal(h_str(s, "id"), "A-silence-1");
    assert_string_equal(h_str(s, "by"), "li.wei");
    assert_string_equal(h_str(s, "reason"), "pipe work in the garage");
    assert_string_equal(h_str(s, "state"), "active");
    assert_int_equal(h_ms(h_str(s, "until")), t0 + 2 * HOUR);
    assert_string_equal(h_str(cJSON_GetObjectItemCaseSensitive(s, "match"), "class"), "water");
    assert_null(cJSON_GetObjectItemCaseSensitive(r, "incident"));
    cJSON_Delete(r);

    /* Muted: kept as a record, no incident, nobody paged. */
    leak(h, t0 + 10 * MIN, "wl-1", "3");
    leak(h, t0 + 20 * MIN, "wl-2", "4");
    assert_int_equal(h_count_prefix(h, "siteward/A/incident/"), 0);
    assert_int_equal(h_count_prefix(h, "siteward/A/escalation/"), 0);
    assert_int_equal(records_with(h, "\"silenced_by\":\"A-silence-1\""), 2);
    /* Another class is not muted. */
    h_send(h, t0 + 30 * MIN, "siteward/A/event/sensor/pm-1",
           "{\"type\":\"power_loss\",\"id\":\"p1\",\"location\":{\"building\":\"3\"}}");
    assert_int_equal(h_count_prefix(h, "siteward/A/incident/"), 1);

    /* The expiry is a deadline of its own; then leaks open incidents again. */
    int64_t next = h_tick(h, t0 + 31 * MIN);
    assert_true(next <= t0 + 2 * HOUR);
    h_tick(h, t0 + 2 * HOUR);
    leak(h, t0 + 2 * HOUR + MIN, "wl-1", "3");
    cJSON *inc = h_last(h, "siteward/A/incident/A-20261120-0002");
    assert_non_null(inc);
    assert_string_equal(h_str(inc, "class"), "water");
    cJSON_Delete(inc);
    /* Ended by the expiry: unsilence now has nothing to end. */
    r = command(h, t0 + 3 * HOUR, "{\"op\":\"unsilence\",\"silence\":\"A-silence-1\"}");
    assert_string_equal(h_str(r, "error"), "illegal_transition");
    s = cJSON_GetObjectItemCaseSensitive(r, "silence");
    assert_string_equal(h_str(s, "state"), "expired");
    assert_int_equal(h_num(s, "muted"), 2);
    cJSON_Delete(r);
}

static void test_device_and_area_silences_and_unsilence(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    cJSON_Delete(command(h, t0,
                         "{\"op\":\"silence\",\"device\":\"sensor/wl-9\",\"for\":\"1h\",\"reason\":"
                         "\"faulty detector, replacement ordered\"}"));
    cJSON_Delete(command(h, t0,
                         "{\"op\":\"silence\",\"area\":{\"building\":\"7\"},\"for\":\"1h\","
                         "\"reason\":\"building 7 fire drill\"}"));
    leak(h, t0 + MIN, "wl-9", "3");     /* the device */
    leak(h, t0 + 2 * MIN, "wl-8", "7"); /* the area */
    assert_int_equal(h_count_prefix(h, "siteward/A/incident/"), 0);
    assert_int_equal(records_with(h, "A-silence-1"), 1);
    assert_int_equal(records_with(h, "A-silence-2"), 1);
    leak(h, t0 + 3 * MIN, "wl-8", "3"); /* neither */
    assert_int_equal(h_count_prefix(h, "siteward/A/incident/"), 1);

    cJSON *r = command(h, t0 + 4 * MIN, "{\"op\":\"unsilence\",\"silence\":\"A-silence-1\"}");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(r, "silence");
    assert_string_equal(h_str(s, "state"), "ended");
    assert_string_equal(h_str(s, "ended_by"), "li.wei");
    cJSON_Delete(r);
    leak(h, t0 + 5 * MIN, "wl-9", "5");
    assert_int_equal(h_count(h, "siteward/A/incident/A-20261120-0002"), 1);
    /* Its expiry deadline went with it: only the area silence's is left. */
    assert_int_equal(deadlines_with(h, "@silence:A-silence-1/"), 0);
    /* Ended, it leaves the active ones events are checked against. */
    assert_false(meta_has(h, "sil/A/A-silence-1"));
    assert_true(meta_has(h, "sild/A/A-silence-1"));
    assert_true(meta_has(h, "sil/A/A-silence-2"));
    assert_int_equal(deadlines_with(h, "@silence:A-silence-2/"), 1);
}

static void test_bad_silences_refused(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    static const struct {
        const char *json, *code;
    } bad[] = {
        {"{\"op\":\"silence\",\"class\":\"water\",\"for\":\"2h\"}", "bad_command"},
        {"{\"op\":\"silence\",\"class\":\"water\",\"for\":\"3d\",\"reason\":\"x\"}", "bad_command"},
        {"{\"op\":\"silence\",\"class\":\"water\",\"reason\":\"x\"}", "bad_command"},
        {"{\"op\":\"silence\",\"class\":\"nope\",\"for\":\"1h\",\"reason\":\"x\"}",
         "unknown_class"},
        {"{\"op\":\"silence\",\"class\":\"water\",\"device\":\"d1\",\"for\":\"1h\",\"reason\":"
         "\"x\"}",
         "bad_command"},
        {"{\"op\":\"silence\",\"device\":\"a/b/c\",\"for\":\"1h\",\"reason\":\"x\"}",
         "bad_command"},
        {"{\"op\":\"silence\",\"area\":{\"tower\":\"1\"},\"for\":\"1h\",\"reason\":\"x\"}",
         "bad_command"},
        {"{\"op\":\"unsilence\",\"silence\":\"A-silence-99\"}", "unknown_silence"},
        {"{\"op\":\"unsilence\"}", "bad_command"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *r = command(h, t0 + (int64_t)i, bad[i].json);
        assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
        assert_string_equal(h_str(r, "error"), bad[i].code);
        cJSON_Delete(r);
    }
    assert_int_equal(h_tick(h, t0 + HOUR), 0); /* no silence, no timer */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_class_silence_mutes_then_expires, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_device_and_area_silences_and_unsilence, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_bad_silences_refused, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
