/*
 * Expected events with an injected clock: patrol slots (across the 22:00
 * change of rhythm, met, missed with the missing points, a partial first
 * slot, progress kept over a restart), daily/weekly/monthly inspection
 * rounds (events and the "inspected" op), silent devices (offline and
 * back), and telemetry thresholds (duration, hysteresis, clearing).
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

#include "expect.h"
#include "harness.h"

#define MIN  60000LL
#define HOUR (60 * MIN)

static char policy_path[512];

static int setup_with(void **state, int patrols)
{
    char dir[] = "/tmp/sw-expect-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    snprintf(policy_path, sizeof policy_path, "%s/policy.json", dir);
    FILE *f = fopen(policy_path, "w");
    fprintf(f,
            "{\"extends\": \"%s/config/policy/default.json\", \"name\": \"expect-test\",\n"
            " \"patrols\": {\"class\": \"patrol_missed\", \"grace\": \"5m\",\n"
            "   \"schedule\": [{\"from\": \"06:00\", \"to\": \"22:00\", \"every\": \"2h\"},\n"
            "                {\"from\": \"22:00\", \"to\": \"06:00\", \"every\": \"1h\"}],\n"
            "   \"rounds\": [%s]},\n"
            " \"inspections\": {\"class\": \"inspection_missed\", \"rounds\": [\n"
            "   {\"site\": \"A\", \"name\": \"daily-params\", \"every\": \"day\",\n"
            "    \"equipment\": [\"pump-1\", \"power-room\"]},\n"
            "   {\"site\": \"A\", \"name\": \"weekly-wear\", \"every\": \"week\",\n"
            "    \"equipment\": [\"lights-b3\", \"access-gate-1\"]},\n"
            "   {\"site\": \"A\", \"name\": \"monthly-vendor\", \"every\": \"month\",\n"
            "    \"equipment\": [\"elevator-3a\", \"fire-panel\"]}]},\n"
            " \"silent_devices\": {\"class\": \"device_offline\", \"slack\": 0.25,\n"
            "   \"after\": {\"heartbeat\": \"1h\"}},\n"
            /* A month of daily misses escalating every hour would be more
             * publications than the harness keeps. */
            " \"classes\": {\"inspection_missed\": {\"label\": \"Inspection round missed\",\n"
            "   \"notify\": [\"engineering_supervisor\"]}}}\n",
            SW_SOURCE_DIR,
            patrols ? "{\"site\": \"A\", \"name\": \"perimeter\", \"points\": "
                      "[\"garage-b1\", \"playground\", \"gate-n\"]}"
                    : "");
    fclose(f);
    *state = h_new(policy_path, 1.0);
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, 1);
}

/* Without the patrol round: a month of missed slots would drown the rest. */
static int setup_no_patrol(void **state)
{
    return setup_with(state, 0);
}

static int teardown(void **state)
{
    h_free(*state);
    unlink(policy_path);
    *strrchr(policy_path, '/') = 0;
    rmdir(policy_path);
    return 0;
}

static void checkin(harness *h, int64_t t, const char *device, const char *extra)
{
    static int n;
    char topic[128], payload[256];
    snprintf(topic, sizeof topic, "siteward/A/event/patrol/%s", device);
    snprintf(payload, sizeof payload, "{\"type\":\"checkpoint\",\"id\":\"c%d\"%s}", ++n,
             extra ? extra : "");
    h_send(h, t, topic, payload);
}

/* The latest state of every incident of `cls`, in order of opening;
 * returns how many (at most 64). Caller deletes. */
static int incidents(harness *h, const char *cls, cJSON **out)
{
    int n = 0;
    for (int i = 0; i < h->npubs; i++) {
        if (strncmp(h->pubs[i].topic, "siteward/A/incident/", 20))
            continue;
        cJSON *j = cJSON_Parse(h->pubs[i].payload);
        if (strcmp(h_str(j, "class"), cls)) {
            cJSON_Delete(j);
            continue;
        }
        int k = 0;
        while (k < n && strcmp(h_str(out[k], "id"), h_str(j, "id")))
            k++;
        if (k < n) {
            cJSON_Delete(out[k]);
            out[k] = j;
        } else if (n < 64) {
            out[n++] = j;
        } else {
            cJSON_Delete(j);
        }
    }
    return n;
}

