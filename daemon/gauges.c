#include "gauges.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define SW__BUCKETS 64

/* One (site, level) change. */
typedef struct sw__open {
    struct sw__open *next;
    char site[SW_SITE_MAX + 1];
    int level;
    int64_t delta;
} sw__open;

typedef struct sw__outcome {
    char cls[SW_OBL_NAME_MAX];
    int on_time;
} sw__outcome;

/* What a batch (or the first count) changed. */
struct sw_gauge_delta {
    sw__open *buckets[SW__BUCKETS];
    int64_t pending;
    sw__outcome *outcomes;
    int noutcomes, cap;
};

static unsigned sw__hash(const char *site, int level)
{
    unsigned h = 2166136261u;
    while (*site)
        h = (h ^ (unsigned char)*site++) * 16777619u;
    return ((h ^ (unsigned)level) * 16777619u) % SW__BUCKETS;
}

static int sw__open_add(struct sw_gauge_delta *g, const char *site, int level, int64_t delta)
{
    unsigned h = sw__hash(site, level);
    sw__open *o;
    for (o = g->buckets[h]; o; o = o->next)
        if (o->level == level && !strcmp(o->site, site))
            break;
    if (!o) {
        if (strlen(site) > SW_SITE_MAX || !(o = calloc(1, sizeof *o)))
            return SW_ENOMEM;
        snprintf(o->site, sizeof o->site, "%s", site);
        o->level = level;
        o->next = g->buckets[h];
        g->buckets[h] = o;
    }
    o->delta += delta;
    return 0;
}

static int sw__outcome_add(struct sw_gauge_delta *g, const char *cls, int on_time)
{
    if (g->noutcomes == g->cap) {
        int cap = g->cap ? 2 * g->cap : 8;
        sw__outcome *n = realloc(g->outcomes, (size_t)cap * sizeof *n);
        if (!n)
            return SW_ENOMEM;
        g->outcomes = n;
        g->cap = cap;
    }
    snprintf(g->outcomes[g->noutcomes].cls, SW_OBL_NAME_MAX, "%s", cls);
    g->outcomes[g->noutcomes++].on_time = on_time;
    return 0;
}

void sw_gauges_free(struct sw_gauge_delta *g)
{
    if (!g)
        return;
    for (int i = 0; i < SW__BUCKETS; i++)
        for (sw__open *o = g->buckets[i], *n; o; o = n) {
            n = o->next;
            free(o);
        }
    free(g->outcomes);
    free(g);
}

static int sw__pending(const sw_obligation *obl, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += obl[i].status == SW_OBL_PENDING;
    return k;
}

static const sw_obligation *sw__find(const sw_obligation *obl, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(obl[i].name, name))
            return &obl[i];
    return NULL;
}

/* Add `delta` to the stored be64 under `key`. */
static int sw__bump(sw_store *st, MDB_txn *txn, const char *key, int64_t delta)
{
    MDB_val v;
    unsigned char be[8];
    int64_t n = 0;
    int rc = sw_store_get(st, txn, SW_DB_META, key, strlen(key), &v);
    if (!rc && v.mv_size == 8)
        n = (int64_t)sw_be64_get(v.mv_data);
    else if (rc && rc != SW_ENOENT)
        return rc;
    sw_be64_put(be, (uint64_t)(n + delta));
    return sw_store_put(st, txn, SW_DB_META, key, strlen(key), be, 8);
}

static int sw__write(sw_store *st, MDB_txn *txn, const struct sw_gauge_delta *g)
{
    char key[SW_SITE_MAX + 16];
    int rc = 0;
    for (int i = 0; i < SW__BUCKETS && !rc; i++)
        for (const sw__open *o = g->buckets[i]; o && !rc; o = o->next)
            if (o->delta) {
                snprintf(key, sizeof key, "g/open/%s/%d", o->site, o->level);
                rc = sw__bump(st, txn, key, o->delta);
            }
    if (!rc && g->pending)
        rc = sw__bump(st, txn, "g/pending", g->pending);
    return rc;
}

