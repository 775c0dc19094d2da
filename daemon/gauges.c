#include "gauges.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

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

void sw_gauges_batch(sw_metrics *m, const sw_batch *b)
{
    for (int i = 0; i < b->ndirty; i++) {
        const sw_dirty *d = b->dirty[i];
        const sw_incident *inc = &d->inc;
        if (!d->changed)
            continue;
        int was_open = !d->created && d->orig_state < SW_ST_CLOSED;
        if (was_open)
            sw_metrics_open(m, inc->site, d->orig_level, -1);
        if (inc->state < SW_ST_CLOSED)
            sw_metrics_open(m, inc->site, inc->level, 1);
        sw_metrics_pending(m, sw__pending(inc->obl, inc->nobl) -
                                  (d->created ? 0 : sw__pending(d->orig, d->norig)));
        /* An obligation ends once: pending (or new) before, met or missed now. */
        for (int j = 0; j < inc->nobl; j++) {
            const sw_obligation *ob = &inc->obl[j];
            const sw_obligation *was = d->created ? NULL : sw__find(d->orig, d->norig, ob->name);
            if ((ob->status == SW_OBL_MET || ob->status == SW_OBL_MISSED) &&
                (!was || was->status == SW_OBL_PENDING))
                sw_metrics_outcome(m, inc->cls, ob->status == SW_OBL_MET && !ob->was_missed);
        }
    }
}

/* A set of incident ids (open addressing), to tell the open incidents
 * already counted from the rest when walking the deadlines. */
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

/* Kept at most half full, so a probe always ends. */
static int sw__ids_add(sw__ids *s, const char *id)
{
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = 2 * s->cap;
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

int sw_gauges_scan(sw_metrics *m, sw_store *st)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    sw__ids ids = {0};
    sw_incident inc;
    int rc;

    sw_metrics_gauges_clear(m);
    if ((rc = sw_store_begin(st, 0, &txn)))
        return rc;
    ids.cap = 2 * sw_store_count(st, txn, SW_DB_OPEN) + 16;
    if (!(ids.slot = calloc(ids.cap, sizeof *ids.slot)) ||
        mdb_cursor_open(txn, st->dbi[SW_DB_OPEN], &cur)) {
        mdb_txn_abort(txn);
        free(ids.slot);
        return ids.slot ? SW_ESTORE : SW_ENOMEM;
    }
    /* open: SITE/ID */
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *slash = memchr(k.mv_data, '/', k.mv_size);
        if (!slash)
            continue;
        const char *id = slash + 1;
        size_t len = k.mv_size - (size_t)(id - (const char *)k.mv_data);
        if (sw__load(st, txn, id, len, &inc))
            continue;
        sw_metrics_open(m, inc.site, inc.level, 1);
        sw_metrics_pending(m, sw__pending(inc.obl, inc.nobl));
        rc = sw__ids_add(&ids, inc.id);
        sw_incident_free(&inc);
        if (rc)
            break;
    }
    mdb_cursor_close(cur);
    /* deadlines: be64 ID/NAME; each closed incident counted once */
    if (rc == MDB_NOTFOUND && !mdb_cursor_open(txn, st->dbi[SW_DB_DEADLINES], &cur)) {
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            const char *id = (const char *)k.mv_data + 8;
            const char *slash = k.mv_size > 8 ? memchr(id, '/', k.mv_size - 8) : NULL;
            if (!slash || sw__ids_has(&ids, id, (size_t)(slash - id)) ||
                sw__load(st, txn, id, (size_t)(slash - id), &inc))
                continue;
            sw_metrics_pending(m, sw__pending(inc.obl, inc.nobl));
            rc = sw__ids_add(&ids, inc.id);
            sw_incident_free(&inc);
            if (rc)
                break;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    sw__ids_free(&ids);
    if (rc != MDB_NOTFOUND) {
        sw_log(SW_LOG_WARNING, "metrics: open incidents could not all be counted");
        return rc < 0 ? rc : SW_ESTORE;
    }
    return 0;
}
