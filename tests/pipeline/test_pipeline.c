/*
 * The pipeline end to end in one process: decode, classify and correlate
 * plugins, the engine, the command handlers and a real LMDB store, driven
 * with chosen arrival times.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define T0 "2026-11-20T08:15:03+08:00" /* a Friday */

static const char *SMOKE17 =
    "{\"type\":\"smoke\",\"id\":\"e1\",\"location\":{\"building\":\"3\",\"floor\":\"12\"}}";

static void test_smoke_opens_level1_incident(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);

    h_send(h, t0, "siteward/A/event/sensor/d17", SMOKE17);
    cJSON *inc = h_last(h, "siteward/A/incident/A-20261120-0001");
    assert_non_null(inc);
    assert_string_equal(h_str(inc, "class"), "fire");
    assert_int_equal(h_num(inc, "level"), 1);
    assert_string_equal(h_str(inc, "state"), "open");
    assert_string_equal(h_str(inc, "priority"), "urgent");
    assert_string_equal(h_str(inc, "opened"), T0);
    assert_string_equal(h_str(cJSON_GetObjectItemCaseSensitive(inc, "location"), "building"), "3");
    const cJSON *plan = h_obligation(inc, "plan_activated");
    const cJSON *mgr = h_obligation(inc, "manager_on_site");
    assert_non_null(plan);
    assert_non_null(mgr);
    assert_int_equal(h_ms(h_str(plan, "due")), t0 + 5 * 60000);
    assert_int_equal(h_ms(h_str(mgr, "due")), t0 + 10 * 60000);
    assert_string_equal(h_str(plan, "status"), "pending");
    assert_int_equal(h->pubs[h->npubs - 1].retained, 1);
    cJSON_Delete(inc);
    assert_int_equal(h->engine.stats.accepted, 1);
}

static void test_second_detector_joins_and_duplicate_is_counted(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    const char *topic = "siteward/A/incident/A-20261120-0001";

    h_send(h, t0, "siteward/A/event/sensor/d17", SMOKE17);
    h_send(h, t0 + 20000, "siteward/A/event/sensor/d18",
           "{\"type\":\"heat\",\"id\":\"x9\",\"location\":{\"building\":\"3\",\"floor\":\"12\"}}");
    h_send(h, t0 + 21000, "siteward/A/event/sensor/d18",
           "{\"type\":\"heat\",\"id\":\"x9\",\"location\":{\"building\":\"3\",\"floor\":\"12\"}}");
    assert_int_equal(h_count(h, topic), 2);
    assert_int_equal(h_count_prefix(h, "siteward/A/incident/"), 2);
    cJSON *inc = h_last(h, topic);
    assert_int_equal(h_num(inc, "events"), 2);
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(inc, "sources");
    assert_int_equal(cJSON_GetArraySize(src), 2);
    assert_string_equal(cJSON_GetArrayItem(src, 0)->valuestring, "sensor/d17");
    assert_string_equal(cJSON_GetArrayItem(src, 1)->valuestring, "sensor/d18");
    /* Joining keeps the first alarm's clock. */
    assert_int_equal(h_ms(h_str(h_obligation(inc, "plan_activated"), "due")), t0 + 5 * 60000);
    cJSON_Delete(inc);
    assert_int_equal(h->engine.stats.duplicates, 1);
    assert_int_equal(h->engine.stats.accepted, 2);
}

static void test_other_floor_or_late_event_opens_new_incident(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);

    h_send(h, t0, "siteward/A/event/sensor/d17", SMOKE17);
    h_send(h, t0 + 1000, "siteward/A/event/sensor/d30",
           "{\"type\":\"smoke\",\"location\":{\"building\":\"3\",\"floor\":\"13\"}}");
    /* Past the 30-minute window of the default policy. */
    h_send(h, t0 + 31 * 60000, "siteward/A/event/sensor/d17",
           "{\"type\":\"smoke\",\"id\":\"e2\",\"location\":{\"building\":\"3\",\"floor\":\"12\"}}");
    /* Another site never joins. */
    h_send(h, t0 + 2000, "siteward/B/event/sensor/d17", SMOKE17);
    assert_int_equal(h_count(h, "siteward/A/incident/A-20261120-0001"), 1);
    assert_int_equal(h_count(h, "siteward/A/incident/A-20261120-0002"), 1);
    assert_int_equal(h_count(h, "siteward/A/incident/A-20261120-0003"), 1);
    assert_int_equal(h_count(h, "siteward/B/incident/B-20261120-0001"), 1);
}

