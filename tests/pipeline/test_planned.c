/*
 * Planned work with an injected clock: the notice lead times of each kind
 * met and missed, too short a notice, the weekend pest-control refusal, a
 * community event's working days across a holiday, escalation of a missed
 * notice, alarms explained inside the window and one that outlasts it.
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
#define PLAN "A-20261118-0001" /* the first record opened on the day of the report */

/* A planned-work report received at `t`; returns the reply (caller deletes). */
static cJSON *plan(harness *h, int64_t t, const char *kind, const char *start, const char *end,
                   const char *location)
{
    char payload[512];
    snprintf(payload, sizeof payload,
             "{\"report_id\":\"pw-%lld\",\"category\":\"planned_work\",\"kind\":\"%s\","
             "\"start\":\"%s\",\"end\":\"%s\",\"text\":\"maintenance\",\"location\":%s}",
             (long long)t, kind, start, end, location ? location : "{}");
    h_send(h, t, "siteward/A/report/eng.zhang", payload);
    return h_last(h, "siteward/A/reply/eng.zhang");
}

static const cJSON *reply_incident(const cJSON *reply)
{
    return cJSON_GetObjectItemCaseSensitive(reply, "incident");
}

static int64_t due_of(const cJSON *inc, const char *name)
{
    const cJSON *ob = h_obligation(inc, name);
    assert_non_null(ob);
    return h_ms(h_str(ob, "due"));
}

static void cmd(harness *h, int64_t t, const char *op, const char *id)
{
    char payload[256];
    snprintf(payload, sizeof payload,
             "{\"op\":\"%s\",\"incident\":\"%s\",\"request_id\":\"c-%lld-%s\"}", op, id,
             (long long)t, op);
    h_send(h, t, "siteward/A/cmd/li.wei", payload);
}

static void power_loss(harness *h, int64_t t, const char *dev, const char *building, int normal)
{
    char payload[256];
    snprintf(
        payload, sizeof payload,
        "{\"type\":\"power_loss\",\"id\":\"e-%lld\",\"state\":\"%s\",\"location\":{\"building\":"
        "\"%s\"}}",
        (long long)t, normal ? "normal" : "alarm", building);
    char topic[128];
    snprintf(topic, sizeof topic, "siteward/A/event/sensor/%s", dev);
    h_send(h, t, topic, payload);
}

static void test_power_cut_notices_met_on_time(void **state)
{
    harness *h = *state;
    int64_t t = h_ms("2026-11-18T09:00:00+08:00");
    cJSON *r = plan(h, t, "power_cut", "2026-11-20T09:00:00+08:00", "2026-11-20T12:00:00+08:00",
                    "{\"building\":\"3\"}");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    const cJSON *inc = reply_incident(r);
    assert_string_equal(h_str(inc, "id"), PLAN);
    assert_string_equal(h_str(inc, "class"), "planned_power_cut");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(inc, "level")));
    const cJSON *pw = cJSON_GetObjectItemCaseSensitive(inc, "planned");
    assert_string_equal(h_str(pw, "kind"), "power_cut");
    assert_string_equal(h_str(pw, "start"), "2026-11-20T09:00:00+08:00");
    /* Engineering tells customer service 32 h ahead, residents hear 24 h ahead. */
    assert_int_equal(due_of(inc, "customer_service_notified"), h_ms("2026-11-19T01:00:00+08:00"));
    assert_int_equal(due_of(inc, "residents_notified"), h_ms("2026-11-19T09:00:00+08:00"));
    assert_string_equal(h_str(h_obligation(inc, "residents_notified"), "status"), "pending");
    cJSON_Delete(r);

    cmd(h, t + HOUR, "customer_service_notified", PLAN);
    cmd(h, t + 8 * HOUR, "residents_notified", PLAN);
    cJSON *i = h_last(h, "siteward/A/incident/" PLAN);
    assert_string_equal(h_str(h_obligation(i, "customer_service_notified"), "status"), "met");
    assert_string_equal(h_str(h_obligation(i, "residents_notified"), "status"), "met");
    assert_string_equal(h_str(h_obligation(i, "residents_notified"), "by"), "li.wei");
    cJSON_Delete(i);
    /* Nothing left to escalate before the window's end. */
    assert_int_equal(h_tick(h, h_ms("2026-11-19T12:00:00+08:00")),
                     h_ms("2026-11-20T12:00:00+08:00"));
    assert_int_equal(h_count_prefix(h, "siteward/A/escalation/"), 0);
}