static void free_all(cJSON **v, int n)
{
    for (int i = 0; i < n; i++)
        cJSON_Delete(v[i]);
}

/* The strings of array `key` of the incident's detail, joined by ','. */
static const char *detail_list(const cJSON *inc, const char *key)
{
    static char buf[256];
    const cJSON *it;
    buf[0] = 0;
    cJSON_ArrayForEach(
        it, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(inc, "detail"), key))
    {
        if (buf[0])
            strcat(buf, ",");
        strcat(buf, it->valuestring);
    }
    return buf;
}

static const char *detail_str(const cJSON *inc, const char *key)
{
    return h_str(cJSON_GetObjectItemCaseSensitive(inc, "detail"), key);
}

/* The due time of the one timer whose tag starts with `prefix`; 0 when
 * there is none, -1 when there are several. */
static int64_t timer(harness *h, const char *prefix)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int64_t due = 0;
    size_t n = strlen(prefix);
    assert_int_equal(sw_store_begin(&h->store, 0, &txn), 0);
    assert_int_equal(mdb_cursor_open(txn, h->store.dbi[SW_DB_DEADLINES], &cur), 0);
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        if (k.mv_size >= 8 + n && !memcmp((char *)k.mv_data + 8, prefix, n))
            due = due ? -1 : (int64_t)sw_be64_get(k.mv_data);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return due;
}

static void test_slots_across_22(void **state)
{
    harness *h = *state;
    const sw_round *r = sw_expect_round(&h->policy, SW_ROUND_PATROL, "A", "perimeter");
    int64_t day = h_ms("2026-11-20T00:00:00Z"), from, to;
    assert_non_null(r);
    /* Local times (the slot function works on local time of day). */
    static const struct {
        int at_min, from_min, to_min;
    } cases[] = {
        {20 * 60 + 30, 20 * 60, 22 * 60}, {21 * 60 + 59, 20 * 60, 22 * 60},
        {22 * 60, 22 * 60, 23 * 60},      {23 * 60 + 30, 23 * 60, 24 * 60},
        {24 * 60 + 5, 24 * 60, 25 * 60},  {29 * 60 + 30, 29 * 60, 30 * 60},
        {30 * 60, 30 * 60, 32 * 60},      {6 * 60 + 1, 6 * 60, 8 * 60},
        {5 * 60 + 59, 5 * 60, 6 * 60},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sw_patrol_slot(r, day + cases[i].at_min * MIN, &from, &to);
        assert_int_equal(from, day + cases[i].from_min * MIN);
        assert_int_equal(to, day + cases[i].to_min * MIN);
    }
}

static void test_slot_met(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms("2026-11-20T08:00:00+08:00");
    /* Armed at the slot's start: the 08:00-10:00 slot is judged at 10:05. */
    assert_int_equal(h_tick(h, t0), t0 + 2 * HOUR + 5 * MIN);
    checkin(h, t0 + 10 * MIN, "garage-b1", NULL);
    checkin(h, t0 + 20 * MIN, "playground", NULL);
    checkin(h, t0 + 30 * MIN, "playground", NULL); /* twice is once */
    checkin(h, t0 + 90 * MIN, "gate-n", NULL);
    assert_int_equal(h_tick(h, t0 + 2 * HOUR + 5 * MIN), t0 + 4 * HOUR + 5 * MIN);
    cJSON *v[64];
    assert_int_equal(incidents(h, "patrol_missed", v), 0);
    /* Check-ins are records, not incidents. */
    assert_int_equal(h_count_prefix(h, "siteward/A/incident/"), 0);
}

