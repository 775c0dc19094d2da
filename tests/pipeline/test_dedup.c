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

/* Timeline entries of incident `id` whose JSON contains `needle`. */
static int timeline_count(harness *h, const char *id, const char *needle)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    char prefix[160];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "%s/", id);
    MDB_val k = {plen, prefix}, v;
    int n = 0;
    assert_int_equal(sw_store_begin(&h->store, 0, &txn), 0);
    assert_int_equal(mdb_cursor_open(txn, h->store.dbi[SW_DB_TIMELINE], &cur), 0);
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         !r && k.mv_size > plen && !memcmp(k.mv_data, prefix, plen);
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        n += memmem(v.mv_data, v.mv_size, needle, strlen(needle)) != NULL;
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return n;
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
    h_restart(h);
    r = command(h, t0 + 5 * MIN, "li.wei", comment);
    assert_reply(r, "c-1", 1, 1);
    cJSON_Delete(r);
    assert_int_equal(timeline_count(h, FIRE, "\"op\":\"comment\""), 1);
    assert_int_equal(h_count(h, "siteward/A/incident/" FIRE), updates);

    /* The key is the user's: another user's c-1 is another command. */
    r = command(h, t0 + 6 * MIN, "wang.fang", comment);
    assert_reply(r, "c-1", 1, 0);
    cJSON_Delete(r);
    assert_int_equal(timeline_count(h, FIRE, "\"op\":\"comment\""), 2);
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
    assert_int_equal(timeline_count(h, FIRE, "\"op\":\"reopen\""), 1);
    assert_int_equal(timeline_count(h, FIRE, "\"to\":\"open\""), 1);
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
    assert_int_equal(timeline_count(h, FIRE, "\"op\":\"comment\""), 2);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repeated_command_is_applied_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_after_close_is_not_doubled, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_what_is_not_deduplicated, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_silence_command_is_applied_once, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
