/*
 * Quality figures (sitewardctl report) over a generated history whose
 * answers are known: on-time rates, response times, repeat complaints,
 * satisfaction and reviews.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "report.h"

#define MIN  60000LL
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)

static void cmd(harness *h, int64_t t, const char *op, const char *id, const char *extra)
{
    char json[512];
    snprintf(json, sizeof json, "{\"op\":\"%s\",\"incident\":\"%s\"%s}", op, id, extra);
    h_send(h, t, "siteward/R/cmd/li.wei", json);
}

/* The id of the incident the last report on `user`'s reply topic opened. */
static void report(harness *h, int64_t t, const char *user, const char *json, char *id)
{
    char topic[96];
    snprintf(topic, sizeof topic, "siteward/R/report/%s", user);
    h_send(h, t, topic, json);
    snprintf(topic, sizeof topic, "siteward/R/reply/%s", user);
    cJSON *r = h_last(h, topic);
    snprintf(id, SW_ID_MAX, "%s", h_str(cJSON_GetObjectItemCaseSensitive(r, "incident"), "id"));
    cJSON_Delete(r);
}

static const cJSON *path(const cJSON *o, const char *a, const char *b, const char *c)
{
    o = cJSON_GetObjectItemCaseSensitive(o, a);
    o = b ? cJSON_GetObjectItemCaseSensitive(o, b) : o;
    return c ? cJSON_GetObjectItemCaseSensitive(o, c) : o;
}

