/*
 * Nothing grows without bound: a year of steady traffic on the injected
 * clock (fires, repairs with contacts, telemetry, retransmissions, repeated
 * commands, silences, weekly planned work), with retention steps as time
 * passes, under a policy with short retention windows. Once the windows
 * have turned over, the entry count of every named database stays within
 * what they hold; without any one of retention's owners (retention.c) the
 * database it owns keeps growing and this test fails.
 */
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
#include "timeutil.h"

#define HOUR (3600 * 1000LL)
#define DAY  (24 * HOUR)

static void sendf(harness *h, int64_t t, const char *topic, const char *fmt, ...)
{
    char payload[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(payload, sizeof payload, fmt, ap);
    va_end(ap);
    h_send(h, t, topic, payload);
}

/* Op `op` on incident `id` by li.wei, request id "ID-op" (and `extra`
 * members); sent twice, as a broker redelivery would. */
static void cmd(harness *h, int64_t t, const char *id, const char *op, const char *extra)
{
    for (int i = 0; i < 2; i++)
        sendf(h, t + i * 1000, "siteward/A/cmd/li.wei",
              "{\"op\":\"%s\",\"incident\":\"%s\",\"request_id\":\"%s-%s\"%s}", op, id, id, op,
              extra);
}

/* The id of the incident published last. */
static void last_incident(harness *h, char *id, size_t len)
{
    static const char prefix[] = "siteward/A/incident/";
    for (int i = h->npubs - 1; i >= 0; i--)
        /* Not the empty retained message of a purged incident. */
        if (!strncmp(h->pubs[i].topic, prefix, sizeof prefix - 1) && h->pubs[i].payload[0]) {
            snprintf(id, len, "%s", h->pubs[i].topic + sizeof prefix - 1);
            return;
        }
    fail_msg("no incident was published");
}

static void reply_incident(harness *h, const char *user, char *id, size_t len)
{
    char topic[64];
    snprintf(topic, sizeof topic, "siteward/A/reply/%s", user);
    cJSON *r = h_last(h, topic);
    assert_non_null(r);
    snprintf(id, len, "%s", h_str(cJSON_GetObjectItemCaseSensitive(r, "incident"), "id"));
    cJSON_Delete(r);
}

static void day_of_traffic(harness *h, int64_t t, int d)
{
    char id[SW_ID_MAX + 1], user[32], when[40];

    /* A fire on a floor of its own (a correlation key of its own), its
     * event retransmitted, handled, closed and reviewed. */
    for (int i = 0; i < 2; i++)
        sendf(h, t + 9 * HOUR + i * 1000, "siteward/A/event/sensor/s7",
              "{\"type\":\"smoke\",\"id\":\"f-%d\",\"location\":{\"building\":\"%d\","
              "\"floor\":\"%d\"}}",
              d, d % 5, d);
    last_incident(h, id, sizeof id);
    cmd(h, t + 9 * HOUR + 60000, id, "plan_activated", "");
    cmd(h, t + 9 * HOUR + 120000, id, "on_site", "");
    cmd(h, t + 9 * HOUR + 180000, id, "comment", ",\"note\":\"detector dust\"");
    cmd(h, t + 9 * HOUR + 240000, id, "close", "");
    cmd(h, t + 10 * HOUR, id, "review",
        ",\"problem\":\"dust\",\"rectification\":\"cleaned\",\"optimization\":\"quarterly\","
        "\"participants\":[\"li.wei\"]");

    /* A resident's repair with contact details, sent twice, done. */
    snprintf(user, sizeof user, "resident-%d", d % 30);
    char topic[64];
    snprintf(topic, sizeof topic, "siteward/A/report/%s", user);
    for (int i = 0; i < 2; i++)
        sendf(h, t + 11 * HOUR + i * 1000, topic,
              "{\"report_id\":\"r-%d\",\"category\":\"repair\",\"text\":\"tap\",\"location\":"
              "{\"building\":\"%d\",\"unit\":\"%d\"},\"contact\":{\"phone\":\"138\"}}",
              d, d % 5, d);
    reply_incident(h, user, id, sizeof id);
    cmd(h, t + 11 * HOUR + 60000, id, "ack", "");
    cmd(h, t + 12 * HOUR, id, "close", "");

    /* Telemetry that opens nothing: records. */
    for (int i = 0; i < 3; i++)
        sendf(h, t + (13 + i) * HOUR, "siteward/A/event/sensor/p1",
              "{\"type\":\"pump_pressure\",\"id\":\"p-%d-%d\",\"value\":0.5}", d, i);

    /* An hour's silence of water alarms, muting one (a record). */
    sendf(h, t + 14 * HOUR, "siteward/A/cmd/li.wei",
          "{\"op\":\"silence\",\"class\":\"water\",\"for\":\"1h\",\"reason\":\"pipe work\","
          "\"request_id\":\"%d-silence\"}",
          d);
    sendf(h, t + 14 * HOUR + 1800000, "siteward/A/event/sensor/w1",
          "{\"type\":\"pipe_burst\",\"id\":\"w-%d\",\"location\":{\"building\":\"1\"}}", d);

    /* Weekly planned work three days ahead, announced and noticed. */
    if (d % 7 == 0) {
        char start[40];
        sw_time_format(t + 3 * DAY + 9 * HOUR, 8 * 3600, start, sizeof start);
        sw_time_format(t + 3 * DAY + 12 * HOUR, 8 * 3600, when, sizeof when);
        sendf(h, t + 15 * HOUR, "siteward/A/report/eng-1",
              "{\"report_id\":\"pw-%d\",\"category\":\"planned_work\",\"kind\":\"power_cut\","
              "\"start\":\"%s\",\"end\":\"%s\",\"location\":{\"building\":\"9\"}}",
              d, start, when);
        reply_incident(h, "eng-1", id, sizeof id);
        cmd(h, t + 15 * HOUR + 60000, id, "customer_service_notified", "");
        cmd(h, t + 15 * HOUR + 120000, id, "residents_notified", "");
    }
}

static void counts(harness *h, size_t *out)
{
    MDB_txn *txn;
    assert_int_equal(sw_store_begin(&h->store, 0, &txn), 0);
    for (int i = 0; i < SW_DB_COUNT; i++)
        out[i] = sw_store_count(&h->store, txn, (enum sw_db)i);
    mdb_txn_abort(txn);
}

static void test_a_year_stays_flat(void **state)
{
    (void)state;
    char dir[] = "/tmp/sw-growth-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/policy.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    /* Short windows, so that a year turns them over many times. */
    fprintf(f,
            "{\"extends\": \"%s/config/policy/default.json\",\n"
            " \"retention\": {\"keep\": \"21d\", \"review_grace\": \"7d\", \"dedup\": \"14d\"}}\n",
            SW_SOURCE_DIR);
    fclose(f);
    harness *h = h_new(path, 1.0);
    int64_t day0 = h_ms("2026-01-01T00:00:00+08:00");
    size_t now[SW_DB_COUNT], peak[SW_DB_COUNT] = {0};
    enum { WARM = 91, MEASURE = 161, YEAR = 364 };

    for (int d = 0; d < YEAR; d++) {
        int64_t t = day0 + d * DAY;
        h_clear(h);
        day_of_traffic(h, t, d);
        /* The day's deadlines (silence ends, window ends, escalations),
         * then retention: a step every few hours. */
        for (int64_t s = t + 16 * HOUR; s <= t + DAY; s += 4 * HOUR) {
            int purged;
            h_tick(h, s);
            assert_int_equal(sw_engine_purge(&h->engine, s, 100, &purged), 0);
        }
        /* Sampled once a week, on the planned work's weekday, once the
         * longest window (a planned work: keep to be closed, keep to be
         * purged, plus the lead) has turned over: the peak of the first
         * ten weeks bounds every week after. */
        if (d % 7 != 6 || d < WARM)
            continue;
        counts(h, now);
        for (int i = 0; i < SW_DB_COUNT; i++) {
            if (d < MEASURE) {
                peak[i] = now[i] > peak[i] ? now[i] : peak[i];
                continue;
            }
            if (now[i] > peak[i])
                fail_msg("day %d: database %s has %zu entries, more than its %zu of days %d-%d", d,
                         sw_store_db_name((enum sw_db)i), now[i], peak[i], WARM, MEASURE);
        }
    }
    /* The traffic did reach every database the owners look after. */
    assert_true(peak[SW_DB_DEDUP] > 0 && peak[SW_DB_RECORDS] > 0 && peak[SW_DB_CORR] > 0 &&
                peak[SW_DB_PERSONAL] > 0 && peak[SW_DB_TIMELINE] > 0);
    assert_true(h->engine.stats.purged > 500);
    assert_true(h->engine.stats.duplicates > 5 * YEAR);
    h_free(h);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_year_stays_flat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