static void test_missed_notice_escalates(void **state)
{
    harness *h = *state;
    int64_t t = h_ms("2026-11-18T09:00:00+08:00");
    cJSON_Delete(plan(h, t, "water_cut", "2026-11-20T09:00:00+08:00", "2026-11-20T12:00:00+08:00",
                      "{\"building\":\"3\"}"));
    int64_t cs_due = h_ms("2026-11-19T01:00:00+08:00");
    assert_int_equal(h_tick(h, cs_due - 1), cs_due);
    assert_int_equal(h_count_prefix(h, "siteward/A/escalation/"), 0);
    /* Due: missed, and the default chain starts with the butler... */
    int64_t next = h_tick(h, cs_due);
    cJSON *e = h_last(h, "siteward/A/escalation/butler");
    assert_non_null(e);
    assert_string_equal(h_str(e, "obligation"), "customer_service_notified");
    assert_string_equal(h_str(e, "incident"), PLAN);
    assert_non_null(strstr(h_str(e, "summary"), "customer service not told 32 h ahead"));
    cJSON_Delete(e);
    /* ...then the supervisor 15 minutes on. */
    assert_int_equal(next, cs_due + 15 * MIN);
    h_tick(h, next);
    e = h_last(h, "siteward/A/escalation/supervisor");
    assert_string_equal(h_str(e, "obligation"), "customer_service_notified");
    assert_int_equal(h_num(e, "overdue_s"), 15 * 60);
    cJSON_Delete(e);
    cJSON *i = h_last(h, "siteward/A/incident/" PLAN);
    assert_string_equal(h_str(h_obligation(i, "customer_service_notified"), "status"), "missed");
    assert_string_equal(h_str(h_obligation(i, "residents_notified"), "status"), "pending");
    cJSON_Delete(i);
    /* Met late: recorded as such, and no more escalation of it. */
    cmd(h, cs_due + 20 * MIN, "customer_service_notified", PLAN);
    i = h_last(h, "siteward/A/incident/" PLAN);
    assert_int_equal(h_num(h_obligation(i, "customer_service_notified"), "late_by_s"), 20 * 60);
    cJSON_Delete(i);
    assert_int_equal(h_tick(h, cs_due + 21 * MIN), h_ms("2026-11-19T09:00:00+08:00"));
}

static void test_short_notice_accepted_and_missed_at_once(void **state)
{
    harness *h = *state;
    /* Ten hours ahead: too late for both notices of a power cut. */
    int64_t t = h_ms("2026-11-18T23:00:00+08:00");
    cJSON *r = plan(h, t, "power_cut", "2026-11-19T09:00:00+08:00", "2026-11-19T10:00:00+08:00",
                    "{\"building\":\"3\"}");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    const cJSON *inc = reply_incident(r);
    assert_string_equal(h_str(h_obligation(inc, "customer_service_notified"), "status"), "missed");
    assert_string_equal(h_str(h_obligation(inc, "residents_notified"), "status"), "missed");
    cJSON_Delete(r);
    assert_int_equal(h_timeline_count(h, PLAN, "notice shorter than"), 2);
    /* The escalations go out at the next tick, at once. */
    h_tick(h, t);
    assert_int_equal(h_count(h, "siteward/A/escalation/butler"), 2);
    cJSON *e = h_last(h, "siteward/A/escalation/butler");
    assert_int_equal(h_num(e, "overdue_s"), 14 * 3600); /* residents: due 09:00 the day before */
    cJSON_Delete(e);
}

static void test_lead_times_per_kind(void **state)
{
    harness *h = *state;
    int64_t t = h_ms("2026-11-16T09:00:00+08:00"); /* Monday */
    struct {
        const char *kind, *start, *cs, *res;
    } want[] = {
        {"water_cut", "2026-11-20T14:00:00+08:00", "2026-11-19T06:00:00+08:00",
         "2026-11-19T14:00:00+08:00"},
        {"power_cut", "2026-11-20T14:00:00+08:00", "2026-11-19T06:00:00+08:00",
         "2026-11-19T14:00:00+08:00"},
        /* Pest control: 24 h and 12 h. */
        {"pest_control", "2026-11-20T14:00:00+08:00", "2026-11-19T14:00:00+08:00",
         "2026-11-20T02:00:00+08:00"},
        /* Community activity: 3 working days (Tue, Wed, Thu before a Friday). */
        {"community_event", "2026-11-20T14:00:00+08:00", NULL, "2026-11-17T14:00:00+08:00"},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        cJSON *r =
            plan(h, t + (int64_t)i, want[i].kind, want[i].start, "2026-11-20T16:00:00+08:00", NULL);
        const cJSON *inc = reply_incident(r);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
        if (want[i].cs)
            assert_int_equal(due_of(inc, "customer_service_notified"), h_ms(want[i].cs));
        else
            assert_null(h_obligation(inc, "customer_service_notified"));
        assert_int_equal(due_of(inc, "residents_notified"), h_ms(want[i].res));
        cJSON_Delete(r);
    }
}

