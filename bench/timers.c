/*
 * sw-bench-timers: the deadline structure at a million pending
 * obligations. Arms N deadlines (keys of the "deadlines" database, written
 * in transactions of 10,000 as the engine's batches do), reports the cost
 * per arm, the store's size and the process's peak RSS, then times what a
 * restart does to re-arm them (open the store, read the earliest key), and
 * the cost per cancel.
 *
 *   sw-bench-timers [-n N] [-d DIR] [-r]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int sw__scattered;

/* Due times as a site produces them: incidents open one after another and
 * each obligation falls due a policy limit later (5 min ... 3 days); or,
 * with -r, scattered at random over a day (the B-tree's worst case). */
static size_t key_of(unsigned char *key, long i, int64_t base)
{
    static const int64_t limit_ms[] = {300000, 600000,   1800000,   60000,   180000,
                                       900000, 86400000, 259200000, 3600000, 7200000};
    int64_t due = sw__scattered ? base + (i * 7919) % 86400000
                                : base + (i / 2) * 50 + limit_ms[(i % 2) + 2 * ((i / 2) % 5)];
    /* As the engine writes them: be64(due), then ID/NAME. */
    sw_be64_put(key, (uint64_t)due);
    return 8 + (size_t)sprintf((char *)key + 8, "S%ld-20261122-%06ld/%s", i % 50, i / 2,
                               i % 2 ? "manager_on_site" : "plan_activated");
}

static long rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int apply(sw_store *st, long n, int put)
{
    const int64_t base = 1795000000000LL;
    unsigned char key[128];
    for (long done = 0; done < n;) {
        MDB_txn *txn;
        if (sw_store_begin(st, 1, &txn))
            return 1;
        for (long j = 0; j < 10000 && done < n; j++, done++) {
            size_t klen = key_of(key, done, base);
            int rc = put ? sw_store_put(st, txn, SW_DB_DEADLINES, key, klen, "", 0)
                         : sw_store_del(st, txn, SW_DB_DEADLINES, key, klen);
            if (rc == SW_ENOSPC) {
                mdb_txn_abort(txn);
                if (sw_store_grow(st))
                    return 1;
                done -= j + 1;
                break;
            }
            if (rc)
                return 1;
        }
        if (txn && mdb_txn_commit(txn))
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long n = 1000000;
    char dir[256] = "";
    int opt;
    sw_store st;

    while ((opt = getopt(argc, argv, "n:d:r")) != -1) {
        if (opt == 'n')
            n = atol(optarg);
        else if (opt == 'r')
            sw__scattered = 1;
        else if (opt == 'd')
            snprintf(dir, sizeof dir, "%s", optarg);
        else {
            fprintf(stderr, "usage: sw-bench-timers [-n N] [-d DIR] [-r]\n");
            return 64;
        }
    }
    if (!*dir) {
        snprintf(dir, sizeof dir, "/tmp/sw-timers-XXXXXX");
        if (!mkdtemp(dir))
            return 1;
    }
    long rss0 = rss_kb();
    if (sw_store_open(&st, dir, 0, 1))
        return 1;
    double t = now_s();
    if (apply(&st, n, 1))
        return 1;
    double arm = now_s() - t;
    sw_store_sync(&st);
    size_t used = sw_store_used(&st);
    long rss1 = rss_kb();
    sw_store_close(&st);

    /* A restart: open, and find the earliest deadline to arm the one timer. */
    t = now_s();
    if (sw_store_open(&st, dir, 0, 1))
        return 1;
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    sw_store_begin(&st, 0, &txn);
    mdb_cursor_open(txn, st.dbi[SW_DB_DEADLINES], &cur);
    int found = !mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    size_t count = sw_store_count(&st, txn, SW_DB_DEADLINES);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    double rearm = now_s() - t;

    t = now_s();
    if (apply(&st, n, 0))
        return 1;
    double cancel = now_s() - t;
    sw_store_close(&st);

    printf("timers order=%s n=%ld pending=%zu arm_us=%.3f cancel_us=%.3f store_mb=%.1f rss_mb=%.1f "
           "restart_rearm_ms=%.3f first_found=%d\n",
           sw__scattered ? "random" : "arrival", n, count, arm / n * 1e6, cancel / n * 1e6,
           used / 1048576.0, (rss1 - rss0) / 1024.0, rearm * 1e3, found);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) ? 1 : 0;
}
