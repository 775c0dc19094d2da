/*
 * Commands are applied once: a command is known again by its user and
 * request_id (per site), so a broker redelivery or a resend is answered
 * again, marked "duplicate", and changes nothing.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "batch.h"
#include "harness.h"

#define T0   "2026-11-20T08:15:03+08:00"
#define MIN  60000
#define FIRE "A-20261120-0001"

static cJSON *command(harness *h, int64_t ms, const char *user, const char *json)
{
    char topic[128];
    snprintf(topic, sizeof topic, "siteward/A/cmd/%s", user);
    h_send(h, ms, topic, json);
    snprintf(topic, sizeof topic, "siteward/A/reply/%s", user);
    return h_last(h, topic);
}

static void assert_reply(cJSON *r, const char *request_id, int ok, int duplicate)
{
    assert_non_null(r);
    assert_string_equal(h_str(r, "request_id"), request_id);
    assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")), ok);
    assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "duplicate")), duplicate);
}

static void fire(harness *h, int64_t t)
{
    h_send(h, t, "siteward/A/event/sensor/d17",
           "{\"type\":\"smoke\",\"id\":\"e1\",\"location\":{\"building\":\"3\",\"floor\":\"12\"}}");
}

static void test_repeated_command_is_applied_once(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    static const char *const comment =
        "{\"op\":\"comment\",\"incident\":\"" FIRE "\",\"request_id\":\"c-1\",\"note\":\"smell\"}";
    cJSON *r;

    fire(h, t0);
    r = command(h, t0 + MIN, "li.wei", comment);
    assert_reply(r, "c-1", 1, 0);
    cJSON_Delete(r);
    int updates = h_count(h, "siteward/A/incident/" FIRE);

    /* Redelivered a second later, and resent after a restart. */
    r = command(h, t0 + MIN + 1000, "li.wei", comment);
    assert_reply(r, "c-1", 1, 1);
    assert_string_equal(h_str(cJSON_GetObjectItemCaseSensitive(r, "incident"), "id"), FIRE);
    cJSON_Delete(r);
    assert_int_equal(h_count(h, "siteward/A/incident/" FIRE), updates);
    /* (A restart offers the retained state again: counted from after it.) */
    h_restart(h);
    updates = h_count(h, "siteward/A/incident/" FIRE);
    r = command(h, t0 + 5 * MIN, "li.wei", comment);
    assert_reply(r, "c-1", 1, 1);
    cJSON_Delete(r);
    assert_int_equal(h_timeline_count(h, FIRE, "\"op\":\"comment\""), 1);
    assert_int_equal(h_count(h, "siteward/A/incident/" FIRE), updates);

    /* The key is the user's: another user's c-1 is another command. */
    r = command(h, t0 + 6 * MIN, "wang.fang", comment);
    assert_reply(r, "c-1", 1, 0);
    cJSON_Delete(r);
    assert_int_equal(h_timeline_count(h, FIRE, "\"op\":\"comment\""), 2);
}

static void test_reopen_after_close_is_not_doubled(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    static const char *const reopen =
        "{\"op\":\"reopen\",\"incident\":\"" FIRE "\",\"request_id\":\"c-3\"}";
    cJSON *r;

    fire(h, t0);
    cJSON_Delete(command(h, t0 + MIN, "li.wei",
                         "{\"op\":\"close\",\"incident\":\"" FIRE "\",\"request_id\":\"c-2\"}"));
    r = command(h, t0 + 2 * MIN, "li.wei", reopen);
    assert_reply(r, "c-3", 1, 0);
    cJSON_Delete(r);
    r = command(h, t0 + 3 * MIN, "li.wei",
                "{\"op\":\"close\",\"incident\":\"" FIRE "\",\"request_id\":\"c-4\"}");
    assert_reply(r, "c-4", 1, 0);
    cJSON_Delete(r);

    /* The old reopen again: answered with the incident as it is now. */
    r = command(h, t0 + 4 * MIN, "li.wei", reopen);
    assert_reply(r, "c-3", 1, 1);
    assert_string_equal(h_str(cJSON_GetObjectItemCaseSensitive(r, "incident"), "state"), "closed");
    cJSON_Delete(r);
    assert_int_equal(h_timeline_count(h, FIRE, "\"op\":\"reopen\""), 1);
    assert_int_equal(h_timeline_count(h, FIRE, "\"to\":\"open\""), 1);
    assert_int_equal(h->engine.stats.duplicates, 1);
}