static void test_report_reply_and_personal_data(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    const char *report = "{\"report_id\":\"r-1\",\"category\":\"repair\",\"text\":\"Kitchen tap\","
                         "\"location\":{\"building\":\"3\",\"unit\":\"1203\"},"
                         "\"contact\":{\"name\":\"Zhang San\",\"phone\":\"13800138000\"}}";

    h_send(h, t0, "siteward/A/report/resident-7", report);
    cJSON *reply = h_last(h, "siteward/A/reply/resident-7");
    assert_non_null(reply);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok")));
    assert_string_equal(h_str(reply, "report_id"), "r-1");
    const cJSON *inc = cJSON_GetObjectItemCaseSensitive(reply, "incident");
    assert_string_equal(h_str(inc, "id"), "A-20261120-0001");
    assert_string_equal(h_str(inc, "class"), "repair");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(inc, "level")));
    assert_int_equal(h_ms(h_str(h_obligation(inc, "responded"), "due")), t0 + 15 * 60000);
    assert_int_equal(h_ms(h_str(h_obligation(inc, "progress"), "due")), t0 + 24 * 3600000LL);
    /* Friday 08:15 + 3 working days: Monday, Tuesday, Wednesday 08:15. */
    assert_string_equal(h_str(h_obligation(inc, "closed"), "due"), "2026-11-25T08:15:03+08:00");
    cJSON_Delete(reply);

    /* The same report again joins the same incident and says so. */
    h_send(h, t0 + 5000, "siteward/A/report/resident-7", report);
    reply = h_last(h, "siteward/A/reply/resident-7");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "duplicate")));
    assert_string_equal(h_str(cJSON_GetObjectItemCaseSensitive(reply, "incident"), "id"),
                        "A-20261120-0001");
    cJSON_Delete(reply);

    /* The contact is stored, and published nowhere. */
    assert_false(h_any_contains(h, "13800138000"));
    assert_false(h_any_contains(h, "Zhang San"));
    MDB_txn *txn;
    MDB_val v;
    assert_int_equal(sw_store_begin(&h->store, 0, &txn), 0);
    const char *key = "A-20261120-0001/resident-7/r-1";
    assert_int_equal(sw_store_get(&h->store, txn, SW_DB_PERSONAL, key, strlen(key), &v), 0);
    assert_non_null(memmem(v.mv_data, v.mv_size, "13800138000", 11));
    mdb_txn_abort(txn);
}

static void test_working_days_skip_holiday_and_use_makeup_day(void **state)
{
    harness *h = *state;
    const char *repair =
        "{\"category\":\"repair\",\"location\":{\"building\":\"1\",\"unit\":\"%d\"}}";
    char payload[160];

    /* Thu 24 Sep + 3 working days: 25-27 Sep are holidays -> Mon 28, Tue 29, Wed 30. */
    snprintf(payload, sizeof payload, repair, 1);
    h_send(h, h_ms("2026-09-24T10:00:00+08:00"), "siteward/A/report/u1", payload);
    cJSON *r = h_last(h, "siteward/A/reply/u1");
    assert_string_equal(
        h_str(h_obligation(cJSON_GetObjectItemCaseSensitive(r, "incident"), "closed"), "due"),
        "2026-09-30T10:00:00+08:00");
    cJSON_Delete(r);

    /* Fri 9 Oct + 3: Sat 10 Oct is a make-up working day -> Sat 10, Mon 12, Tue 13. */
    snprintf(payload, sizeof payload, repair, 2);
    h_send(h, h_ms("2026-10-09T10:00:00+08:00"), "siteward/A/report/u2", payload);
    r = h_last(h, "siteward/A/reply/u2");
    assert_string_equal(
        h_str(h_obligation(cJSON_GetObjectItemCaseSensitive(r, "incident"), "closed"), "due"),
        "2026-10-13T10:00:00+08:00");
    cJSON_Delete(r);
    assert_int_equal(h->engine.stats.calendar_uncovered, 0);
}

static cJSON *command(harness *h, int64_t ms, const char *user, const char *json)
{
    char topic[128];
    snprintf(topic, sizeof topic, "siteward/A/cmd/%s", user);
    h_send(h, ms, topic, json);
    snprintf(topic, sizeof topic, "siteward/A/reply/%s", user);
    return h_last(h, topic);
}

