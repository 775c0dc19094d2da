/* metrics.c: the Prometheus text and the stats JSON fields, from figures
 * fed in by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char *render(sw_metrics *m, const sw_metrics_now *now)
{
    size_t len = 0;
    char *text = sw_metrics_render(m, now, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

/* The block of one family: from its HELP line to the next HELP line. */
static char *family(const char *text, const char *name)
{
    char head[160];
    snprintf(head, sizeof head, "# HELP %s ", name);
    const char *at = strstr(text, head);
    assert_non_null(at);
    const char *end = strstr(at + 1, "# HELP ");
    size_t n = end ? (size_t)(end - at) : strlen(at);
    char *out = malloc(n + 1);
    assert_non_null(out);
    memcpy(out, at, n);
    out[n] = 0;
    return out;
}

static void test_counters_and_gauges(void **state)
{
    (void)state;
    sw_metrics *m = sw_metrics_new();
    sw_metrics_now now = {.received = 7,
                          .accepted = 4,
                          .duplicates = 1,
                          .opened = 3,
                          .escalations = 2,
                          .timers_armed = 5,
                          .map_used = 4096,
                          .map_size = 1 << 20,
                          .inbox_backlog = 9};
    assert_non_null(m);
    sw_metrics_rejected(m, "bad_json", 1);
    sw_metrics_rejected(m, "unknown_type", 2);
    sw_metrics_rejected(m, "bad_json", 1);
    sw_metrics_open(m, "B", 0, 1);
    sw_metrics_open(m, "A", 1, 1);
    sw_metrics_open(m, "A", 2, 1);
    sw_metrics_open(m, "A", 2, -1);
    sw_metrics_pending(m, 4);
    sw_metrics_pending(m, -1);
    sw_metrics_outcome(m, "fire", 1);
    sw_metrics_outcome(m, "fire", 0);
    sw_metrics_outcome(m, "fire", 0);
    sw_metrics_reloaded(m, 1);
    sw_metrics_reloaded(m, 0);
    char *text = render(m, &now);

    char *f = family(text, "siteward_messages_received_total");
    assert_string_equal(f, "# HELP siteward_messages_received_total Messages taken from the "
                           "inbox.\n# TYPE siteward_messages_received_total counter\n"
                           "siteward_messages_received_total 7\n");
    free(f);
    f = family(text, "siteward_messages_rejected_total");
    assert_non_null(strstr(f, "# TYPE siteward_messages_rejected_total counter\n"
                              "siteward_messages_rejected_total{reason=\"bad_json\"} 2\n"
                              "siteward_messages_rejected_total{reason=\"unknown_type\"} 2\n"));
    free(f);
    /* Sorted by site, then level; a series that went back to 0 stays, at 0. */
    f = family(text, "siteward_incidents_open");
    assert_non_null(strstr(f, "# TYPE siteward_incidents_open gauge\n"
                              "siteward_incidents_open{site=\"A\",level=\"1\"} 1\n"
                              "siteward_incidents_open{site=\"A\",level=\"2\"} 0\n"
                              "siteward_incidents_open{site=\"B\",level=\"none\"} 1\n"));
    free(f);
    f = family(text, "siteward_obligations_total");
    assert_non_null(strstr(f,
                           "siteward_obligations_total{class=\"fire\",outcome=\"missed\"} 2\n"
                           "siteward_obligations_total{class=\"fire\",outcome=\"on_time\"} 1\n"));
    free(f);
    assert_non_null(strstr(text, "\nsiteward_obligations_pending 3\n"));
    assert_non_null(strstr(text, "\nsiteward_timers_armed 5\n"));
    assert_non_null(strstr(text, "\nsiteward_store_map_used_bytes 4096\n"));
    assert_non_null(strstr(text, "\nsiteward_store_map_size_bytes 1048576\n"));
    assert_non_null(strstr(text, "\nsiteward_inbox_backlog 9\n"));
    assert_non_null(strstr(text, "\nsiteward_reloads_total 1\n"));
    assert_non_null(strstr(text, "\nsiteward_reloads_refused_total 1\n"));
    assert_non_null(strstr(text, "# TYPE siteward_messages_duplicate_total counter\n"
                                 "siteward_messages_duplicate_total 1\n"));

    /* Every family: HELP then TYPE; counters and only counters end in _total. */
    for (const char *p = strstr(text, "# HELP "); p; p = strstr(p + 1, "# HELP ")) {
        char name[96], type[16], again[96];
        assert_int_equal(sscanf(p, "# HELP %95s", name), 1);
        const char *t = strchr(p, '\n') + 1;
        assert_int_equal(sscanf(t, "# TYPE %95s %15s", again, type), 2);
        assert_string_equal(name, again);
        size_t n = strlen(name);
        int total = n > 6 && !strcmp(name + n - 6, "_total");
        assert_int_equal(total, !strcmp(type, "counter"));
    }
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
    sw_metrics_free(m);
}