/* Documented limits: without request_id a command cannot be recognised;
 * a rejected command changed nothing and is not remembered. */
static void test_what_is_not_deduplicated(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    static const char *const bare = "{\"op\":\"comment\",\"incident\":\"" FIRE "\",\"note\":\"x\"}";
    static const char *const unknown =
        "{\"op\":\"ack\",\"incident\":\"A-20261120-0099\",\"request_id\":\"c-9\"}";
    cJSON *r;

    fire(h, t0);
    cJSON_Delete(command(h, t0 + MIN, "li.wei", bare));
    cJSON_Delete(command(h, t0 + MIN, "li.wei", bare));
    assert_int_equal(h_timeline_count(h, FIRE, "\"op\":\"comment\""), 2);
    for (int i = 0; i < 2; i++) {
        r = command(h, t0 + 2 * MIN, "li.wei", unknown);
        assert_reply(r, "c-9", 0, 0);
        assert_string_equal(h_str(r, "error"), "unknown_incident");
        cJSON_Delete(r);
    }
    assert_int_equal(h->engine.stats.duplicates, 0);
}

static void test_silence_command_is_applied_once(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    static const char *const silence =
        "{\"op\":\"silence\",\"class\":\"water\",\"for\":\"2h\",\"reason\":\"pipe work\","
        "\"request_id\":\"s-1\"}";
    cJSON *r;

    r = command(h, t0, "li.wei", silence);
    assert_reply(r, "s-1", 1, 0);
    assert_string_equal(h_str(cJSON_GetObjectItemCaseSensitive(r, "silence"), "id"), "A-silence-1");
    cJSON_Delete(r);
    r = command(h, t0 + 1000, "li.wei", silence);
    assert_reply(r, "s-1", 1, 1);
    cJSON_Delete(r);
    /* No second silence was made: the next one is number 2. */
    r = command(h, t0 + 2000, "li.wei",
                "{\"op\":\"silence\",\"class\":\"water\",\"for\":\"1h\",\"reason\":\"more\","
                "\"request_id\":\"s-2\"}");
    assert_reply(r, "s-2", 1, 0);
    assert_string_equal(h_str(cJSON_GetObjectItemCaseSensitive(r, "silence"), "id"), "A-silence-2");
    cJSON_Delete(r);
}

static int has_key(harness *h, enum sw_db db, const char *key)
{
    MDB_txn *txn;
    MDB_val v;
    assert_int_equal(sw_store_begin(&h->store, 0, &txn), 0);
    int rc = sw_store_get(&h->store, txn, db, key, strlen(key), &v);
    mdb_txn_abort(txn);
    assert_true(rc == 0 || rc == SW_ENOENT);
    return rc == 0;
}

static void purge(harness *h, int64_t now)
{
    int purged;
    for (int i = 0; i < 4; i++)
        assert_int_equal(sw_engine_purge(&h->engine, now, 100, &purged), 0);
}