static void test_slot_missed_lists_missing_points(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms("2026-11-20T20:00:00+08:00");
    h_tick(h, t0);
    checkin(h, t0 + 30 * MIN, "garage-b1", NULL);
    /* A guard's handheld names the point it is at. */
    checkin(h, t0 + 40 * MIN, "guard-7", ",\"data\":{\"point\":\"playground\"}");
    /* 22:03: inside the grace of the 20:00 slot, but it happened in the
     * 22:00 slot and counts there. */
    checkin(h, t0 + 123 * MIN, "gate-n", NULL);
    checkin(h, t0 + 123 * MIN, "garage-b1", NULL);
    checkin(h, t0 + 124 * MIN, "playground", NULL);
    h_tick(h, t0 + 125 * MIN);
    cJSON *v[64];
    int n = incidents(h, "patrol_missed", v);
    assert_int_equal(n, 1);
    assert_string_equal(detail_list(v[0], "missing"), "gate-n");
    assert_string_equal(detail_list(v[0], "checked"), "garage-b1,playground");
    assert_string_equal(detail_str(v[0], "round"), "perimeter");
    assert_string_equal(detail_str(v[0], "from"), "2026-11-20T20:00:00+08:00");
    assert_string_equal(detail_str(v[0], "to"), "2026-11-20T22:00:00+08:00");
    assert_string_equal(h_str(v[0], "state"), "open");
    assert_string_equal(h_str(h_obligation(v[0], "followed_up"), "status"), "pending");
    free_all(v, n);
    cJSON *e = h_last(h, "siteward/A/escalation/security_supervisor");
    assert_non_null(e);
    cJSON_Delete(e);
    /* After 22:00 the slots are hourly: the next is judged at 23:05, and
     * the check-ins made during the grace met it. */
    h_tick(h, t0 + 3 * HOUR + 4 * MIN);
    h_tick(h, t0 + 3 * HOUR + 5 * MIN);
    n = incidents(h, "patrol_missed", v);
    assert_int_equal(n, 1);
    free_all(v, n);
    /* 23:00-24:00 with no check-in at all. */
    h_tick(h, t0 + 4 * HOUR + 4 * MIN);
    n = incidents(h, "patrol_missed", v);
    assert_int_equal(n, 1);
    free_all(v, n);
    h_tick(h, t0 + 4 * HOUR + 5 * MIN);
    n = incidents(h, "patrol_missed", v);
    assert_int_equal(n, 2);
    assert_string_equal(detail_list(v[1], "missing"), "garage-b1,playground,gate-n");
    assert_string_equal(detail_str(v[1], "from"), "2026-11-20T23:00:00+08:00");
    free_all(v, n);
}

static void test_partial_first_slot_is_not_judged(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms("2026-11-20T09:00:00+08:00");
    /* Armed in the middle of the 08:00 slot: what came before is unknown. */
    assert_int_equal(h_tick(h, t0), t0 + HOUR + 5 * MIN);
    h_tick(h, t0 + HOUR + 5 * MIN);
    cJSON *v[64];
    assert_int_equal(incidents(h, "patrol_missed", v), 0);
    h_tick(h, t0 + 3 * HOUR + 5 * MIN);
    int n = incidents(h, "patrol_missed", v);
    assert_int_equal(n, 1);
    assert_string_equal(detail_str(v[0], "from"), "2026-11-20T10:00:00+08:00");
    free_all(v, n);
}

static void test_slot_progress_survives_restart(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms("2026-11-20T10:00:00+08:00");
    h_tick(h, t0);
    checkin(h, t0 + 10 * MIN, "garage-b1", NULL);
    checkin(h, t0 + 20 * MIN, "playground", NULL);
    h_restart(h);
    checkin(h, t0 + 30 * MIN, "gate-n", NULL);
    h_restart(h);
    h_tick(h, t0 + 2 * HOUR + 5 * MIN);
    cJSON *v[64];
    assert_int_equal(incidents(h, "patrol_missed", v), 0);
}