static void test_pest_control_refused_at_the_weekend(void **state)
{
    harness *h = *state;
    int64_t t = h_ms("2026-11-16T09:00:00+08:00");
    /* Saturday morning. */
    cJSON *r =
        plan(h, t, "pest_control", "2026-11-21T09:00:00+08:00", "2026-11-21T11:00:00+08:00", NULL);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    assert_string_equal(h_str(r, "error"), "not_allowed");
    assert_non_null(strstr(h_str(r, "message"), "Saturday 2026-11-21"));
    assert_null(reply_incident(r));
    cJSON_Delete(r);
    cJSON *dl = h_last(h, "siteward/A/deadletter");
    assert_string_equal(h_str(dl, "error"), "not_allowed");
    cJSON_Delete(dl);
    /* Friday night into Sunday, site time, touches the weekend too. */
    r = plan(h, t + 1, "pest_control", "2026-11-20T22:00:00+08:00", "2026-11-22T01:00:00+08:00",
             NULL);
    assert_string_equal(h_str(r, "error"), "not_allowed");
    cJSON_Delete(r);
    /* 23:00 UTC on Sunday is Monday 07:00 at the site: allowed. */
    r = plan(h, t + 2, "pest_control", "2026-11-22T23:00:00Z", "2026-11-23T02:00:00Z", NULL);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    cJSON_Delete(r);
    assert_int_equal(h_count_prefix(h, "siteward/A/incident/"), 1);
    /* A water cut may take place on a Saturday. */
    r = plan(h, t + 3, "water_cut", "2026-11-21T09:00:00+08:00", "2026-11-21T11:00:00+08:00", NULL);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    cJSON_Delete(r);
}

static void test_bad_planned_work_refused(void **state)
{
    harness *h = *state;
    int64_t t = h_ms("2026-11-16T09:00:00+08:00");
    cJSON *r =
        plan(h, t, "fireworks", "2026-11-20T09:00:00+08:00", "2026-11-20T10:00:00+08:00", NULL);
    assert_string_equal(h_str(r, "error"), "bad_field");
    assert_non_null(strstr(h_str(r, "message"), "power_cut"));
    cJSON_Delete(r);
    r = plan(h, t + 1, "power_cut", "2026-11-20T10:00:00+08:00", "2026-11-20T09:00:00+08:00", NULL);
    assert_string_equal(h_str(r, "error"), "bad_field");
    cJSON_Delete(r);
    r = plan(h, t + 2, "power_cut", "2026-11-10T10:00:00+08:00", "2026-11-10T12:00:00+08:00", NULL);
    assert_string_equal(h_str(r, "error"), "bad_field");
    assert_non_null(strstr(h_str(r, "message"), "already ended"));
    cJSON_Delete(r);
    r = plan(h, t + 3, "power_cut", "tomorrow", "2026-11-20T12:00:00+08:00", NULL);
    assert_string_equal(h_str(r, "error"), "bad_field");
    cJSON_Delete(r);
    assert_int_equal(h_count_prefix(h, "siteward/A/incident/"), 0);
}

static void test_community_event_working_days_across_holiday(void **state)
{
    harness *h = *state;
    int64_t t = h_ms("2026-09-20T10:00:00+08:00");
    /* Friday 9 October: back over Thu 8 October, then the National Day
     * holiday (1-7 October), to Wed 30 and Tue 29 September. */
    cJSON *r = plan(h, t, "community_event", "2026-10-09T19:00:00+08:00",
                    "2026-10-09T21:00:00+08:00", NULL);
    assert_int_equal(due_of(reply_incident(r), "residents_notified"),
                     h_ms("2026-09-29T19:00:00+08:00"));
    cJSON_Delete(r);
    /* Monday 12 October: Saturday 10 October is a make-up working day. */
    r = plan(h, t + 1, "community_event", "2026-10-12T19:00:00+08:00", "2026-10-12T21:00:00+08:00",
             NULL);
    assert_int_equal(due_of(reply_incident(r), "residents_notified"),
                     h_ms("2026-10-08T19:00:00+08:00"));
    cJSON_Delete(r);
}

