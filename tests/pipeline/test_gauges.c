/*
 * The metrics' gauges kept batch by batch agree with the counts kept in the
 * store and with a count of the incidents themselves, and a reloaded policy reaches open incidents
 * only where it says "apply_to_open" (reapply.c), on the injected clock.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gauges.h"
#include "harness.h"
#include "metrics.h"

#define T0  "2026-11-20T08:15:03+08:00"
#define MIN 60000LL

/* The lines of the gauge families kept by the batches. */
static char *gauges(sw_metrics *m)
{
    sw_metrics_now now = {0};
    size_t len;
    char *text = sw_metrics_render(m, &now, &len), *out = calloc(1, len + 1);
    assert_non_null(text);
    assert_non_null(out);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (!strncmp(line, "siteward_incidents_open{", 24) ||
            !strncmp(line, "siteward_obligations_pending ", 29)) {
            strcat(out, line);
            strcat(out, "\n");
        }
    free(text);
    return out;
}

/* Remove the kept counts, as in a store from before them. */
static void forget_counts(harness *h)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    assert_int_equal(sw_store_begin(&h->store, 1, &txn), 0);
    assert_int_equal(mdb_cursor_open(txn, h->store.dbi[SW_DB_META], &cur), 0);
    for (;;) {
        k.mv_size = 2;
        k.mv_data = "g/";
        if (mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) || k.mv_size < 2 ||
            memcmp(k.mv_data, "g/", 2))
            break;
        assert_int_equal(mdb_cursor_del(cur, 0), 0);
    }
    mdb_cursor_close(cur);
    assert_int_equal(mdb_txn_commit(txn), 0);
}

static void assert_same(sw_metrics *m, sw_metrics *other)
{
    char *kept = gauges(m), *counted = gauges(other);
    /* A series that went back to 0 stays in memory; a count has none. */
    char *zero;
    while ((zero = strstr(kept, "} 0\n"))) {
        char *start = zero;
        while (start > kept && start[-1] != '\n')
            start--;
        memmove(start, zero + 4, strlen(zero + 4) + 1);
    }
    while ((zero = strstr(counted, "} 0\n"))) {
        char *start = zero;
        while (start > counted && start[-1] != '\n')
            start--;
        memmove(start, zero + 4, strlen(zero + 4) + 1);
    }
    assert_string_equal(kept, counted);
    free(kept);
    free(counted);
}

/* The in-memory gauges, the counts kept in the store, and a count of the
 * incidents themselves all agree. */
static void assert_matches_the_store(harness *h, sw_metrics *m)
{
    sw_metrics *stored = sw_metrics_new(), *recounted = sw_metrics_new();
    assert_non_null(stored);
    assert_non_null(recounted);
    assert_int_equal(sw_gauges_load(stored, &h->store), 0);
    assert_same(m, stored);
    forget_counts(h);
    assert_int_equal(sw_gauges_load(recounted, &h->store), 0);
    assert_same(m, recounted);
    sw_metrics_free(stored);
    sw_metrics_free(recounted);
}

static void cmd(harness *h, int64_t t, const char *op, const char *id, const char *extra)
{
    char json[256];
    snprintf(json, sizeof json, "{\"op\":\"%s\",\"incident\":\"%s\"%s}", op, id, extra);
    h_send(h, t, "siteward/A/cmd/li.wei", json);
}