int sw_gauges_commit(sw_batch *b)
{
    struct sw_gauge_delta *g = calloc(1, sizeof *g);
    int rc = 0;

    if (!g)
        return SW_ENOMEM;
    b->gauges = g;
    for (int i = 0; i < b->ndirty && !rc; i++) {
        const sw_dirty *d = b->dirty[i];
        const sw_incident *inc = &d->inc;
        if (!d->changed)
            continue;
        if (!d->created && d->orig_state < SW_ST_CLOSED)
            rc = sw__open_add(g, inc->site, d->orig_level, -1);
        if (!rc && inc->state < SW_ST_CLOSED)
            rc = sw__open_add(g, inc->site, inc->level, 1);
        g->pending +=
            sw__pending(inc->obl, inc->nobl) - (d->created ? 0 : sw__pending(d->orig, d->norig));
        /* An obligation ends once: pending (or new) before, met or missed now. */
        for (int j = 0; j < inc->nobl && !rc; j++) {
            const sw_obligation *ob = &inc->obl[j];
            const sw_obligation *was = d->created ? NULL : sw__find(d->orig, d->norig, ob->name);
            if ((ob->status == SW_OBL_MET || ob->status == SW_OBL_MISSED) &&
                (!was || was->status == SW_OBL_PENDING))
                rc = sw__outcome_add(g, inc->cls, ob->status == SW_OBL_MET && !ob->was_missed);
        }
    }
    return rc ? rc : sw__write(b->e->store, b->txn, g);
}

void sw_gauges_publish(sw_metrics *m, const sw_batch *b)
{
    const struct sw_gauge_delta *g = b->gauges;
    if (!g)
        return;
    for (int i = 0; i < SW__BUCKETS; i++)
        for (const sw__open *o = g->buckets[i]; o; o = o->next)
            if (o->delta)
                sw_metrics_open(m, o->site, o->level, o->delta);
    sw_metrics_pending(m, g->pending);
    for (int i = 0; i < g->noutcomes; i++)
        sw_metrics_outcome(m, g->outcomes[i].cls, g->outcomes[i].on_time);
}

/* A set of incident ids (open addressing, at most half full), to tell the
 * open incidents already counted from the rest when walking the deadlines. */
typedef struct sw__ids {
    char **slot;
    size_t cap, n;
} sw__ids;

static size_t sw__ids_hash(const char *s, size_t len)
{
    size_t h = 1469598103934665603u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

static int sw__ids_has(const sw__ids *s, const char *id, size_t len)
{
    if (!s->cap)
        return 0;
    for (size_t i = sw__ids_hash(id, len) % s->cap; s->slot[i]; i = (i + 1) % s->cap)
        if (strlen(s->slot[i]) == len && !memcmp(s->slot[i], id, len))
            return 1;
    return 0;
}

static void sw__ids_put(char **slot, size_t cap, char *id)
{
    size_t i;
    for (i = sw__ids_hash(id, strlen(id)) % cap; slot[i]; i = (i + 1) % cap)
        ;
    slot[i] = id;
}

static int sw__ids_add(sw__ids *s, const char *id)
{
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = 2 * s->cap + 16;
        char **slot = calloc(cap, sizeof *slot);
        if (!slot)
            return SW_ENOMEM;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i])
                sw__ids_put(slot, cap, s->slot[i]);
        free(s->slot);
        s->slot = slot;
        s->cap = cap;
    }
    char *copy = strdup(id);
    if (!copy)
        return SW_ENOMEM;
    sw__ids_put(s->slot, s->cap, copy);
    s->n++;
    return 0;
}

static void sw__ids_free(sw__ids *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slot[i]);
    free(s->slot);
}

static int sw__load(sw_store *st, MDB_txn *txn, const char *id, size_t len, sw_incident *inc)
{
    MDB_val v;
    if (sw_store_get(st, txn, SW_DB_INCIDENTS, id, len, &v))
        return SW_ENOENT;
    return sw_incident_decode(v.mv_data, v.mv_size, inc);
}

typedef struct sw__count {
    struct sw_gauge_delta *g;
    sw__ids ids;
} sw__count;

/* Walk a database calling `fn` on every key; 0 at its end. */
static int sw__walk(sw_store *st, MDB_txn *txn, enum sw_db db,
                    int (*fn)(sw_store *, MDB_txn *, const MDB_val *, sw__count *), sw__count *c)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int r, rc = 0;
    if (mdb_cursor_open(txn, st->dbi[db], &cur))
        return SW_ESTORE;
    for (r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !r && !rc;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        rc = fn(st, txn, &k, c);
    mdb_cursor_close(cur);
    return rc ? rc : (r == MDB_NOTFOUND ? 0 : SW_ESTORE);
}

/* open: SITE/ID */
static int sw__count_open(sw_store *st, MDB_txn *txn, const MDB_val *k, sw__count *c)
{
    sw_incident inc;
    const char *slash = memchr(k->mv_data, '/', k->mv_size);
    if (!slash)
        return 0;
    const char *id = slash + 1;
    if (sw__load(st, txn, id, k->mv_size - (size_t)(id - (const char *)k->mv_data), &inc))
        return 0;
    int rc = sw__open_add(c->g, inc.site, inc.level, 1);
    c->g->pending += sw__pending(inc.obl, inc.nobl);
    if (!rc)
        rc = sw__ids_add(&c->ids, inc.id);
    sw_incident_free(&inc);
    return rc;
}

