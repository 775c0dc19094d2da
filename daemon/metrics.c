#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define SW__BUCKETS 64 /* hash buckets per labelled family */

const int64_t sw_metrics_bucket_ms[SW_METRICS_BUCKETS] = {1,   2,   5,    10,   25,   50,   100,
                                                          250, 500, 1000, 2500, 5000, 10000};

/* One labelled series: up to two label values. */
typedef struct sw__series {
    struct sw__series *next;
    int64_t value;
    char a[65]; /* site, class or reason */
    char b[8];  /* level or outcome; "" when unused */
} sw__series;

typedef struct sw__family {
    sw__series *buckets[SW__BUCKETS];
    size_t n;
} sw__family;

struct sw_metrics {
    sw__family rejected; /* a: reason */
    sw__family open;     /* a: site, b: level */
    sw__family outcomes; /* a: class, b: on_time|missed */
    int64_t pending;
    uint64_t reloads, reloads_refused;
    uint64_t lat_buckets[SW_METRICS_BUCKETS + 1]; /* the last is +Inf */
    uint64_t lat_count;
    uint64_t lat_sum_ms;
};

static unsigned sw__hash(const char *a, const char *b)
{
    unsigned h = 2166136261u;
    while (*a)
        h = (h ^ (unsigned char)*a++) * 16777619u;
    h = (h ^ '/') * 16777619u;
    while (*b)
        h = (h ^ (unsigned char)*b++) * 16777619u;
    return h % SW__BUCKETS;
}

static sw__series *sw__get(sw__family *f, const char *a, const char *b)
{
    unsigned h = sw__hash(a, b);
    sw__series *s;
    for (s = f->buckets[h]; s; s = s->next)
        if (!strcmp(s->a, a) && !strcmp(s->b, b))
            return s;
    if (strlen(a) >= sizeof s->a || strlen(b) >= sizeof s->b || !(s = calloc(1, sizeof *s)))
        return NULL;
    memcpy(s->a, a, strlen(a) + 1);
    memcpy(s->b, b, strlen(b) + 1);
    s->next = f->buckets[h];
    f->buckets[h] = s;
    f->n++;
    return s;
}

static void sw__family_free(sw__family *f)
{
    for (int i = 0; i < SW__BUCKETS; i++)
        for (sw__series *s = f->buckets[i], *n; s; s = n) {
            n = s->next;
            free(s);
        }
    memset(f, 0, sizeof *f);
}

static int sw__cmp(const void *x, const void *y)
{
    const sw__series *a = *(const sw__series *const *)x, *b = *(const sw__series *const *)y;
    int c = strcmp(a->a, b->a);
    return c ? c : strcmp(a->b, b->b);
}

/* The family's series sorted by labels; caller frees the array. */
static sw__series **sw__sorted(const sw__family *f)
{
    sw__series **v = malloc((f->n + 1) * sizeof *v);
    size_t k = 0;
    if (!v)
        return NULL;
    for (int i = 0; i < SW__BUCKETS; i++)
        for (sw__series *s = f->buckets[i]; s; s = s->next)
            v[k++] = s;
    qsort(v, k, sizeof *v, sw__cmp);
    v[k] = NULL;
    return v;
}

sw_metrics *sw_metrics_new(void)
{
    return calloc(1, sizeof(sw_metrics));
}

void sw_metrics_free(sw_metrics *m)
{
    if (!m)
        return;
    sw__family_free(&m->rejected);
    sw__family_free(&m->open);
    sw__family_free(&m->outcomes);
    free(m);
}

void sw_metrics_rejected(sw_metrics *m, const char *code, uint64_t n)
{
    sw__series *s = sw__get(&m->rejected, code && *code ? code : "rejected", "");
    if (s)
        s->value += (int64_t)n;
}

static const char *sw__level(int level)
{
    return level == 1 ? "1" : level == 2 ? "2" : "none";
}

void sw_metrics_open(sw_metrics *m, const char *site, int level, int64_t delta)
{
    sw__series *s = sw__get(&m->open, site, sw__level(level));
    if (s)
        s->value += delta;
}