static void test_kept_gauges_match_the_store(void **state)
{
    harness *h = *state;
    sw_metrics *m = sw_metrics_new();
    int64_t t0 = h_ms(T0);
    assert_non_null(m);
    assert_int_equal(sw_gauges_load(m, &h->store), 0);
    h->engine.metrics = m;

    h_send(h, t0, "siteward/A/event/sensor/d1",
           "{\"type\":\"smoke\",\"id\":\"e1\",\"location\":{\"building\":\"1\",\"floor\":\"1\"}}");
    h_send(h, t0, "siteward/A/event/sensor/d2",
           "{\"type\":\"pipe_burst\",\"id\":\"e2\",\"location\":{\"building\":\"2\"}}");
    h_send(h, t0, "siteward/B/report/resident-7",
           "{\"report_id\":\"r1\",\"category\":\"repair\",\"text\":\"tap\","
           "\"location\":{\"building\":\"5\",\"unit\":\"1\"}}");
    assert_matches_the_store(h, m);

    /* Level II found to be Level I; a fire missed, then met late. */
    cmd(h, t0 + MIN, "reclassify", "A-20261120-0002", ",\"class\":\"fire\"");
    h_tick(h, t0 + 6 * MIN);
    cmd(h, t0 + 7 * MIN, "plan_activated", "A-20261120-0001", "");
    cmd(h, t0 + 7 * MIN, "on_site", "A-20261120-0001", "");
    assert_matches_the_store(h, m);

    /* Resolved and closed: no longer open, but its review is pending. */
    cmd(h, t0 + 8 * MIN, "resolve", "A-20261120-0001", "");
    cmd(h, t0 + 9 * MIN, "close", "A-20261120-0001", "");
    assert_matches_the_store(h, m);
    cmd(h, t0 + 10 * MIN, "reopen", "A-20261120-0001", "");
    assert_matches_the_store(h, m);

    /* The outcomes: plan_activated of both fires missed (the reclassified
     * one's limit counts from its first alarm), manager_on_site of the
     * first met on time. */
    sw_metrics_now now = {0};
    size_t len;
    char *text = sw_metrics_render(m, &now, &len);
    assert_non_null(
        strstr(text, "siteward_obligations_total{class=\"fire\",outcome=\"missed\"} 2\n"));
    assert_non_null(
        strstr(text, "siteward_obligations_total{class=\"fire\",outcome=\"on_time\"} 1\n"));
    free(text);

    /* A restart counts the same again from the store. */
    h_restart(h);
    assert_matches_the_store(h, m);
    h->engine.metrics = NULL;
    sw_metrics_free(m);
}

/* Write the default policy with fire's plan_activated `within`, and
 * apply_to_open on fire when `apply` is set. */
static void fire_policy(const char *path, const char *within, int apply)
{
    FILE *in = fopen(SW_SOURCE_DIR "/config/policy/default.json", "r");
    char *buf = calloc(1, 1 << 20);
    assert_non_null(in);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, in);
    fclose(in);
    buf[n] = 0;
    cJSON *root = cJSON_Parse(buf);
    free(buf);
    assert_non_null(root);
    cJSON *fire = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "classes"), "fire");
    cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItem(fire, "obligations"))
    {
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "name")), "plan_activated"))
            cJSON_ReplaceItemInObject(o, "within", cJSON_CreateString(within));
    }
    if (apply)
        cJSON_AddBoolToObject(fire, "apply_to_open", 1);
    char *txt = cJSON_Print(root);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs(txt, out);
    fclose(out);
    cJSON_free(txt);
    cJSON_Delete(root);
}

/* What a reload does: the plugins borrow the policy, so they go first. */
static void swap_policy(harness *h, const char *path)
{
    sw_plugins_unload(h->plugins);
    sw_policy_free(&h->policy);
    assert_int_equal(sw_policy_load(&h->policy, path), 0);
    assert_int_equal(sw_plugins_load(&h->plugins, &h->cfg, &h->policy), 0);
    h->engine.plugins = h->plugins;
}

static int64_t plan_due(harness *h, const char *id)
{
    char topic[96];
    snprintf(topic, sizeof topic, "siteward/A/incident/%s", id);
    cJSON *inc = h_last(h, topic);
    assert_non_null(inc);
    int64_t due = h_ms(h_str(h_obligation(inc, "plan_activated"), "due"));
    cJSON_Delete(inc);
    return due;
}

/* Escalations published about plan_activated of incident `id`. */
static int escalations_of(harness *h, const char *id)
{
    int n = 0;
    for (int i = 0; i < h->npubs; i++) {
        if (strncmp(h->pubs[i].topic, "siteward/A/escalation/", 22))
            continue;
        cJSON *e = cJSON_Parse(h->pubs[i].payload);
        const char *ob = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "obligation"));
        n += !strcmp(h_str(e, "incident"), id) && ob && !strcmp(ob, "plan_activated");
        cJSON_Delete(e);
    }
    return n;
}

