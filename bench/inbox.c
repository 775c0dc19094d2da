/*
 * sw-bench-inbox: what one inbox append costs (the work the MQTT callback
 * does before Paho acknowledges a message), for each way the inbox file can
 * be written, side by side: N appends of an event-sized message into a
 * fresh inbox per variant, in rounds that alternate the order, reporting
 * the median over rounds of wall and CPU time (user + system) per append.
 *
 *   sw-bench-inbox [-n N] [-r ROUNDS] [-d DIR]
 *
 * Variants: "nosync+writemap" (process durability before 0.2),
 * "nosync" (process durability: no MDB_WRITEMAP, so an OS crash can undo
 * the last commits but never leaves the file unreadable), "sync+writemap"
 * (power durability: msync per commit), "sync" (fsync per commit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "inbox.h"

static const struct {
    const char *name;
    int flags;
} sw__variants[] = {
    {"nosync+writemap", SW_INBOX_NOSYNC | SW_INBOX_WRITEMAP},
    {"nosync", SW_INBOX_NOSYNC},
    {"sync+writemap", SW_INBOX_WRITEMAP},
    {"sync", 0},
};
#define NV (sizeof sw__variants / sizeof *sw__variants)

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long n = 20000;
    int rounds = 3, c;
    const char *dir = "/tmp";
    while ((c = getopt(argc, argv, "n:r:d:")) != -1) {
        if (c == 'n')
            n = atol(optarg);
        else if (c == 'r')
            rounds = atoi(optarg);
        else if (c == 'd')
            dir = optarg;
        else {
            fprintf(stderr, "usage: sw-bench-inbox [-n N] [-r ROUNDS] [-d DIR]\n");
            return 64;
        }
    }
    const char *topic = "siteward/A/event/sensor/d17";
    const char *payload =
        "{\"type\":\"smoke\",\"id\":\"d17-000123\",\"ts\":\"2026-11-22T08:15:03+08:00\","
        "\"location\":{\"building\":\"3\",\"floor\":\"12\",\"unit\":\"1203\"}}";
    double wall[NV][16], cpu[NV][16];
    if (rounds > 16)
        rounds = 16;
    for (int r = 0; r < rounds; r++)
        for (size_t k = 0; k < NV; k++) {
            size_t v = r % 2 ? NV - 1 - k : k;
            char tmp[4096];
            snprintf(tmp, sizeof tmp, "%s/sw-bench-inbox-XXXXXX", dir);
            if (!mkdtemp(tmp)) {
                perror("mkdtemp");
                return 1;
            }
            sw_inbox ib;
            if (sw_inbox_open(&ib, tmp, sw__variants[v].flags, 0))
                return 1;
            sw_inmsg *m =
                sw_inmsg_new(topic, strlen(topic), payload, strlen(payload), NULL, 0, NULL, 0, 0);
            double w0 = wall_s(), c0 = cpu_s();
            for (long i = 0; i < n; i++)
                if (sw_inbox_append(&ib, m))
                    return 1;
            wall[v][r] = (wall_s() - w0) / n * 1e6;
            cpu[v][r] = (cpu_s() - c0) / n * 1e6;
            free(m);
            sw_inbox_close(&ib);
            char cmd[4200];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
            if (system(cmd))
                return 1;
        }
    printf("inbox append, %ld per variant, median of %d rounds\n", n, rounds);
    printf("%-16s %12s %12s\n", "variant", "wall us", "cpu us");
    for (size_t v = 0; v < NV; v++) {
        qsort(wall[v], (size_t)rounds, sizeof(double), cmp);
        qsort(cpu[v], (size_t)rounds, sizeof(double), cmp);
        printf("%-16s %12.2f %12.2f\n", sw__variants[v].name, wall[v][rounds / 2],
               cpu[v][rounds / 2]);
    }
    return 0;
}