/* deadlines: be64 ID/NAME; the closed incidents behind them, once each */
static int sw__count_closed(sw_store *st, MDB_txn *txn, const MDB_val *k, sw__count *c)
{
    sw_incident inc;
    const char *id = (const char *)k->mv_data + 8;
    const char *slash = k->mv_size > 8 ? memchr(id, '/', k->mv_size - 8) : NULL;
    if (!slash || sw__ids_has(&c->ids, id, (size_t)(slash - id)) ||
        sw__load(st, txn, id, (size_t)(slash - id), &inc))
        return 0;
    c->g->pending += sw__pending(inc.obl, inc.nobl);
    int rc = sw__ids_add(&c->ids, inc.id);
    sw_incident_free(&inc);
    return rc;
}

/* Remove every kept count (a store that kept some without the marker). */
static int sw__forget(sw_store *st, MDB_txn *txn)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int r;
    if (mdb_cursor_open(txn, st->dbi[SW_DB_META], &cur))
        return SW_ESTORE;
    do {
        k.mv_size = 2;
        k.mv_data = "g/";
        r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (r || k.mv_size < 2 || memcmp(k.mv_data, "g/", 2))
            break;
        r = mdb_cursor_del(cur, 0);
    } while (!r);
    mdb_cursor_close(cur);
    return r && r != MDB_NOTFOUND ? SW_ESTORE : 0;
}

/* The first count, written with the marker in one transaction. */
static int sw__count_all(sw_store *st)
{
    for (int attempt = 0;; attempt++) {
        sw__count c = {calloc(1, sizeof *c.g), {0}};
        MDB_txn *txn = NULL;
        int rc = c.g ? sw_store_begin(st, 1, &txn) : SW_ENOMEM;
        if (!rc)
            rc = sw__forget(st, txn);
        if (!rc)
            rc = sw__walk(st, txn, SW_DB_OPEN, sw__count_open, &c);
        if (!rc)
            rc = sw__walk(st, txn, SW_DB_DEADLINES, sw__count_closed, &c);
        if (!rc)
            rc = sw__write(st, txn, c.g);
        if (!rc)
            rc = sw_store_put(st, txn, SW_DB_META, "g/v1", 4, "", 0);
        size_t n = c.ids.n;
        sw__ids_free(&c.ids);
        sw_gauges_free(c.g);
        if (!rc) {
            int r = mdb_txn_commit(txn);
            txn = NULL;
            rc = r == MDB_MAP_FULL ? SW_EMAPFULL : r ? SW_ESTORE : 0;
            if (!rc && n)
                sw_log(SW_LOG_NOTICE,
                       "metrics: counted the %zu incidents open or owing an obligation, once; "
                       "the counts are kept in the store from now on",
                       n);
        }
        if (txn)
            mdb_txn_abort(txn);
        if (rc != SW_EMAPFULL || attempt > 8 || sw_store_grow(st))
            return rc;
    }
}

int sw_gauges_load(sw_metrics *m, sw_store *st)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k = {2, "g/"}, v;
    int rc;

    if ((rc = sw_store_begin(st, 0, &txn)))
        return rc;
    rc = sw_store_get(st, txn, SW_DB_META, "g/v1", 4, &v);
    mdb_txn_abort(txn);
    if (rc == SW_ENOENT)
        rc = sw__count_all(st);
    if (rc || (rc = sw_store_begin(st, 0, &txn)))
        return rc;
    sw_metrics_gauges_clear(m);
    if (mdb_cursor_open(txn, st->dbi[SW_DB_META], &cur)) {
        mdb_txn_abort(txn);
        return SW_ESTORE;
    }
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         !r && k.mv_size > 2 && !memcmp(k.mv_data, "g/", 2);
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char key[SW_SITE_MAX + 16];
        if (v.mv_size != 8 || k.mv_size >= sizeof key)
            continue;
        int64_t n = (int64_t)sw_be64_get(v.mv_data);
        memcpy(key, k.mv_data, k.mv_size);
        key[k.mv_size] = 0;
        char *level = strrchr(key, '/');
        if (!strcmp(key, "g/pending"))
            sw_metrics_pending(m, n);
        else if (!strncmp(key, "g/open/", 7) && level > key + 7 && level[1] >= '0' &&
                 level[1] <= '2' && !level[2]) {
            *level = 0;
            sw_metrics_open(m, key + 7, level[1] - '0', n);
        }
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return 0;
}