static void test_explained_alarm_pages_nobody(void **state)
{
    harness *h = *state;
    int64_t t = h_ms("2026-11-18T09:00:00+08:00");
    cJSON_Delete(plan(h, t, "power_cut", "2026-11-20T09:00:00+08:00", "2026-11-20T12:00:00+08:00",
                      "{\"building\":\"3\"}"));
    cmd(h, t, "customer_service_notified", PLAN);
    cmd(h, t, "residents_notified", PLAN);

    /* During the window, in building 3: recorded on the work, no incident. */
    power_loss(h, h_ms("2026-11-20T09:01:00+08:00"), "pm-3", "3", 0);
    assert_int_equal(h_count_prefix(h, "siteward/A/incident/A-20261120"), 0);
    assert_int_equal(h_count_prefix(h, "siteward/A/escalation/"), 0);
    assert_int_equal(h_timeline_count(h, PLAN, "\"explained\":true"), 1);
    cJSON *w = h_last(h, "siteward/A/incident/" PLAN);
    assert_int_equal(h_num(w, "events"), 2);
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(w, "sources"), 1)),
        "sensor/pm-3");
    cJSON_Delete(w);
    /* The same event again is a duplicate, not recorded twice. */
    power_loss(h, h_ms("2026-11-20T09:01:00+08:00"), "pm-3", "3", 0);
    assert_int_equal(h->engine.stats.duplicates, 1);
    /* The all-clear inside the window: nothing is left active. */
    power_loss(h, h_ms("2026-11-20T10:00:00+08:00"), "pm-3", "3", 1);
    assert_int_equal(h_timeline_count(h, PLAN, "\"explained\":true"), 2);

    /* Building 5 is not in the work: a Level II incident as ever. */
    power_loss(h, h_ms("2026-11-20T09:30:00+08:00"), "pm-5", "5", 0);
    cJSON *inc = h_last(h, "siteward/A/incident/A-20261120-0001");
    assert_non_null(inc);
    assert_string_equal(h_str(inc, "class"), "power_loss");
    assert_int_equal(h_num(inc, "level"), 2);
    cJSON_Delete(inc);

    /* At the window's end nothing outlasts it; the work is resolved. */
    assert_int_equal(h_tick(h, h_ms("2026-11-20T09:59:00+08:00")),
                     h_ms("2026-11-20T10:00:00+08:00"));
    h_tick(h, h_ms("2026-11-20T12:00:00+08:00"));
    w = h_last(h, "siteward/A/incident/" PLAN);
    assert_string_equal(h_str(w, "state"), "resolved");
    cJSON_Delete(w);
    assert_null(h_last(h, "siteward/A/incident/A-20261120-0002"));
    /* After the window, building 3 alarms open incidents again. */
    power_loss(h, h_ms("2026-11-20T12:05:00+08:00"), "pm-3", "3", 0);
    inc = h_last(h, "siteward/A/incident/A-20261120-0002");
    assert_non_null(inc);
    assert_string_equal(h_str(inc, "class"), "power_loss");
    cJSON_Delete(inc);
}

static void test_alarm_outlasting_window_opens_incident(void **state)
{
    harness *h = *state;
    int64_t t = h_ms("2026-11-18T09:00:00+08:00");
    cJSON_Delete(plan(h, t, "power_cut", "2026-11-20T09:00:00+08:00", "2026-11-20T12:00:00+08:00",
                      "{\"building\":\"3\"}"));
    cmd(h, t, "customer_service_notified", PLAN);
    cmd(h, t, "residents_notified", PLAN);
    power_loss(h, h_ms("2026-11-20T09:01:00+08:00"), "pm-3", "3", 0);
    assert_null(h_last(h, "siteward/A/incident/A-20261120-0001"));

    /* No "normal" by the end: the alarm is no longer expected. */
    int64_t end = h_ms("2026-11-20T12:00:00+08:00");
    assert_int_equal(h_tick(h, end - 1), end);
    int64_t next = h_tick(h, end);
    cJSON *inc = h_last(h, "siteward/A/incident/A-20261120-0001");
    assert_non_null(inc);
    assert_string_equal(h_str(inc, "class"), "power_loss");
    assert_int_equal(h_num(inc, "level"), 2);
    /* Its limits count from the window's end. */
    assert_int_equal(h_ms(h_str(inc, "opened")), end);
    assert_int_equal(due_of(inc, "site_plan"), end + 30 * MIN);
    assert_int_equal(next, end + 30 * MIN);
    cJSON_Delete(inc);
    assert_int_equal(h_timeline_count(h, PLAN, "\"alarms_active\":1"), 1);
    /* The all-clear after the window resolves the new incident. */
    power_loss(h, end + 10 * MIN, "pm-3", "3", 1);
    inc = h_last(h, "siteward/A/incident/A-20261120-0001");
    assert_string_equal(h_str(inc, "state"), "resolved");
    cJSON_Delete(inc);
}

