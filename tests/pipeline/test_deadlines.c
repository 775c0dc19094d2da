/*
 * Deadlines and escalation with an injected clock: missed obligations,
 * escalation chains and their repeats, notices at open, quiet hours, the
 * review, late firing after a restart, and the all-clear.
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

#define T0  "2026-11-20T08:15:03+08:00" /* a Friday morning */
#define INC "A-20261120-0001"
#define MIN 60000LL

static void smoke(harness *h, int64_t t)
{
    h_send(h, t, "siteward/A/event/sensor/d17",
           "{\"type\":\"smoke\",\"id\":\"e1\",\"location\":{\"building\":\"3\",\"floor\":\"12\"}}");
}

static cJSON *incident(harness *h)
{
    return h_last(h, "siteward/A/incident/" INC);
}

static void cmd(harness *h, int64_t t, const char *json)
{
    h_send(h, t, "siteward/A/cmd/li.wei", json);
}

static void test_level1_notifies_manager_at_once(void **state)
{
    harness *h = *state;
    smoke(h, h_ms(T0));
    cJSON *e = h_last(h, "siteward/A/escalation/manager");
    assert_non_null(e);
    assert_string_equal(h_str(e, "incident"), INC);
    assert_int_equal(h_num(e, "step"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(e, "obligation")));
    cJSON_Delete(e);
    assert_int_equal(h_count(h, "siteward/A/escalation/control_room"), 1);
    assert_int_equal(h->engine.stats.escalations, 2);
}

static void test_missed_obligation_escalates_along_chain(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    smoke(h, t0);

    /* The next deadline is plan_activated, 5 minutes after the alarm. */
    assert_int_equal(h_tick(h, t0 + 4 * MIN), t0 + 5 * MIN);
    assert_int_equal(h_count(h, "siteward/A/escalation/supervisor"), 0);

    /* At the due time: missed, and step 1 of the emergency chain (supervisor). */
    int64_t next = h_tick(h, t0 + 5 * MIN);
    cJSON *e = h_last(h, "siteward/A/escalation/supervisor");
    assert_non_null(e);
    assert_string_equal(h_str(e, "obligation"), "plan_activated");
    assert_int_equal(h_num(e, "step"), 1);
    assert_int_equal(h_num(e, "overdue_s"), 0);
    assert_int_equal(h_num(e, "level"), 1);
    assert_non_null(strstr(h_str(e, "summary"), "emergency plan not activated"));
    assert_int_equal(h_ms(h_str(e, "due")), t0 + 5 * MIN);
    cJSON_Delete(e);
    cJSON *inc = incident(h);
    assert_string_equal(h_str(h_obligation(inc, "plan_activated"), "status"), "missed");
    assert_int_equal(h_num(cJSON_GetObjectItemCaseSensitive(inc, "escalation"), "level"), 1);
    assert_string_equal(h_str(cJSON_GetObjectItemCaseSensitive(inc, "escalation"), "role"),
                        "supervisor");
    cJSON_Delete(inc);
    /* Step 2 (manager) is due 2 minutes after the due time. */
    assert_int_equal(next, t0 + 7 * MIN);
    h_tick(h, t0 + 7 * MIN);
    e = h_last(h, "siteward/A/escalation/manager");
    assert_int_equal(h_num(e, "step"), 2);
    assert_int_equal(h_num(e, "overdue_s"), 120);
    cJSON_Delete(e);

    /* Once met, it escalates no more. */
    cmd(h, t0 + 8 * MIN, "{\"op\":\"plan_activated\",\"incident\":\"" INC "\"}");
    inc = incident(h);
    const cJSON *ob = h_obligation(inc, "plan_activated");
    assert_string_equal(h_str(ob, "status"), "met");
    assert_int_equal(h_num(ob, "late_by_s"), 180);
    cJSON_Delete(inc);
    int before = h_count_prefix(h, "siteward/A/escalation/");
    /* manager_on_site (10 min) is still pending and escalates on its own. */
    assert_int_equal(h_tick(h, t0 + 9 * MIN), t0 + 10 * MIN);
    h_tick(h, t0 + 60 * MIN);
    e = h_last(h, "siteward/A/escalation/supervisor");
    assert_string_equal(h_str(e, "obligation"), "manager_on_site");
    cJSON_Delete(e);
    assert_true(h_count_prefix(h, "siteward/A/escalation/") > before);
    /* ...and nothing more for plan_activated. */
    for (int i = 0; i < h->npubs; i++)
        if (!strncmp(h->pubs[i].topic, "siteward/A/escalation/", 22)) {
            cJSON *x = cJSON_Parse(h->pubs[i].payload);
            if (h_num(x, "step") > 2)
                assert_string_not_equal(h_str(x, "obligation"), "plan_activated");
            cJSON_Delete(x);
        }
}