/* Default policy: retention.dedup 30d, keep 365d. */
static void test_keys_outlive_the_window_only_with_their_incident(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0), day = 24 * 60 * MIN;
    static const char *const comment =
        "{\"op\":\"comment\",\"incident\":\"" FIRE "\",\"request_id\":\"c-1\",\"note\":\"smell\"}";
    cJSON *r;

    h_send(h, t0, "siteward/A/report/u1", "{\"report_id\":\"r-1\",\"category\":\"repair\"}");
    cJSON_Delete(command(h, t0 + MIN, "li.wei", comment));
    h_send(h, t0, "siteward/A/event/sensor/p1",
           "{\"type\":\"pump_pressure\",\"id\":\"p-1\",\"value\":0.5}");
    purge(h, t0 + 29 * day);
    assert_true(has_key(h, SW_DB_DEDUP, "E/A/sensor/p1/p-1"));

    /* Past the window: the event's key goes; the report's and the command's
     * stay while their incident is kept. */
    purge(h, t0 + 31 * day);
    assert_false(has_key(h, SW_DB_DEDUP, "E/A/sensor/p1/p-1"));
    assert_true(has_key(h, SW_DB_DEDUP, "R/A/u1/r-1"));
    assert_true(has_key(h, SW_DB_DEDUP, "C/A/li.wei/c-1"));
    r = command(h, t0 + 31 * day, "li.wei", comment);
    assert_reply(r, "c-1", 1, 1);
    cJSON_Delete(r);
    assert_int_equal(h_timeline_count(h, FIRE, "\"op\":\"comment\""), 1);

    /* Closed and purged a year later: its keys go with it. */
    cJSON_Delete(command(h, t0 + 32 * day, "li.wei",
                         "{\"op\":\"close\",\"incident\":\"" FIRE "\",\"request_id\":\"c-2\"}"));
    purge(h, t0 + 32 * day + 366 * day);
    assert_false(has_key(h, SW_DB_INCIDENTS, FIRE));
    assert_int_equal(h_entries(h, SW_DB_DEDUP), 0);
}

/* A retransmission later than the dedup window, with its own old time, is
 * kept as a stale record: it cannot open or join anything again. */
static void test_stale_retransmission_changes_nothing(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0), day = 24 * 60 * MIN;
    static const char *const smoke = "{\"type\":\"smoke\",\"id\":\"e1\",\"ts\":\"" T0
                                     "\",\"location\":{\"building\":\"3\",\"floor\":\"12\"}}";

    h_send(h, t0, "siteward/A/event/sensor/d17", smoke);
    cJSON_Delete(command(h, t0 + MIN, "li.wei",
                         "{\"op\":\"close\",\"incident\":\"" FIRE "\",\"request_id\":\"c-1\"}"));
    purge(h, t0 + 31 * day);
    assert_false(has_key(h, SW_DB_DEDUP, "E/A/sensor/d17/e1"));
    int published = h_count_prefix(h, "siteward/A/");

    h_send(h, t0 + 31 * day, "siteward/A/event/sensor/d17", smoke);
    assert_int_equal(h_count_prefix(h, "siteward/A/"), published);
    assert_int_equal(h_entries(h, SW_DB_INCIDENTS), 1);
    assert_int_equal(h_entries(h, SW_DB_RECORDS), 1);
    assert_true(has_key(h, SW_DB_DEDUP, "E/A/sensor/d17/e1"));
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    assert_int_equal(sw_store_begin(&h->store, 0, &txn), 0);
    assert_int_equal(mdb_cursor_open(txn, h->store.dbi[SW_DB_RECORDS], &cur), 0);
    assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
    assert_non_null(memmem(v.mv_data, v.mv_size, "\"stale\":true", 12));
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
}

/* Once retention has deleted a past day's counter, a number given out on
 * that day again skips those still taken. */
static void test_purged_day_counter_never_reuses_a_number(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0), day = 24 * 60 * MIN;
    char id[SW_ID_MAX + 1];
    sw_batch b;

    h_send(h, t0, "siteward/A/report/u1", "{\"report_id\":\"r-1\",\"category\":\"repair\"}");
    h_send(h, t0, "siteward/A/report/u2", "{\"report_id\":\"r-2\",\"category\":\"repair\"}");
    assert_true(has_key(h, SW_DB_META, "seq/A/20261120"));
    purge(h, t0 + 2 * day);
    assert_true(has_key(h, SW_DB_META, "seq/A/20261120"));
    purge(h, t0 + 3 * day);
    assert_false(has_key(h, SW_DB_META, "seq/A/20261120"));

    assert_int_equal(sw_batch_begin(&b, &h->engine), 0);
    assert_int_equal(sw_batch_new_id(&b, "A", t0, 8 * 3600, id, sizeof id), 0);
    assert_string_equal(id, "A-20261120-0003");
    sw_batch_end(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repeated_command_is_applied_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_after_close_is_not_doubled, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_what_is_not_deduplicated, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_silence_command_is_applied_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_keys_outlive_the_window_only_with_their_incident,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_stale_retransmission_changes_nothing, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_purged_day_counter_never_reuses_a_number, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