static void test_reload_reaches_open_incidents_only_when_asked(void **state)
{
    harness *h = *state;
    char path[300];
    int64_t t0 = h_ms(T0);
    int changed = -1;
    snprintf(path, sizeof path, "%s/policy.json", h->dir);

    h_send(h, t0, "siteward/A/event/sensor/d1",
           "{\"type\":\"smoke\",\"id\":\"e1\",\"location\":{\"building\":\"1\",\"floor\":\"1\"}}");
    h_send(h, t0 + MIN, "siteward/A/event/sensor/d2",
           "{\"type\":\"smoke\",\"id\":\"e2\",\"location\":{\"building\":\"2\",\"floor\":\"1\"}}");
    h_tick(h, t0 + 5 * MIN); /* the first one's plan is missed */
    assert_int_equal(plan_due(h, "A-20261120-0002"), t0 + 6 * MIN);

    /* A longer limit, not applied to open incidents. */
    fire_policy(path, "20m", 0);
    swap_policy(h, path);
    int before = h->npubs;
    assert_int_equal(sw_engine_reapply(&h->engine, &changed), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(h->npubs, before);
    h_send(h, t0 + 2 * MIN, "siteward/A/event/sensor/d3",
           "{\"type\":\"smoke\",\"id\":\"e3\",\"location\":{\"building\":\"3\",\"floor\":\"1\"}}");
    assert_int_equal(plan_due(h, "A-20261120-0003"), t0 + 22 * MIN);
    assert_int_equal(plan_due(h, "A-20261120-0002"), t0 + 6 * MIN);

    /* Applied: the pending one is recomputed from its first alarm; the
     * missed one keeps its due time. */
    fire_policy(path, "30m", 1);
    swap_policy(h, path);
    assert_int_equal(sw_engine_reapply(&h->engine, &changed), 0);
    assert_int_equal(changed, 2);
    assert_int_equal(plan_due(h, "A-20261120-0002"), t0 + 31 * MIN);
    assert_int_equal(plan_due(h, "A-20261120-0003"), t0 + 32 * MIN);
    assert_int_equal(plan_due(h, "A-20261120-0001"), t0 + 5 * MIN);

    /* The deadlines moved with them: nothing escalates at the old time. */
    h_tick(h, t0 + 7 * MIN);
    assert_int_equal(escalations_of(h, "A-20261120-0002"), 0);
    assert_int_equal(escalations_of(h, "A-20261120-0003"), 0);
    h_tick(h, t0 + 31 * MIN);
    assert_int_equal(escalations_of(h, "A-20261120-0002"), 1);
    assert_int_equal(escalations_of(h, "A-20261120-0003"), 0);
    assert_int_equal(sw_engine_reapply(&h->engine, &changed), 0);
    assert_int_equal(changed, 0); /* nothing left to change */
}

/* More open incidents than one step takes: every one is reached once. */
static void test_reapply_in_steps(void **state)
{
    harness *h = *state;
    char path[300], topic[96], payload[160];
    int64_t t0 = h_ms(T0);
    int changed = -1, n = 600;
    snprintf(path, sizeof path, "%s/policy.json", h->dir);

    for (int i = 0; i < n; i++) {
        snprintf(topic, sizeof topic, "siteward/%s/event/sensor/d%d", i % 2 ? "A" : "B", i);
        snprintf(payload, sizeof payload,
                 "{\"type\":\"smoke\",\"id\":\"e%d\",\"location\":{\"building\":\"b%d\"}}", i, i);
        h_send(h, t0, topic, payload);
    }
    fire_policy(path, "30m", 1);
    swap_policy(h, path);
    int since = h->npubs, a = 0;
    assert_int_equal(sw_engine_reapply(&h->engine, &changed), 0);
    assert_int_equal(changed, n);
    assert_int_equal(h->npubs - since, n); /* each incident published once */
    for (int i = since; i < h->npubs; i++) {
        cJSON *inc = cJSON_Parse(h->pubs[i].payload);
        a += !strncmp(h->pubs[i].topic, "siteward/A/incident/", 20);
        assert_int_equal(h_ms(h_str(h_obligation(inc, "plan_activated"), "due")), t0 + 30 * MIN);
        cJSON_Delete(inc);
    }
    assert_int_equal(a, n / 2);
    assert_int_equal(h_tick(h, t0 + 6 * MIN), t0 + 10 * MIN); /* manager_on_site is next */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kept_gauges_match_the_store, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_reload_reaches_open_incidents_only_when_asked, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_reapply_in_steps, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