static void test_last_step_repeats_until_met(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    smoke(h, t0);
    cmd(h, t0, "{\"op\":\"plan_activated\",\"incident\":\"" INC "\"}");
    /* manager_on_site due at +10; chain: +0 supervisor, +2 manager, +10
     * task force, then task force every 5 minutes. */
    int64_t t = t0;
    int64_t next = h_tick(h, t);
    int fired = 0;
    while (next && next <= t0 + 40 * MIN) {
        t = next;
        next = h_tick(h, t);
        fired++;
    }
    /* +10, +12, +20, then +25 +30 +35 +40 (up to +40 minutes). */
    assert_int_equal(fired, 7);
    assert_int_equal(h_count(h, "siteward/A/escalation/task_force"), 5);
    cJSON *e = h_last(h, "siteward/A/escalation/task_force");
    assert_int_equal(h_num(e, "step"), 7);
    assert_int_equal(h_num(e, "overdue_s"), 30 * 60);
    cJSON_Delete(e);
    cmd(h, t0 + 41 * MIN, "{\"op\":\"on_site\",\"incident\":\"" INC "\"}");
    assert_int_equal(h_tick(h, t0 + 41 * MIN), 0);
}

static void test_overdue_after_restart_fires_at_once_marked_late(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    smoke(h, t0);
    h_restart(h);
    /* Down for an hour: both obligations fire at once, saying how late. */
    h_tick(h, t0 + 65 * MIN);
    cJSON *e = h_last(h, "siteward/A/escalation/supervisor");
    assert_non_null(e);
    assert_true(h_num(e, "overdue_s") >= 55 * 60);
    cJSON_Delete(e);
    cJSON *inc = incident(h);
    assert_string_equal(h_str(h_obligation(inc, "plan_activated"), "status"), "missed");
    assert_string_equal(h_str(h_obligation(inc, "manager_on_site"), "status"), "missed");
    cJSON_Delete(inc);
}

static void test_review_due_overdue_and_submitted(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    smoke(h, t0);
    cmd(h, t0 + 1 * MIN, "{\"op\":\"plan_activated\",\"incident\":\"" INC "\"}");
    cmd(h, t0 + 2 * MIN, "{\"op\":\"on_site\",\"incident\":\"" INC "\"}");
    cmd(h, t0 + 30 * MIN, "{\"op\":\"close\",\"incident\":\"" INC "\"}");
    cJSON *inc = incident(h);
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(inc, "review");
    assert_string_equal(h_str(rv, "status"), "pending");
    assert_int_equal(h_ms(h_str(rv, "due")), t0 + 30 * MIN + 24 * 60 * MIN);
    cJSON_Delete(inc);

    h_tick(h, t0 + 30 * MIN + 24 * 60 * MIN);
    cJSON *e = h_last(h, "siteward/A/escalation/manager");
    assert_string_equal(h_str(e, "obligation"), "review");
    cJSON_Delete(e);
    inc = incident(h);
    assert_string_equal(h_str(cJSON_GetObjectItemCaseSensitive(inc, "review"), "status"),
                        "overdue");
    cJSON_Delete(inc);

    cmd(h, t0 + 26 * 60 * MIN,
        "{\"op\":\"review\",\"incident\":\"" INC "\",\"problem\":\"p\",\"rectification\":\"r\","
        "\"optimization\":\"o\",\"participants\":[\"li.wei\"]}");
    inc = incident(h);
    assert_string_equal(h_str(inc, "state"), "reviewed");
    assert_string_equal(h_str(cJSON_GetObjectItemCaseSensitive(inc, "review"), "status"),
                        "submitted");
    cJSON_Delete(inc);
    assert_int_equal(h_tick(h, t0 + 30 * 60 * MIN), 0);
}