static void test_checkins_after_downtime_count(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms("2026-11-20T08:00:00+08:00");
    h_tick(h, t0);
    h_restart(h);
    /* Back at 12:30: check-ins are applied before the overdue 08:00 slot's
     * timer has fired. The 08:00 slot is judged first, 10:00 passed while
     * down and is not, and the check-ins count for 12:00. */
    checkin(h, t0 + 270 * MIN, "garage-b1", NULL);
    checkin(h, t0 + 271 * MIN, "playground", NULL);
    checkin(h, t0 + 272 * MIN, "gate-n", NULL);
    cJSON *v[64];
    int n = incidents(h, "patrol_missed", v);
    assert_int_equal(n, 1);
    assert_string_equal(detail_str(v[0], "from"), "2026-11-20T08:00:00+08:00");
    free_all(v, n);
    assert_int_equal(timer(h, "@patrol:A/perimeter"), t0 + 6 * HOUR + 5 * MIN);
    h_tick(h, t0 + 6 * HOUR + 5 * MIN);
    n = incidents(h, "patrol_missed", v);
    assert_int_equal(n, 1);
    free_all(v, n);
}

static void inspect_event(harness *h, int64_t t, const char *data)
{
    static int n;
    char payload[256];
    snprintf(payload, sizeof payload, "{\"type\":\"inspection\",\"id\":\"i%d\",\"data\":%s}", ++n,
             data);
    h_send(h, t, "siteward/A/event/system/tablet-1", payload);
}

static cJSON *inspected(harness *h, int64_t t, const char *body)
{
    char payload[256];
    snprintf(payload, sizeof payload, "{\"op\":\"inspected\",\"request_id\":\"q%lld\",%s}",
             (long long)t, body);
    h_send(h, t, "siteward/A/cmd/wang.gong", payload);
    return h_last(h, "siteward/A/reply/wang.gong");
}

/* The inspection_missed incident of `round` for the period from `from`. */
static cJSON *missed(harness *h, const char *round, const char *from)
{
    cJSON *v[64], *found = NULL;
    int n = incidents(h, "inspection_missed", v);
    for (int i = 0; i < n; i++)
        if (!found && !strcmp(detail_str(v[i], "round"), round) &&
            !strcmp(detail_str(v[i], "from"), from)) {
            found = v[i];
            v[i] = NULL;
        }
    free_all(v, n);
    return found;
}

static void tick_until(harness *h, int64_t start, int64_t end)
{
    for (int64_t next = h_tick(h, start); next && next <= end;)
        next = h_tick(h, next);
}

static void test_inspection_rounds(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms("2026-06-01T00:00:00+08:00"); /* a Monday, the first of the month */
    const int64_t DAY = 24 * HOUR;
    h_tick(h, t0);

    /* Day 1: both running parameters read, by one inspection event. */
    inspect_event(h, t0 + 9 * HOUR, "{\"equipment\":[\"pump-1\",\"power-room\"]}");
    /* Day 2: the pump by the op, the power room forgotten. */
    cJSON *r = inspected(h, t0 + DAY + 9 * HOUR, "\"equipment\":[\"pump-1\"]");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    assert_null(cJSON_GetObjectItemCaseSensitive(r, "incident"));
    cJSON_Delete(r);
    /* The week: lights by the op naming its round; access control never. */
    r = inspected(h, t0 + 2 * DAY, "\"round\":\"weekly-wear\",\"equipment\":[\"lights-b3\"]");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    cJSON_Delete(r);
    /* The vendor's monthly visit checks the elevator (the device is the
     * equipment), not the fire panel. */
    h_send(h, t0 + 10 * DAY, "siteward/A/event/system/elevator-3a",
           "{\"type\":\"inspection\",\"id\":\"v1\"}");

    tick_until(h, t0, t0 + 2 * DAY);
    cJSON *inc = missed(h, "daily-params", "2026-06-01T00:00:00+08:00");
    assert_null(inc);
    inc = missed(h, "daily-params", "2026-06-02T00:00:00+08:00");
    assert_non_null(inc);
    assert_string_equal(detail_list(inc, "missing"), "power-room");
    assert_string_equal(detail_str(inc, "every"), "day");
    assert_string_equal(h_str(inc, "opened"), "2026-06-03T00:00:00+08:00");
    cJSON_Delete(inc);
    cJSON *e = h_last(h, "siteward/A/escalation/engineering_supervisor");
    assert_non_null(e);
    cJSON_Delete(e);

    tick_until(h, t0 + 2 * DAY, t0 + 7 * DAY);
    inc = missed(h, "weekly-wear", "2026-06-01T00:00:00+08:00");
    assert_non_null(inc);
    assert_string_equal(detail_list(inc, "missing"), "access-gate-1");
    assert_string_equal(detail_str(inc, "to"), "2026-06-08T00:00:00+08:00");
    cJSON_Delete(inc);
    assert_null(missed(h, "monthly-vendor", "2026-06-01T00:00:00+08:00"));

    tick_until(h, t0 + 7 * DAY, t0 + 30 * DAY);
    inc = missed(h, "monthly-vendor", "2026-06-01T00:00:00+08:00");
    assert_non_null(inc);
    assert_string_equal(detail_list(inc, "missing"), "fire-panel");
    assert_string_equal(detail_str(inc, "to"), "2026-07-01T00:00:00+08:00");
    cJSON_Delete(inc);
}