static void test_known_history(void **state)
{
    harness *h = *state;
    int64_t d = h_ms("2026-11-02T10:00:00+08:00"); /* a Monday */
    char r1[SW_ID_MAX], r2[SW_ID_MAX], c[4][SW_ID_MAX], id[SW_ID_MAX];

    /* Two repairs: the first on time throughout, the second acknowledged
     * late and never given progress feedback. */
    report(h, d, "u1",
           "{\"category\":\"repair\",\"location\":{\"building\":\"1\",\"unit\":\"101\"}}", r1);
    cmd(h, d + 10 * MIN, "ack", r1, "");
    cmd(h, d + 20 * HOUR, "progress", r1, "");
    cmd(h, d + 2 * DAY, "close", r1, "");
    report(h, d + HOUR, "u2",
           "{\"category\":\"repair\",\"location\":{\"building\":\"2\",\"unit\":\"202\"}}", r2);
    cmd(h, d + HOUR + 20 * MIN, "ack", r2, "");
    h_tick(h, d + 26 * HOUR); /* progress (24 h) missed */

    /* Complaints at unit 3/1203 on day 0, 10 and 45 (one repeat), and one
     * at another unit; two satisfaction callbacks, scored 4 and 5. */
    const char *at1203 =
        "{\"category\":\"complaint\",\"location\":{\"building\":\"3\",\"unit\":\"1203\"}}";
    report(h, d, "u3", at1203, c[0]);
    report(h, d + 10 * DAY, "u3", at1203, c[1]);
    report(h, d + 45 * DAY, "u3", at1203, c[2]);
    report(h, d + 2 * DAY, "u4",
           "{\"category\":\"complaint\",\"location\":{\"building\":\"4\",\"unit\":\"404\"}}", c[3]);
    cmd(h, d + 3 * HOUR, "close", c[0], "");
    cmd(h, d + 4 * HOUR, "satisfaction", c[0], ",\"score\":4");
    cmd(h, d + 3 * DAY, "close", c[3], "");
    cmd(h, d + 3 * DAY + HOUR, "satisfaction", c[3], ",\"score\":5");

    /* Two fires: one reviewed within 24 h of closing, one not. */
    h_send(h, d + 5 * DAY, "siteward/R/event/sensor/f1",
           "{\"type\":\"smoke\",\"location\":{\"building\":\"5\",\"floor\":\"1\"}}");
    cJSON *inc = h_last(h, "siteward/R/incident/R-20261107-0001");
    snprintf(id, sizeof id, "%s", h_str(inc, "id"));
    cJSON_Delete(inc);
    cmd(h, d + 5 * DAY + MIN, "plan_activated", id, "");
    cmd(h, d + 5 * DAY + 2 * MIN, "on_site", id, "");
    cmd(h, d + 5 * DAY + HOUR, "close", id, "");
    cmd(h, d + 5 * DAY + 5 * HOUR, "review", id,
        ",\"problem\":\"p\",\"rectification\":\"r\",\"optimization\":\"o\",\"participants\":["
        "\"a\"]");
    h_send(h, d + 6 * DAY, "siteward/R/event/sensor/f2",
           "{\"type\":\"smoke\",\"location\":{\"building\":\"6\",\"floor\":\"1\"}}");
    inc = h_last(h, "siteward/R/incident/R-20261108-0001");
    snprintf(id, sizeof id, "%s", h_str(inc, "id"));
    cJSON_Delete(inc);
    cmd(h, d + 6 * DAY + HOUR, "close", id, "");
    h_tick(h, d + 8 * DAY);

    /* Elsewhere and outside the period: not counted. */
    h_send(h, d, "siteward/Q/event/sensor/x", "{\"type\":\"smoke\"}");
    h_send(h, d - 5 * DAY, "siteward/R/event/sensor/old", "{\"type\":\"smoke\"}");

    MDB_txn *txn;
    assert_int_equal(sw_store_begin(&h->store, 0, &txn), 0);
    cJSON *r = sw_report_build(&h->store, txn, "R", d - HOUR, d + 60 * DAY);
    mdb_txn_abort(txn);
    assert_non_null(r);

    assert_int_equal(h_num(path(r, "classes", "repair", NULL), "count"), 2);
    const cJSON *obl = path(r, "classes", "repair", "obligations");
    assert_true(h_num(cJSON_GetObjectItemCaseSensitive(obl, "responded"), "on_time_rate") == 0.5);
    assert_true(h_num(cJSON_GetObjectItemCaseSensitive(obl, "progress"), "on_time_rate") == 0.5);
    /* The second repair was not closed within 3 working days either. */
    assert_true(h_num(cJSON_GetObjectItemCaseSensitive(obl, "closed"), "on_time_rate") == 0.5);
    const cJSON *rt = path(r, "classes", "repair", "response_s");
    assert_int_equal(h_num(rt, "n"), 2);
    assert_true(h_num(rt, "p50") == 600);
    assert_true(h_num(rt, "p90") == 1200);

    assert_int_equal(h_num(path(r, "classes", "complaint", NULL), "count"), 4);
    assert_int_equal(h_num(r, "repeat_complaints"), 1);
    /* Both closed complaints were closed after their 1-hour callback fell
     * due without one: missed, not cancelled. */
    const cJSON *cb = path(r, "classes", "complaint", "obligations");
    assert_int_equal(h_num(cJSON_GetObjectItemCaseSensitive(cb, "callback"), "missed"), 2);
    assert_true(h_num(cJSON_GetObjectItemCaseSensitive(cb, "callback"), "on_time_rate") == 0);
    assert_true(h_num(path(r, "satisfaction", NULL, NULL), "average") == 4.5);
    assert_int_equal(h_num(path(r, "satisfaction", NULL, NULL), "n"), 2);

    assert_int_equal(h_num(path(r, "classes", "fire", NULL), "count"), 2);
    assert_int_equal(h_num(path(r, "reviews", NULL, NULL), "due"), 2);
    assert_int_equal(h_num(path(r, "reviews", NULL, NULL), "on_time"), 1);
    const cJSON *fire = path(r, "classes", "fire", "obligations");
    assert_true(h_num(cJSON_GetObjectItemCaseSensitive(fire, "review"), "on_time_rate") == 0.5);
    assert_null(path(r, "classes", "telemetry", NULL));
    cJSON_Delete(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_known_history, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