static void test_quiet_hours_move_resident_callbacks(void **state)
{
    harness *h = *state;
    /* A complaint at 20:30: the 1-hour callback would fall at 21:30, in
     * the quiet hours (21:00-08:00), so it is due at 08:00 next morning. */
    h_send(h, h_ms("2026-11-20T20:30:00+08:00"), "siteward/A/report/u1",
           "{\"category\":\"complaint\",\"text\":\"noise\"}");
    cJSON *r = h_last(h, "siteward/A/reply/u1");
    const cJSON *inc = cJSON_GetObjectItemCaseSensitive(r, "incident");
    assert_string_equal(h_str(h_obligation(inc, "callback"), "due"), "2026-11-21T08:00:00+08:00");
    cJSON_Delete(r);
    /* At 19:00 the callback falls at 20:00: not moved. */
    h_send(h, h_ms("2026-11-20T19:00:00+08:00"), "siteward/A/report/u2",
           "{\"category\":\"complaint\",\"text\":\"noise\"}");
    r = h_last(h, "siteward/A/reply/u2");
    inc = cJSON_GetObjectItemCaseSensitive(r, "incident");
    assert_string_equal(h_str(h_obligation(inc, "callback"), "due"), "2026-11-20T20:00:00+08:00");
    cJSON_Delete(r);
    /* Early morning (02:00 + 1 h = 03:00): to 08:00 the same day. */
    h_send(h, h_ms("2026-11-21T02:00:00+08:00"), "siteward/A/report/u3",
           "{\"category\":\"complaint\",\"text\":\"noise\"}");
    r = h_last(h, "siteward/A/reply/u3");
    inc = cJSON_GetObjectItemCaseSensitive(r, "incident");
    assert_string_equal(h_str(h_obligation(inc, "callback"), "due"), "2026-11-21T08:00:00+08:00");
    cJSON_Delete(r);
}

static void test_all_clear_resolves_level2_not_level1(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    h_send(h, t0, "siteward/A/event/sensor/w1",
           "{\"type\":\"water_leak\",\"location\":{\"building\":\"2\",\"floor\":\"1\"}}");
    h_send(h, t0 + MIN, "siteward/A/event/sensor/w1",
           "{\"type\":\"water_leak\",\"state\":\"normal\",\"location\":{\"building\":\"2\","
           "\"floor\":\"1\"}}");
    cJSON *inc = incident(h);
    assert_string_equal(h_str(inc, "class"), "water");
    assert_string_equal(h_str(inc, "state"), "resolved");
    assert_int_equal(h_num(inc, "events"), 2);
    cJSON_Delete(inc);

    smoke(h, t0);
    h_send(h, t0 + MIN, "siteward/A/event/sensor/d17",
           "{\"type\":\"smoke\",\"id\":\"e2\",\"state\":\"normal\",\"location\":{\"building\":"
           "\"3\",\"floor\":\"12\"}}");
    inc = h_last(h, "siteward/A/incident/A-20261120-0002");
    assert_string_equal(h_str(inc, "state"), "open");
    assert_int_equal(h_num(inc, "events"), 2);
    cJSON_Delete(inc);

    /* An all-clear with nothing open opens nothing. */
    h_send(h, t0, "siteward/A/event/sensor/q1",
           "{\"type\":\"smoke\",\"state\":\"normal\",\"location\":{\"building\":\"9\"}}");
    assert_int_equal(h_count_prefix(h, "siteward/A/incident/A-20261120-0003"), 0);
}

static void test_working_hours_count_only_office_time(void **state)
{
    (void)state;
    char path[] = "/tmp/sw-policy-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f,
            "{\"extends\": \"%s/config/policy/default.json\", \"classes\": {\"request_general\": "
            "{\"label\": \"Request\", \"obligations\": [{\"name\": \"handled\", \"within\": "
            "\"2wh\", \"met_by\": \"resolve\"}]}}}",
            SW_SOURCE_DIR);
    fclose(f);
    harness *h = h_new(path, 1.0);
    /* Friday 16:30: one working hour left that day (to 17:30), the second
     * from 08:30 on Monday. */
    h_send(h, h_ms("2026-11-20T16:30:00+08:00"), "siteward/A/report/u1",
           "{\"category\":\"request\",\"text\":\"key card\"}");
    cJSON *r = h_last(h, "siteward/A/reply/u1");
    assert_string_equal(
        h_str(h_obligation(cJSON_GetObjectItemCaseSensitive(r, "incident"), "handled"), "due"),
        "2026-11-23T09:30:00+08:00");
    cJSON_Delete(r);
    /* Thursday 24 Sep 17:00: half an hour, then the 25-27 holiday, then
     * 1.5 hours from 08:30 on Monday 28. */
    h_send(h, h_ms("2026-09-24T17:00:00+08:00"), "siteward/A/report/u2",
           "{\"category\":\"request\",\"text\":\"key card\"}");
    r = h_last(h, "siteward/A/reply/u2");
    assert_string_equal(
        h_str(h_obligation(cJSON_GetObjectItemCaseSensitive(r, "incident"), "handled"), "due"),
        "2026-09-28T10:00:00+08:00");
    cJSON_Delete(r);
    h_free(h);
    unlink(path);
}