static void test_commands_move_states_and_meet_obligations(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    cJSON *r;

    h_send(h, t0, "siteward/A/event/sensor/d17", SMOKE17);
    r = command(h, t0 + 60000, "li.wei",
                "{\"op\":\"ack\",\"incident\":\"A-20261120-0001\",\"request_id\":\"c-1\"}");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    assert_string_equal(h_str(r, "request_id"), "c-1");
    assert_string_equal(h_str(cJSON_GetObjectItemCaseSensitive(r, "incident"), "state"),
                        "acknowledged");
    cJSON_Delete(r);

    r = command(
        h, t0 + 4 * 60000, "li.wei",
        "{\"op\":\"plan_activated\",\"incident\":\"A-20261120-0001\",\"request_id\":\"c-2\"}");
    const cJSON *plan =
        h_obligation(cJSON_GetObjectItemCaseSensitive(r, "incident"), "plan_activated");
    assert_string_equal(h_str(plan, "status"), "met");
    assert_string_equal(h_str(plan, "by"), "li.wei");
    assert_null(cJSON_GetObjectItemCaseSensitive(plan, "late_by_s"));
    cJSON_Delete(r);

    /* Manager arrives 2 minutes late: met, and late_by_s says by how much. */
    r = command(h, t0 + 12 * 60000, "wang.fang",
                "{\"op\":\"on_site\",\"incident\":\"A-20261120-0001\",\"request_id\":\"c-3\"}");
    const cJSON *inc = cJSON_GetObjectItemCaseSensitive(r, "incident");
    assert_string_equal(h_str(inc, "state"), "on_site");
    const cJSON *mgr = h_obligation(inc, "manager_on_site");
    assert_string_equal(h_str(mgr, "status"), "met");
    assert_int_equal(h_num(mgr, "late_by_s"), 120);
    cJSON_Delete(r);

    r = command(h, t0 + 13 * 60000, "li.wei",
                "{\"op\":\"close\",\"incident\":\"A-20261120-0001\",\"request_id\":\"c-4\"}");
    inc = cJSON_GetObjectItemCaseSensitive(r, "incident");
    assert_string_equal(h_str(inc, "state"), "closed");
    const cJSON *review = cJSON_GetObjectItemCaseSensitive(inc, "review");
    assert_string_equal(h_str(review, "status"), "pending");
    assert_int_equal(h_ms(h_str(review, "due")), t0 + 13 * 60000 + 24 * 3600000LL);
    cJSON_Delete(r);

    r = command(h, t0 + 14 * 60000, "li.wei",
                "{\"op\":\"close\",\"incident\":\"A-20261120-0001\",\"request_id\":\"c-5\"}");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    assert_string_equal(h_str(r, "error"), "illegal_transition");
    cJSON_Delete(r);

    /* The open index no longer lists it; one deadline (the review) remains. */
    MDB_txn *txn;
    assert_int_equal(sw_store_begin(&h->store, 0, &txn), 0);
    assert_int_equal(sw_store_count(&h->store, txn, SW_DB_OPEN), 0);
    assert_int_equal(sw_store_count(&h->store, txn, SW_DB_DEADLINES), 1);
    assert_true(sw_store_count(&h->store, txn, SW_DB_TIMELINE) >= 8);
    mdb_txn_abort(txn);
}

static void test_command_errors(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    cJSON *r;

    h_send(h, t0, "siteward/A/event/sensor/d17", SMOKE17);
    r = command(h, t0, "u",
                "{\"op\":\"ack\",\"incident\":\"A-20261120-0099\",\"request_id\":\"1\"}");
    assert_string_equal(h_str(r, "error"), "unknown_incident");
    cJSON_Delete(r);
    r = command(h, t0, "u",
                "{\"op\":\"dance\",\"incident\":\"A-20261120-0001\",\"request_id\":\"2\"}");
    assert_string_equal(h_str(r, "error"), "unknown_op");
    cJSON_Delete(r);
    r = command(h, t0, "u", "{\"op\":\"ack\",\"request_id\":\"3\"}");
    assert_string_equal(h_str(r, "error"), "bad_command");
    cJSON_Delete(r);
    r = command(h, t0, "u",
                "{\"op\":\"satisfaction\",\"incident\":\"A-20261120-0001\",\"request_id\":\"4\"}");
    assert_string_equal(h_str(r, "error"), "illegal_transition");
    cJSON_Delete(r);
    r = command(h, t0, "u", "{\"op\":\"reclassify\",\"incident\":\"A-20261120-0001\"}");
    assert_string_equal(h_str(r, "error"), "bad_command");
    cJSON_Delete(r);
    r = command(h, t0, "u",
                "{\"op\":\"reclassify\",\"incident\":\"A-20261120-0001\",\"class\":\"unicorn\"}");
    assert_string_equal(h_str(r, "error"), "unknown_class");
    cJSON_Delete(r);
    /* An incident of another site is unknown here. */
    h_send(h, t0, "siteward/B/cmd/u", "{\"op\":\"ack\",\"incident\":\"A-20261120-0001\"}");
    r = h_last(h, "siteward/B/reply/u");
    assert_string_equal(h_str(r, "error"), "unknown_incident");
    cJSON_Delete(r);
    assert_int_equal(h->engine.stats.rejected, 7);
}

