/*
 * sw-bench-engine: the engine alone, without MQTT: N canonical events
 * (each opening its own incident, a third of them Level I) applied in
 * batches as the loop applies them, into a real LMDB store. Prints events/s
 * and microseconds per event, then how long a start takes to read the
 * metrics' kept counts of open incidents (gauges.c) from that store.
 * With -t TYPE every event is of that type (e.g. heartbeat, to measure
 * silent-device tracking), from D devices in turn (-d, default 997).
 *
 *   sw-bench-engine CONFIG [-n N] [-b BATCH] [-t TYPE] [-d D]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "gauges.h"
#include "metrics.h"

static size_t published;

static int count_publish(void *ctx, const sw_publication *p, int force)
{
    (void)ctx, (void)force;
    published += p->len;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const char *types[] = {"smoke",      "water_leak", "door_forced",
                                  "power_loss", "gas_leak",   "elevator_fault"};
    long n = 100000, batch = 512, devices = 997;
    const char *only = NULL;
    int opt;
    char dir[] = "/tmp/sw-engine-XXXXXX";
    sw_config cfg;
    sw_policy pol;
    sw_plugins *pl;
    sw_store st;
    sw_engine e;
    sw_config_overrides ov = {0};

    if (argc < 2) {
        fprintf(stderr, "usage: sw-bench-engine CONFIG [-n N] [-b BATCH] [-t TYPE] [-d D]\n");
        return 64;
    }
    optind = 2;
    while ((opt = getopt(argc, argv, "n:b:t:d:")) != -1) {
        if (opt == 'n')
            n = atol(optarg);
        else if (opt == 'b')
            batch = atol(optarg);
        else if (opt == 't')
            only = optarg;
        else if (opt == 'd' && atol(optarg) > 0)
            devices = atol(optarg);
    }
    if (!mkdtemp(dir))
        return 1;
    ov.state_dir = dir;
    if (sw_config_load(&cfg, argv[1], &ov) || sw_policy_load(&pol, cfg.policy_path) ||
        sw_plugins_load(&pl, &cfg, &pol) || sw_store_open(&st, dir, 0, 1))
        return 78;
    sw_publisher pub = {count_publish, NULL};
    sw_engine_init(&e, &cfg, &pol, &st, pl, pub);
    sw_metrics *m = sw_metrics_new();
    if (!m || sw_gauges_load(m, &st)) /* as the daemon's start does */
        return 1;
    e.metrics = m;

    sw_inmsg **msgs = calloc((size_t)n, sizeof *msgs);
    for (long i = 0; i < n; i++) {
        char topic[96], payload[256];
        snprintf(topic, sizeof topic, "siteward/S%ld/event/sensor/dev%ld", i % 20, i % devices);
        snprintf(payload, sizeof payload,
                 "{\"type\":\"%s\",\"id\":\"e%ld\",\"location\":{\"building\":\"b%ld\",\"floor\":"
                 "\"1\"}}",
                 only ? only : types[i % 6], i, i);
        msgs[i] = sw_inmsg_new(topic, strlen(topic), payload, strlen(payload), NULL, 0, NULL, 0,
                               1795000000000LL + i);
        msgs[i]->seq = (uint64_t)i + 1;
    }
    double t = now_s();
    for (long i = 0; i < n; i += batch)
        if (sw_engine_apply(&e, msgs + i, (int)(n - i < batch ? n - i : batch)))
            return 1;
    double secs = now_s() - t;
    printf("engine n=%ld batch=%ld events_per_s=%.0f us_per_event=%.2f published_mb=%.1f "
           "store_mb=%.1f\n",
           n, batch, n / secs, secs / n * 1e6, published / 1048576.0,
           sw_store_used(&st) / 1048576.0);
    sw_metrics *again = sw_metrics_new();
    t = now_s();
    if (!again || sw_gauges_load(again, &st))
        return 1;
    printf("gauges open=%zu restart_load_ms=%.3f\n", (size_t)e.stats.opened, (now_s() - t) * 1e3);
    sw_metrics_free(again);
    sw_metrics_free(m);
    for (long i = 0; i < n; i++)
        free(msgs[i]);
    free(msgs);
    sw_store_close(&st);
    sw_plugins_unload(pl);
    sw_policy_free(&pol);
    sw_config_free(&cfg);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) ? 1 : 0;
}