static void test_cancelled_work_explains_nothing(void **state)
{
    harness *h = *state;
    int64_t t = h_ms("2026-11-18T09:00:00+08:00");
    cJSON_Delete(plan(h, t, "power_cut", "2026-11-20T09:00:00+08:00", "2026-11-20T12:00:00+08:00",
                      "{\"building\":\"3\"}"));
    cmd(h, t + HOUR, "close", PLAN);
    power_loss(h, h_ms("2026-11-20T09:01:00+08:00"), "pm-3", "3", 0);
    cJSON *inc = h_last(h, "siteward/A/incident/A-20261120-0001");
    assert_non_null(inc);
    assert_string_equal(h_str(inc, "class"), "power_loss");
    cJSON_Delete(inc);
}

static void test_window_end_survives_restart(void **state)
{
    harness *h = *state;
    int64_t t = h_ms("2026-11-18T09:00:00+08:00");
    cJSON_Delete(plan(h, t, "power_cut", "2026-11-20T09:00:00+08:00", "2026-11-20T12:00:00+08:00",
                      "{\"building\":\"3\"}"));
    power_loss(h, h_ms("2026-11-20T09:01:00+08:00"), "pm-3", "3", 0);
    h_restart(h);
    /* Down over the end: it fires late, at start-up. */
    h_tick(h, h_ms("2026-11-20T13:00:00+08:00"));
    cJSON *inc = h_last(h, "siteward/A/incident/A-20261120-0001");
    assert_non_null(inc);
    assert_string_equal(h_str(inc, "class"), "power_loss");
    cJSON_Delete(inc);
}

static void test_contact_notice_moves_out_of_quiet_hours(void **state)
{
    (void)state;
    /* A policy whose residents' notice is a contact (a call round): it is
     * due 24 h ahead, moved earlier out of the quiet hours (21:00-08:00). */
    char path[] = "/tmp/sw-plan-policy-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f,
            "{\"extends\": \"%s/config/policy/default.json\", \"classes\": "
            "{\"planned_power_cut\": {\"label\": \"Planned power cut\", \"obligations\": "
            "[{\"name\": \"residents_notified\", \"before\": \"24h\", \"from\": \"start\", "
            "\"met_by\": \"residents_notified\", \"contact\": true}]}}}",
            SW_SOURCE_DIR);
    fclose(f);
    harness *h = h_new(path, 1.0);
    unlink(path);
    cJSON *r = plan(h, h_ms("2026-11-16T09:00:00+08:00"), "power_cut", "2026-11-20T07:00:00+08:00",
                    "2026-11-20T09:00:00+08:00", NULL);
    assert_int_equal(due_of(reply_incident(r), "residents_notified"),
                     h_ms("2026-11-18T21:00:00+08:00"));
    cJSON_Delete(r);
    /* Outside the quiet hours it stays 24 h ahead. */
    r = plan(h, h_ms("2026-11-16T09:00:01+08:00"), "power_cut", "2026-11-20T10:00:00+08:00",
             "2026-11-20T11:00:00+08:00", NULL);
    assert_int_equal(due_of(reply_incident(r), "residents_notified"),
                     h_ms("2026-11-19T10:00:00+08:00"));
    cJSON_Delete(r);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_power_cut_notices_met_on_time, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_missed_notice_escalates, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_short_notice_accepted_and_missed_at_once, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_lead_times_per_kind, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_pest_control_refused_at_the_weekend, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_bad_planned_work_refused, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_community_event_working_days_across_holiday, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_explained_alarm_pages_nobody, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_alarm_outlasting_window_opens_incident, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_work_explains_nothing, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_window_end_survives_restart, h_setup, h_teardown),
        cmocka_unit_test(test_contact_notice_moves_out_of_quiet_hours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