static void test_reclassify_keeps_elapsed_time(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);

    h_send(h, t0, "siteward/A/event/sensor/w1",
           "{\"type\":\"pipe_burst\",\"location\":{\"building\":\"2\",\"floor\":\"1\"}}");
    cJSON *r =
        command(h, t0 + 3 * 60000, "li.wei",
                "{\"op\":\"reclassify\",\"incident\":\"A-20261120-0001\",\"class\":\"fire\"}");
    const cJSON *inc = cJSON_GetObjectItemCaseSensitive(r, "incident");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    assert_int_equal(h_num(inc, "level"), 1);
    assert_int_equal(h_ms(h_str(h_obligation(inc, "plan_activated"), "due")), t0 + 5 * 60000);
    assert_string_equal(h_str(h_obligation(inc, "site_plan"), "status"), "cancelled");
    cJSON_Delete(r);
}

static void test_event_meets_obligation(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);

    h_send(h, t0, "siteward/A/event/gate/g1", "{\"type\":\"visitor_arrived\",\"id\":\"v1\"}");
    h_send(h, t0 + 90000, "siteward/A/event/gate/g1",
           "{\"type\":\"visitor_verified\",\"id\":\"v2\"}");
    cJSON *inc = h_last(h, "siteward/A/incident/A-20261120-0001");
    assert_string_equal(h_str(inc, "class"), "visitor");
    assert_int_equal(h_num(inc, "events"), 2);
    assert_string_equal(h_str(h_obligation(inc, "verified"), "status"), "met");
    assert_string_equal(h_str(h_obligation(inc, "responded"), "status"), "pending");
    cJSON_Delete(inc);
}

static void test_telemetry_is_recorded_not_an_incident(void **state)
{
    harness *h = *state;
    h_send(h, h_ms(T0), "siteward/A/event/sensor/p1",
           "{\"type\":\"pump_pressure\",\"value\":0.31}");
    assert_int_equal(h_count_prefix(h, "siteward/A/incident/"), 0);
    MDB_txn *txn;
    assert_int_equal(sw_store_begin(&h->store, 0, &txn), 0);
    assert_int_equal(sw_store_count(&h->store, txn, SW_DB_RECORDS), 1);
    mdb_txn_abort(txn);
    assert_int_equal(h->engine.stats.accepted, 1);
}

static void expect_deadletter(harness *h, const char *topic, const char *payload,
                              const char *dl_topic, const char *code)
{
    int before = h_count(h, dl_topic);
    h_send(h, h_ms(T0), topic, payload);
    assert_int_equal(h_count(h, dl_topic), before + 1);
    cJSON *dl = h_last(h, dl_topic);
    assert_string_equal(h_str(dl, "error"), code);
    assert_string_equal(h_str(dl, "topic"), topic);
    assert_non_null(h_str(dl, "message"));
    cJSON_Delete(dl);
}