static void test_inspected_rejects_bad_commands(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms("2026-06-01T09:00:00+08:00");
    static const char *const bad[] = {
        "\"equipment\":[]",
        "\"equipment\":\"pump-1\"",
        "\"equipment\":[\"no-such-pump\"]",
        "\"round\":\"no-such-round\",\"equipment\":[\"pump-1\"]",
        "\"round\":\"weekly-wear\",\"equipment\":[\"pump-1\"]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *r = inspected(h, t0 + (int64_t)i, bad[i]);
        assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
        assert_string_equal(h_str(r, "error"), "bad_command");
        cJSON_Delete(r);
    }
}

static void heartbeat(harness *h, int64_t t)
{
    static int n;
    char payload[160];
    snprintf(payload, sizeof payload,
             "{\"type\":\"heartbeat\",\"id\":\"hb%d\",\"location\":{\"building\":\"3\"}}", ++n);
    h_send(h, t, "siteward/A/event/sensor/sd-1", payload);
}

static void test_silent_device_opens_and_resolves(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms("2026-11-20T08:00:00+08:00");
    h_tick(h, t0);
    heartbeat(h, t0);
    /* Offline between 1 h and 1 h 15 min (slack 0.25) after it last spoke. */
    assert_int_equal(timer(h, "@silent:A/sensor/sd-1"), t0 + 75 * MIN);
    heartbeat(h, t0 + 10 * MIN); /* still an interval away: not moved */
    assert_int_equal(timer(h, "@silent:A/sensor/sd-1"), t0 + 75 * MIN);
    heartbeat(h, t0 + 20 * MIN); /* 55 min away: moved to 20 + 75 */
    assert_int_equal(timer(h, "@silent:A/sensor/sd-1"), t0 + 95 * MIN);
    h_tick(h, t0 + 94 * MIN);
    cJSON *v[64];
    assert_int_equal(incidents(h, "device_offline", v), 0);

    h_tick(h, t0 + 95 * MIN);
    int n = incidents(h, "device_offline", v);
    assert_int_equal(n, 1);
    assert_string_equal(h_str(v[0], "state"), "open");
    assert_string_equal(detail_str(v[0], "device"), "sensor/sd-1");
    assert_string_equal(h_str(cJSON_GetObjectItemCaseSensitive(v[0], "location"), "building"), "3");
    const char *id = h_str(v[0], "id");
    char idcopy[64];
    snprintf(idcopy, sizeof idcopy, "%s", id);
    free_all(v, n);
    /* Still silent: one incident, not one per interval. */
    h_tick(h, t0 + 300 * MIN);
    assert_int_equal(n = incidents(h, "device_offline", v), 1);
    free_all(v, n);

    heartbeat(h, t0 + 301 * MIN);
    n = incidents(h, "device_offline", v);
    assert_int_equal(n, 1);
    assert_string_equal(h_str(v[0], "id"), idcopy);
    assert_string_equal(h_str(v[0], "state"), "resolved");
    free_all(v, n);
    /* And it is watched again. */
    assert_int_equal(timer(h, "@silent:A/sensor/sd-1"), t0 + 376 * MIN);
}