static void test_retention_purges_what_the_policy_no_longer_keeps(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms(T0);
    cJSON *r;
    int purged;

    /* A repair closed at once: nothing owed. */
    h_send(h, t0, "siteward/A/report/u1",
           "{\"report_id\":\"r1\",\"category\":\"repair\",\"contact\":{\"phone\":\"1\"}}");
    cmd(h, t0 + MIN, "{\"op\":\"close\",\"incident\":\"A-20261120-0001\"}");
    /* A fire closed, its review never submitted and escalated: overdue. */
    smoke(h, t0);
    cmd(h, t0 + MIN, "{\"op\":\"close\",\"incident\":\"A-20261120-0002\"}");
    h_tick(h, t0 + 2 * 24 * 60 * MIN);
    /* A fire closed a day later whose review is still pending in the record. */
    h_send(h, t0 + 24 * 60 * MIN, "siteward/A/event/sensor/d40",
           "{\"type\":\"smoke\",\"location\":{\"building\":\"4\",\"floor\":\"1\"}}");
    r = h_last(h, "siteward/A/incident/A-20261121-0001");
    assert_non_null(r);
    cJSON_Delete(r);
    cmd(h, t0 + 24 * 60 * MIN + MIN, "{\"op\":\"close\",\"incident\":\"A-20261121-0001\"}");
    /* A repair closed 300 days later: not yet a year old. */
    h_send(h, t0 + 300 * 24 * 60 * MIN, "siteward/A/report/u2", "{\"category\":\"repair\"}");
    cmd(h, t0 + 300 * 24 * 60 * MIN, "{\"op\":\"close\",\"incident\":\"A-20270916-0001\"}");
    /* An open incident is never purged. */
    h_send(h, t0, "siteward/A/event/sensor/w1",
           "{\"type\":\"water_leak\",\"location\":{\"building\":\"9\",\"floor\":\"9\"}}");
    assert_int_equal(h_entries(h, SW_DB_INCIDENTS), 5);
    assert_int_equal(h_entries(h, SW_DB_PERSONAL), 1);

    /* Before a year has passed nothing goes. */
    assert_int_equal(sw_engine_purge(&h->engine, t0 + 364 * 24 * 60 * MIN, 100, &purged), 0);
    assert_int_equal(purged, 0);
    /* After it, the first repair and the overdue review go; in steps of 2. */
    /* (The fire's last change was its review escalation at day 2.) */
    int64_t later = t0 + 368 * 24 * 60 * MIN;
    int total = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(sw_engine_purge(&h->engine, later, 2, &purged), 0);
        total += purged;
    }
    assert_int_equal(total, 2);
    assert_int_equal(h_entries(h, SW_DB_INCIDENTS), 3);
    assert_int_equal(h_entries(h, SW_DB_PERSONAL), 0);
    MDB_txn *txn;
    MDB_val v;
    assert_int_equal(sw_store_begin(&h->store, 0, &txn), 0);
    assert_int_equal(sw_store_get(&h->store, txn, SW_DB_INCIDENTS, "A-20261120-0001", 15, &v),
                     SW_ENOENT);
    assert_int_equal(sw_store_get(&h->store, txn, SW_DB_INCIDENTS, "A-20261120-0002", 15, &v),
                     SW_ENOENT);
    assert_int_equal(sw_store_get(&h->store, txn, SW_DB_INCIDENTS, "A-20261121-0001", 15, &v), 0);
    /* The timelines went with them: only the three left have entries. */
    MDB_cursor *cur;
    MDB_val k;
    mdb_cursor_open(txn, h->store.dbi[SW_DB_TIMELINE], &cur);
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        assert_true(memcmp(k.mv_data, "A-20261120-0001/", 16) &&
                    memcmp(k.mv_data, "A-20261120-0002/", 16));
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    assert_int_equal(h->engine.stats.purged, 2);
    /* Their retained messages are cleared: an empty retained message each,
     * owed through the outbox until the broker has it. */
    int before = h->npubs;
    assert_int_equal(sw_engine_pump(&h->engine), 0);
    int cleared = 0;
    for (int i = before; i < h->npubs; i++)
        if (h->pubs[i].retained && !h->pubs[i].payload[0] && h->pubs[i].outbox_id &&
            (!strcmp(h->pubs[i].topic, "siteward/A/incident/A-20261120-0001") ||
             !strcmp(h->pubs[i].topic, "siteward/A/incident/A-20261120-0002")))
            cleared++;
    assert_int_equal(cleared, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_level1_notifies_manager_at_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_missed_obligation_escalates_along_chain, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_last_step_repeats_until_met, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_overdue_after_restart_fires_at_once_marked_late,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_review_due_overdue_and_submitted, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_quiet_hours_move_resident_callbacks, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_all_clear_resolves_level2_not_level1, h_setup,
                                        h_teardown),
        cmocka_unit_test(test_working_hours_count_only_office_time),
        cmocka_unit_test_setup_teardown(test_retention_purges_what_the_policy_no_longer_keeps,
                                        h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