static void test_bad_input_is_dead_lettered(void **state)
{
    harness *h = *state;
    const char *dl = "siteward/A/deadletter";
    char *big = malloc(70 * 1024);

    expect_deadletter(h, "siteward/A/event/sensor/d1", "{not json", dl, "bad_json");
    expect_deadletter(h, "siteward/A/event/sensor/d1", "[1,2]", dl, "bad_json");
    expect_deadletter(h, "siteward/A/event/sensor/d1", "{\"id\":\"x\"}", dl, "bad_field");
    expect_deadletter(h, "siteward/A/event/sensor/d1", "{\"type\":5}", dl, "bad_field");
    expect_deadletter(h, "siteward/A/event/sensor/d1", "{\"type\":\"smoke\",\"ts\":\"yesterday\"}",
                      dl, "bad_field");
    expect_deadletter(h, "siteward/A/event/sensor/d1", "{\"type\":\"smoke\",\"state\":\"on\"}", dl,
                      "bad_field");
    expect_deadletter(h, "siteward/A/event/sensor/d1",
                      "{\"type\":\"smoke\",\"location\":{\"building\":\"a/b\"}}", dl, "bad_field");
    expect_deadletter(h, "siteward/A/event/sensor/d1", "{\"type\":\"unicorn\"}", dl,
                      "unknown_type");
    expect_deadletter(h, "siteward/A/event/sensor/d1", "{\"type\":\"smoke\",\"id\":\"a b\"}", dl,
                      "bad_field");
    expect_deadletter(h, "siteward/A/event/radar/d1", "{\"type\":\"smoke\"}", dl, "bad_source");
    expect_deadletter(h, "siteward/A/event/sensor/d#1", "{\"type\":\"smoke\"}", dl, "bad_id");
    expect_deadletter(h, "siteward/A/alarm/x", "{\"type\":\"smoke\"}", dl, "bad_topic");
    expect_deadletter(h, "siteward/_x/event/sensor/d1", "{\"type\":\"smoke\"}",
                      "siteward/_unknown/deadletter", "bad_site");
    expect_deadletter(h, "siteward/A/report/u1", "{\"text\":\"no category\"}", dl, "bad_field");

    memset(big, ' ', 70 * 1024 - 1);
    big[0] = '{';
    big[70 * 1024 - 2] = '}';
    big[70 * 1024 - 1] = 0;
    expect_deadletter(h, "siteward/A/event/sensor/d1", big, dl, "too_large");
    free(big);

    /* A data object over 4 KiB. */
    char *data = malloc(6000);
    int n = snprintf(data, 6000, "{\"type\":\"smoke\",\"data\":{\"blob\":\"");
    memset(data + n, 'x', 5000);
    strcpy(data + n + 5000, "\"}}");
    expect_deadletter(h, "siteward/A/event/sensor/d1", data, dl, "bad_field");
    free(data);

    assert_int_equal(h->engine.stats.rejected, 16);
    assert_int_equal(h_count_prefix(h, "siteward/A/incident/"), 0);
    /* Nothing else was harmed: a good event still opens its incident. */
    h_send(h, h_ms(T0), "siteward/A/event/sensor/d17", SMOKE17);
    assert_int_equal(h_count_prefix(h, "siteward/A/incident/"), 1);
}

static void test_bad_report_never_leaks_contact(void **state)
{
    harness *h = *state;
    /* Rejected for the topic, before any parsing. */
    h_send(h, h_ms(T0), "siteward/A/report/bad user",
           "{\"category\":\"repair\",\"contact\":{\"phone\":\"13900000000\"}}");
    h_send(h, h_ms(T0), "siteward/_x/report/u1",
           "{\"category\":\"repair\",\"contact\":{\"phone\":\"13900000000\"}}");
    h_send(h, h_ms(T0), "siteward/A/report/bad user", "{\"contact\":{\"phone\":\"13900000000\"");
    assert_int_equal(h_count(h, "siteward/A/deadletter"), 2);
    assert_int_equal(h_count(h, "siteward/_unknown/deadletter"), 1);
    h_send(h, h_ms(T0), "siteward/A/report/u1",
           "{\"category\":\"gossip\",\"contact\":{\"phone\":\"13900000000\"}}");
    h_send(h, h_ms(T0), "siteward/A/report/u1", "{\"contact\":{\"phone\":\"13900000000\"");
    assert_int_equal(h_count(h, "siteward/A/deadletter"), 4);
    assert_int_equal(h_count(h, "siteward/A/reply/u1"), 2);
    assert_false(h_any_contains(h, "13900000000"));
}

static void test_clock_scale_shortens_limits(void **state)
{
    (void)state;
    harness *h = h_new(NULL, 60.0);
    int64_t t0 = h_ms(T0);
    h_send(h, t0, "siteward/A/event/sensor/d17", SMOKE17);
    cJSON *inc = h_last(h, "siteward/A/incident/A-20261120-0001");
    assert_int_equal(h_ms(h_str(h_obligation(inc, "plan_activated"), "due")), t0 + 5000);
    assert_int_equal(h_ms(h_str(h_obligation(inc, "manager_on_site"), "due")), t0 + 10000);
    cJSON_Delete(inc);
    h_free(h);
}

static void test_replayed_batch_is_idempotent(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    /* The same delivery applied twice, as after a crash between storing
     * and acknowledging: the event id makes the second a duplicate. */
    h_send(h, t0, "siteward/A/event/sensor/d17", SMOKE17);
    h_send(h, t0, "siteward/A/event/sensor/d17", SMOKE17);
    cJSON *inc = h_last(h, "siteward/A/incident/A-20261120-0001");
    assert_int_equal(h_num(inc, "events"), 1);
    cJSON_Delete(inc);
    assert_int_equal(h->engine.applied_seq, 2);
}