static void test_histogram(void **state)
{
    (void)state;
    sw_metrics *m = sw_metrics_new();
    sw_metrics_now now = {0};
    assert_non_null(m);
    sw_metrics_latency(m, 0);     /* le 0.001 */
    sw_metrics_latency(m, 1);     /* le 0.001: bounds are inclusive */
    sw_metrics_latency(m, 2);     /* le 0.002 */
    sw_metrics_latency(m, 3);     /* le 0.005 */
    sw_metrics_latency(m, -5);    /* a clock step back counts as 0 */
    sw_metrics_latency(m, 10001); /* only +Inf */
    char *text = render(m, &now);
    char *f = family(text, "siteward_processing_latency_seconds");
    assert_string_equal(
        f, "# HELP siteward_processing_latency_seconds Time from a message's receipt to its "
           "batch being applied.\n"
           "# TYPE siteward_processing_latency_seconds histogram\n"
           "siteward_processing_latency_seconds_bucket{le=\"0.001\"} 3\n"
           "siteward_processing_latency_seconds_bucket{le=\"0.002\"} 4\n"
           "siteward_processing_latency_seconds_bucket{le=\"0.005\"} 5\n"
           "siteward_processing_latency_seconds_bucket{le=\"0.01\"} 5\n"
           "siteward_processing_latency_seconds_bucket{le=\"0.025\"} 5\n"
           "siteward_processing_latency_seconds_bucket{le=\"0.05\"} 5\n"
           "siteward_processing_latency_seconds_bucket{le=\"0.1\"} 5\n"
           "siteward_processing_latency_seconds_bucket{le=\"0.25\"} 5\n"
           "siteward_processing_latency_seconds_bucket{le=\"0.5\"} 5\n"
           "siteward_processing_latency_seconds_bucket{le=\"1\"} 5\n"
           "siteward_processing_latency_seconds_bucket{le=\"2.5\"} 5\n"
           "siteward_processing_latency_seconds_bucket{le=\"5\"} 5\n"
           "siteward_processing_latency_seconds_bucket{le=\"10\"} 5\n"
           "siteward_processing_latency_seconds_bucket{le=\"+Inf\"} 6\n"
           "siteward_processing_latency_seconds_sum 10.007\n"
           "siteward_processing_latency_seconds_count 6\n");
    free(f);
    free(text);
    sw_metrics_free(m);
}

static void test_label_escaping(void **state)
{
    (void)state;
    sw_metrics *m = sw_metrics_new();
    sw_metrics_now now = {0};
    assert_non_null(m);
    sw_metrics_outcome(m, "odd\"class\\\nname", 1);
    char *text = render(m, &now);
    assert_non_null(strstr(text, "siteward_obligations_total{class=\"odd\\\"class\\\\\\nname\","
                                 "outcome=\"on_time\"} 1\n"));
    free(text);
    sw_metrics_free(m);
}

static void test_gauges_clear(void **state)
{
    (void)state;
    sw_metrics *m = sw_metrics_new();
    sw_metrics_now now = {0};
    assert_non_null(m);
    sw_metrics_open(m, "A", 1, 5);
    sw_metrics_pending(m, 5);
    sw_metrics_rejected(m, "bad_json", 1);
    sw_metrics_gauges_clear(m);
    char *text = render(m, &now);
    assert_null(strstr(text, "siteward_incidents_open{"));
    assert_non_null(strstr(text, "\nsiteward_obligations_pending 0\n"));
    assert_non_null(strstr(text, "{reason=\"bad_json\"} 1\n")); /* counters are kept */
    free(text);
    sw_metrics_free(m);
}

static void test_json(void **state)
{
    (void)state;
    sw_metrics *m = sw_metrics_new();
    cJSON *o = cJSON_CreateObject();
    assert_non_null(m);
    sw_metrics_rejected(m, "bad_site", 3);
    sw_metrics_open(m, "A", 1, 2);
    sw_metrics_open(m, "A", 0, 1);
    sw_metrics_pending(m, 2);
    sw_metrics_outcome(m, "repair", 1);
    sw_metrics_outcome(m, "fire", 0);
    sw_metrics_latency(m, 4);
    sw_metrics_json(m, o);
    char *txt = cJSON_PrintUnformatted(o);
    assert_string_equal(txt, "{\"rejected_by_reason\":{\"bad_site\":3},"
                             "\"incidents_open_by_site\":{\"A\":{\"1\":2,\"none\":1}},"
                             "\"obligations_pending\":2,"
                             "\"obligations_on_time\":{\"repair\":1},"
                             "\"obligations_missed\":{\"fire\":1},"
                             "\"reloads\":0,\"reloads_refused\":0,"
                             "\"latency_count\":1,\"latency_sum_ms\":4}");
    cJSON_free(txt);
    cJSON_Delete(o);
    sw_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_and_gauges),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_gauges_clear),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