static void test_silent_deadline_passed_while_down_rearms(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms("2026-11-20T08:00:00+08:00");
    heartbeat(h, t0);
    h_restart(h);
    /* Down for five hours: what the device said may still be queued at the
     * broker, so it gets a new interval rather than an incident. */
    h_tick(h, t0 + 300 * MIN);
    assert_int_equal(timer(h, "@silent:A/sensor/sd-1"), t0 + 375 * MIN);
    cJSON *v[64];
    assert_int_equal(incidents(h, "device_offline", v), 0);
    h_tick(h, t0 + 375 * MIN);
    int n = incidents(h, "device_offline", v);
    assert_int_equal(n, 1);
    free_all(v, n);
}

static void temp(harness *h, int64_t t, double v)
{
    static int n;
    char payload[160];
    snprintf(payload, sizeof payload,
             "{\"type\":\"room_temp\",\"id\":\"t%d\",\"value\":%.1f,"
             "\"location\":{\"building\":\"P\",\"area\":\"power_room\"}}",
             ++n, v);
    h_send(h, t, "siteward/A/event/sensor/rt-1", payload);
}

static void test_telemetry_shorter_than_duration_opens_nothing(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms("2026-11-20T13:00:00+08:00");
    temp(h, t0, 36.0);
    h_tick(h, t0 + MIN);
    assert_int_equal(timer(h, "@telemetry:A/power_room_hot/sensor/rt-1"), t0 + 5 * MIN);
    temp(h, t0 + 3 * MIN, 36.5);
    temp(h, t0 + 4 * MIN, 35.0); /* not above 35 any more */
    assert_int_equal(timer(h, "@telemetry:"), 0);
    h_tick(h, t0 + 5 * MIN);
    cJSON *v[64];
    assert_int_equal(incidents(h, "equipment_alarm", v), 0);
}

static void test_telemetry_hysteresis_and_clearing(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms("2026-11-20T13:00:00+08:00");
    temp(h, t0, 36.0);
    temp(h, t0 + 2 * MIN, 37.0);
    h_tick(h, t0 + 5 * MIN);
    cJSON *v[64];
    int n = incidents(h, "equipment_alarm", v);
    assert_int_equal(n, 1);
    assert_string_equal(h_str(v[0], "state"), "open");
    assert_string_equal(detail_str(v[0], "rule"), "power_room_hot");
    assert_string_equal(detail_str(v[0], "since"), "2026-11-20T13:00:00+08:00");
    assert_string_equal(h_str(v[0], "opened"), "2026-11-20T13:05:00+08:00");
    free_all(v, n);
    cJSON *e = h_last(h, "siteward/A/escalation/engineering_supervisor");
    assert_non_null(e);
    cJSON_Delete(e);

    /* 34 is below the trigger but above the clearing point: still open. */
    temp(h, t0 + 10 * MIN, 34.0);
    temp(h, t0 + 11 * MIN, 35.5);
    n = incidents(h, "equipment_alarm", v);
    assert_int_equal(n, 1);
    assert_string_equal(h_str(v[0], "state"), "open");
    free_all(v, n);

    temp(h, t0 + 20 * MIN, 32.5);
    n = incidents(h, "equipment_alarm", v);
    assert_int_equal(n, 1);
    assert_string_equal(h_str(v[0], "state"), "resolved");
    free_all(v, n);

    /* Hot again later: a new incident. */
    temp(h, t0 + 60 * MIN, 36.0);
    h_tick(h, t0 + 65 * MIN);
    n = incidents(h, "equipment_alarm", v);
    assert_int_equal(n, 2);
    free_all(v, n);
}

static void test_pump_pressure_band(void **state)
{
    harness *h = *state;
    int64_t t0 = h_ms("2026-11-20T13:00:00+08:00");
    h_send(h, t0, "siteward/A/event/sensor/p1", "{\"type\":\"pump_pressure\",\"value\":0.10}");
    h_tick(h, t0 + 2 * MIN);
    cJSON *v[64];
    int n = incidents(h, "equipment_alarm", v);
    assert_int_equal(n, 1);
    assert_string_equal(detail_str(v[0], "rule"), "pump_pressure_low");
    free_all(v, n);
    h_send(h, t0 + 3 * MIN, "siteward/A/event/sensor/p1",
           "{\"type\":\"pump_pressure\",\"value\":0.31}");
    n = incidents(h, "equipment_alarm", v);
    assert_string_equal(h_str(v[0], "state"), "resolved");
    free_all(v, n);
}