void sw_metrics_pending(sw_metrics *m, int64_t delta)
{
    m->pending += delta;
}

void sw_metrics_outcome(sw_metrics *m, const char *cls, int on_time)
{
    sw__series *s = sw__get(&m->outcomes, cls, on_time ? "on_time" : "missed");
    if (s)
        s->value++;
}

void sw_metrics_reloaded(sw_metrics *m, int ok)
{
    if (ok)
        m->reloads++;
    else
        m->reloads_refused++;
}

void sw_metrics_latency(sw_metrics *m, int64_t ms)
{
    int i = 0;
    if (ms < 0)
        ms = 0; /* the wall clock stepped back */
    while (i < SW_METRICS_BUCKETS && ms > sw_metrics_bucket_ms[i])
        i++;
    m->lat_buckets[i]++;
    m->lat_count++;
    m->lat_sum_ms += (uint64_t)ms;
}

void sw_metrics_gauges_clear(sw_metrics *m)
{
    sw__family_free(&m->open);
    m->pending = 0;
}

/* A growing text buffer; on ENOMEM `failed` is set and output stops. */
typedef struct sw__buf {
    char *p;
    size_t len, cap;
    int failed;
} sw__buf;

static void __attribute__((format(printf, 2, 3))) sw__put(sw__buf *b, const char *fmt, ...)
{
    va_list ap;
    for (int tries = 0; !b->failed && tries < 2; tries++) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap <= b->len + (size_t)n)
            cap *= 2;
        char *g = realloc(b->p, cap);
        if (!g) {
            b->failed = 1;
            return;
        }
        b->p = g;
        b->cap = cap;
    }
}

/* A label value with \, " and newline escaped, as the format requires. */
static const char *sw__esc(const char *s, char *out, size_t len)
{
    size_t k = 0;
    for (; *s && k + 3 < len; s++) {
        if (*s == '\\' || *s == '"') {
            out[k++] = '\\';
            out[k++] = *s;
        } else if (*s == '\n') {
            out[k++] = '\\';
            out[k++] = 'n';
        } else {
            out[k++] = *s;
        }
    }
    out[k] = 0;
    return out;
}

