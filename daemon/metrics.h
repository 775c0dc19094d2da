/*
 * Metrics: the daemon's figures, kept incrementally on the loop thread and
 * rendered as the Prometheus text exposition format (version 0.0.4) for
 * /metrics (metrics_http.h) and as fields of the stats JSON.
 *
 * The engine reports what happened (a rejection and its reason, an
 * incident opened or closed per site and level, an obligation met on time
 * or missed, a message's processing latency) after each committed batch;
 * the counters it already keeps, and figures that are O(1) to read from the
 * store (map use, timers armed), are passed in at render time as
 * sw_metrics_now. Nothing here scans the store.
 *
 * Not thread-safe: the loop thread only. An allocation failure loses one
 * series' update, never the process.
 */
#ifndef SW_METRICS_H
#define SW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

typedef struct sw_metrics sw_metrics;

/* The latency histogram's upper bounds, in milliseconds (receive times
 * have millisecond resolution). */
#define SW_METRICS_BUCKETS 13
extern const int64_t sw_metrics_bucket_ms[SW_METRICS_BUCKETS];

/* Figures read when rendering. */
typedef struct sw_metrics_now {
    uint64_t received, accepted, duplicates, opened, escalations, purged, calendar_uncovered;
    uint64_t timers_armed; /* deadlines in the store: pending or still escalating */
    uint64_t map_used, map_size;
    uint64_t inbox_backlog;
} sw_metrics_now;

/* NULL on ENOMEM. */
sw_metrics *sw_metrics_new(void);
void sw_metrics_free(sw_metrics *m);

/* `n` messages rejected (dead-lettered or answered with an error) with the
 * error code `code`. */
void sw_metrics_rejected(sw_metrics *m, const char *code, uint64_t n);
/* Open incidents of `site` at `level` (0: not an emergency) change by `delta`. */
void sw_metrics_open(sw_metrics *m, const char *site, int level, int64_t delta);
/* Pending obligations change by `delta`. */
void sw_metrics_pending(sw_metrics *m, int64_t delta);
/* An obligation of class `cls` ended: met before its due time, or missed. */
void sw_metrics_outcome(sw_metrics *m, const char *cls, int on_time);
/* A reload (SIGHUP) took effect, or was refused. */
void sw_metrics_reloaded(sw_metrics *m, int ok);
/* One message applied `ms` after it was received. */
void sw_metrics_latency(sw_metrics *m, int64_t ms);
/* Forget the open-incident and pending gauges (before counting them again
 * from the store at start). */
void sw_metrics_gauges_clear(sw_metrics *m);

/* The Prometheus text of every figure, series in a stable order. The
 * caller frees it. NULL on ENOMEM. */
char *sw_metrics_render(const sw_metrics *m, const sw_metrics_now *now, size_t *len);
/* Add the figures kept here to the stats JSON object `o`. */
void sw_metrics_json(const sw_metrics *m, cJSON *o);

#endif