static int write_policy(const char *text, char *path, size_t len)
{
    snprintf(path, len, "/tmp/sw-expect-bad-%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"extends\": \"%s/config/policy/default.json\", %s}", SW_SOURCE_DIR, text);
    fclose(f);
    return 0;
}

static void test_example_site_policy_loads(void **state)
{
    (void)state;
    sw_policy p;
    assert_int_equal(sw_policy_load(&p, SW_SOURCE_DIR "/config/policy/example-site.json"), 0);
    const sw_round *r = sw_expect_round(&p, SW_ROUND_PATROL, "A", "key-areas");
    assert_non_null(r);
    assert_int_equal(r->nitems, 3);
    assert_int_equal(r->nwindows, 2);
    assert_int_equal(r->grace_ms, 5 * MIN);
    r = sw_expect_round(&p, SW_ROUND_INSPECT, "A", "monthly-vendor");
    assert_non_null(r);
    assert_int_equal(r->period, SW_PERIOD_MONTH);
    assert_int_equal(p.expect->ntele, 4);
    assert_int_equal(sw_expect_silent_rule(&p, "heartbeat")->after_ms, HOUR);
    sw_policy_free(&p);
}

static void test_bad_policy_is_named(void **state)
{
    (void)state;
    static const char *const bad[] = {
        /* windows overlap */
        "\"patrols\": {\"class\": \"patrol_missed\", \"schedule\": [{\"from\": \"06:00\", "
        "\"to\": \"23:00\", \"every\": \"1h\"}, {\"from\": \"22:00\", \"to\": \"06:00\", "
        "\"every\": \"1h\"}], \"rounds\": []}",
        /* a class that opens no incident */
        "\"patrols\": {\"class\": \"patrol\", \"schedule\": [{\"from\": \"06:00\", \"to\": "
        "\"06:00\", \"every\": \"2h\"}], \"rounds\": []}",
        /* clear on the wrong side */
        "\"telemetry\": {\"rules\": [{\"name\": \"x\", \"type\": \"room_temp\", \"above\": 35, "
        "\"clear\": 36, \"class\": \"equipment_alarm\"}]}",
        /* both above and below */
        "\"telemetry\": {\"rules\": [{\"name\": \"x\", \"type\": \"room_temp\", \"above\": 35, "
        "\"below\": 1, \"clear\": 30, \"class\": \"equipment_alarm\"}]}",
        "\"inspections\": {\"class\": \"inspection_missed\", \"rounds\": [{\"site\": \"A\", "
        "\"name\": \"d\", \"every\": \"fortnight\", \"equipment\": [\"p\"]}]}",
        "\"silent_devices\": {\"class\": \"device_offline\", \"after\": {\"heartbeat\": \"0s\"}}",
    };
    char path[256];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sw_policy p;
        write_policy(bad[i], path, sizeof path);
        assert_int_equal(sw_policy_load(&p, path), SW_ECONFIG);
        unlink(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_slots_across_22, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slot_met, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slot_missed_lists_missing_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_first_slot_is_not_judged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slot_progress_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkins_after_downtime_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inspection_rounds, setup_no_patrol, teardown),
        cmocka_unit_test_setup_teardown(test_inspected_rejects_bad_commands, setup_no_patrol,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_silent_device_opens_and_resolves, setup_no_patrol,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_silent_deadline_passed_while_down_rearms,
                                        setup_no_patrol, teardown),
        cmocka_unit_test_setup_teardown(test_telemetry_shorter_than_duration_opens_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_telemetry_hysteresis_and_clearing, setup_no_patrol,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pump_pressure_band, setup_no_patrol, teardown),
        cmocka_unit_test(test_example_site_policy_loads),
        cmocka_unit_test(test_bad_policy_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