static size_t owed(harness *h)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k = {4, "pub/"}, v;
    size_t n = 0;
    assert_int_equal(sw_store_begin(&h->store, 0, &txn), 0);
    mdb_cursor_open(txn, h->store.dbi[SW_DB_META], &cur);
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         !rc && k.mv_size > 4 && !memcmp(k.mv_data, "pub/", 4);
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        n++;
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return n;
}

static void test_retained_state_owed_until_published(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    h_send(h, t0, "siteward/A/event/sensor/d17", SMOKE17);
    h_send(h, t0, "siteward/B/event/sensor/d17", SMOKE17);
    assert_int_equal(owed(h), 2);
    /* After a crash, the owed states are published again, retained. */
    int before = h->npubs;
    h_restart(h);
    assert_int_equal(h->npubs, before + 2);
    assert_int_equal(h->pubs[before].retained, 1);
    cJSON *inc = h_last(h, "siteward/B/incident/B-20261120-0001");
    assert_string_equal(h_str(inc, "class"), "fire");
    cJSON_Delete(inc);
    /* Once the MQTT side has acknowledged everything, nothing is owed. */
    assert_int_equal(sw_engine_published(&h->engine), 0);
    assert_int_equal(owed(h), 0);
    before = h->npubs;
    h_restart(h);
    assert_int_equal(h->npubs, before);
}

static void test_full_map_grows_and_nothing_is_lost(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    char payload[256];

    /* Start from a map of 1 MiB: the batches below need several times that. */
    h->store.mapsize = (size_t)1 << 20;
    assert_int_equal(mdb_env_set_mapsize(h->store.env, h->store.mapsize), 0);
    for (int i = 0; i < 3000; i++) {
        snprintf(payload, sizeof payload,
                 "{\"type\":\"water_leak\",\"id\":\"g%d\",\"location\":{\"building\":\"%d\","
                 "\"floor\":\"1\"}}",
                 i, i);
        h_send(h, t0 + i, "siteward/A/event/sensor/d1", payload);
    }
    assert_true(h->store.mapsize > ((size_t)1 << 20));
    MDB_txn *txn;
    assert_int_equal(sw_store_begin(&h->store, 0, &txn), 0);
    assert_int_equal(sw_store_count(&h->store, txn, SW_DB_INCIDENTS), 3000);
    assert_int_equal(sw_store_count(&h->store, txn, SW_DB_DEDUP), 3000);
    mdb_txn_abort(txn);
    assert_int_equal(h->engine.applied_seq, 3000);
}

static void test_policy_alternative_profile(void **state)
{
    (void)state;
    harness *h = h_new(SW_SOURCE_DIR "/config/policy/customer-handbook.json", 1.0);
    int64_t t0 = h_ms(T0);
    h_send(h, t0, "siteward/A/report/u1", "{\"category\":\"complaint\",\"text\":\"noise\"}");
    cJSON *r = h_last(h, "siteward/A/reply/u1");
    const cJSON *inc = cJSON_GetObjectItemCaseSensitive(r, "incident");
    assert_int_equal(h_ms(h_str(h_obligation(inc, "answered"), "due")), t0 + 24 * 3600000LL);
    assert_int_equal(h_ms(h_str(h_obligation(inc, "solved"), "due")), t0 + 48 * 3600000LL);
    cJSON_Delete(r);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_smoke_opens_level1_incident, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_second_detector_joins_and_duplicate_is_counted,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_other_floor_or_late_event_opens_new_incident, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_report_reply_and_personal_data, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_working_days_skip_holiday_and_use_makeup_day, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_commands_move_states_and_meet_obligations, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_command_errors, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_reclassify_keeps_elapsed_time, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_event_meets_obligation, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_telemetry_is_recorded_not_an_incident, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_is_dead_lettered, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_bad_report_never_leaks_contact, h_setup, h_teardown),
        cmocka_unit_test(test_clock_scale_shortens_limits),
        cmocka_unit_test_setup_teardown(test_replayed_batch_is_idempotent, h_setup, h_teardown),
        cmocka_unit_test(test_policy_alternative_profile),
        cmocka_unit_test_setup_teardown(test_full_map_grows_and_nothing_is_lost, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_retained_state_owed_until_published, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