static void sw__head(sw__buf *b, const char *name, const char *type, const char *help)
{
    sw__put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sw__scalar(sw__buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
    sw__head(b, name, type, help);
    sw__put(b, "%s %" PRIu64 "\n", name, v);
}

static void sw__labelled(sw__buf *b, const sw__family *f, const char *name, const char *type,
                         const char *help, const char *la, const char *lb)
{
    char ea[140], eb[20];
    sw__series **v = sw__sorted(f);
    if (!v) {
        b->failed = 1;
        return;
    }
    sw__head(b, name, type, help);
    for (sw__series **s = v; *s; s++) {
        if (lb)
            sw__put(b, "%s{%s=\"%s\",%s=\"%s\"} %" PRId64 "\n", name, la,
                    sw__esc((*s)->a, ea, sizeof ea), lb, sw__esc((*s)->b, eb, sizeof eb),
                    (*s)->value);
        else
            sw__put(b, "%s{%s=\"%s\"} %" PRId64 "\n", name, la, sw__esc((*s)->a, ea, sizeof ea),
                    (*s)->value);
    }
    free(v);
}

char *sw_metrics_render(const sw_metrics *m, const sw_metrics_now *now, size_t *len)
{
    sw__buf b = {0};
    const char *h = "siteward_processing_latency_seconds";

    sw__scalar(&b, "siteward_messages_received_total", "counter", "Messages taken from the inbox.",
               now->received);
    sw__scalar(&b, "siteward_messages_accepted_total", "counter", "Messages applied.",
               now->accepted);
    sw__labelled(&b, &m->rejected, "siteward_messages_rejected_total", "counter",
                 "Messages dead-lettered or answered with an error, by error code.", "reason",
                 NULL);
    sw__scalar(&b, "siteward_messages_duplicate_total", "counter",
               "Retransmissions recognised and not applied again.", now->duplicates);
    sw__scalar(&b, "siteward_incidents_opened_total", "counter", "Incidents opened.", now->opened);
    sw__labelled(&b, &m->open, "siteward_incidents_open", "gauge",
                 "Incidents not yet closed, by site and level (none: not an emergency).", "site",
                 "level");
    sw__scalar(&b, "siteward_obligations_pending", "gauge",
               "Obligations pending on incidents (not yet met, missed or cancelled).",
               (uint64_t)(m->pending > 0 ? m->pending : 0));
    sw__scalar(&b, "siteward_timers_armed", "gauge",
               "Deadlines in the store: pending obligations and missed ones still escalating.",
               now->timers_armed);
    sw__labelled(&b, &m->outcomes, "siteward_obligations_total", "counter",
                 "Obligations that ended met on time or missed, by class.", "class", "outcome");
    sw__scalar(&b, "siteward_escalations_sent_total", "counter",
               "Escalations and opening notices published.", now->escalations);
    sw__scalar(&b, "siteward_incidents_purged_total", "counter",
               "Closed incidents removed by retention.", now->purged);
    sw__scalar(&b, "siteward_calendar_uncovered_total", "counter",
               "Due times computed past the end of a site calendar.", now->calendar_uncovered);
    sw__scalar(&b, "siteward_store_map_used_bytes", "gauge", "Bytes of the LMDB map in use.",
               now->map_used);
    sw__scalar(&b, "siteward_store_map_size_bytes", "gauge", "Size of the LMDB map.",
               now->map_size);
    sw__scalar(&b, "siteward_inbox_backlog", "gauge",
               "Messages stored in the inbox and not yet applied.", now->inbox_backlog);
    sw__scalar(&b, "siteward_reloads_total", "counter",
               "Configuration reloads (SIGHUP) that took effect.", m->reloads);
    sw__scalar(&b, "siteward_reloads_refused_total", "counter",
               "Configuration reloads refused for an error; the old configuration stayed.",
               m->reloads_refused);

    sw__head(&b, h, "histogram", "Time from a message's receipt to its batch being applied.");
    uint64_t cum = 0;
    for (int i = 0; i < SW_METRICS_BUCKETS; i++) {
        cum += m->lat_buckets[i];
        sw__put(&b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", h,
                (double)sw_metrics_bucket_ms[i] / 1000.0, cum);
    }
    sw__put(&b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", h, m->lat_count);
    sw__put(&b, "%s_sum %.3f\n%s_count %" PRIu64 "\n", h, (double)m->lat_sum_ms / 1000.0, h,
            m->lat_count);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

void sw_metrics_json(const sw_metrics *m, cJSON *o)
{
    sw__series **v;
    cJSON *x;

    if ((v = sw__sorted(&m->rejected)) && (x = cJSON_AddObjectToObject(o, "rejected_by_reason")))
        for (sw__series **s = v; *s; s++)
            sw_json_add_int(x, (*s)->a, (*s)->value);
    free(v);
    if ((v = sw__sorted(&m->open)) && (x = cJSON_AddObjectToObject(o, "incidents_open_by_site")))
        for (sw__series **s = v; *s; s++) {
            cJSON *site = cJSON_GetObjectItemCaseSensitive(x, (*s)->a);
            if (!site)
                site = cJSON_AddObjectToObject(x, (*s)->a);
            if (site)
                sw_json_add_int(site, (*s)->b, (*s)->value);
        }
    free(v);
    sw_json_add_int(o, "obligations_pending", m->pending);
    if ((v = sw__sorted(&m->outcomes))) {
        cJSON *on = cJSON_AddObjectToObject(o, "obligations_on_time");
        cJSON *missed = cJSON_AddObjectToObject(o, "obligations_missed");
        for (sw__series **s = v; *s && on && missed; s++)
            sw_json_add_int(strcmp((*s)->b, "missed") ? on : missed, (*s)->a, (*s)->value);
    }
    free(v);
    sw_json_add_int(o, "reloads", (int64_t)m->reloads);
    sw_json_add_int(o, "reloads_refused", (int64_t)m->reloads_refused);
    sw_json_add_int(o, "latency_count", (int64_t)m->lat_count);
    sw_json_add_int(o, "latency_sum_ms", (int64_t)m->lat_sum_ms);
}
