/*
 * Retention: closed incidents and everything kept about them (timeline,
 * contacts, deadlines) are purged once the policy's retention has passed
 * since their last change: never while a review is pending, and a review
 * never submitted only once it has been overdue for the policy's grace.
 * Called from a timer in small steps, away from the message batches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "incident.h"
#include "log.h"
#include "obligations.h"

static int sw__expired(const sw_engine *e, const sw_incident *inc, int64_t now)
{
    double scale = e->cfg->clock_scale > 0 ? e->cfg->clock_scale : 1.0;
    int64_t keep = (int64_t)((double)e->policy->keep_ms / scale);
    int64_t grace = (int64_t)((double)e->policy->review_grace_ms / scale);

    if (inc->state < SW_ST_CLOSED || inc->updated_ms + keep > now)
        return 0;
    for (int i = 0; i < inc->nobl; i++) {
        const sw_obligation *ob = &inc->obl[i];
        if (strcmp(ob->name, "review"))
            continue;
        if (ob->status == SW_OBL_PENDING)
            return 0;
        if (ob->status == SW_OBL_MISSED && ob->due_ms + grace > now)
            return 0;
    }
    return 1;
}

/* Delete every key of `db` that starts with `prefix`. */
static int sw__del_prefix(sw_store *st, MDB_txn *txn, enum sw_db db, const char *prefix)
{
    size_t plen = strlen(prefix);
    MDB_cursor *cur;
    MDB_val k, v;

    if (mdb_cursor_open(txn, st->dbi[db], &cur))
        return SW_ESTORE;
    for (;;) {
        k.mv_size = plen;
        k.mv_data = (void *)prefix;
        if (mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) || k.mv_size < plen ||
            memcmp(k.mv_data, prefix, plen) || mdb_cursor_del(cur, 0))
            break;
    }
    mdb_cursor_close(cur);
    return 0;
}

static int sw__purge_one(sw_engine *e, MDB_txn *txn, const sw_incident *inc)
{
    char prefix[SW_ID_MAX + 8];
    unsigned char key[SW_DEADLINE_KEY_MAX];
    size_t idlen = strlen(inc->id);
    int rc;

    for (int i = 0; i < inc->nobl; i++) {
        const sw_obligation *ob = &inc->obl[i];
        if (!sw_obl_timed(ob))
            continue;
        size_t klen = sw_deadline_key(key, ob->next_ms, inc->id, ob->name);
        rc = sw_store_del(e->store, txn, SW_DB_DEADLINES, key, klen);
        if (rc && rc != SW_ENOENT)
            return rc;
    }
    snprintf(prefix, sizeof prefix, "%s/", inc->id);
    if ((rc = sw__del_prefix(e->store, txn, SW_DB_TIMELINE, prefix)) ||
        (rc = sw__del_prefix(e->store, txn, SW_DB_PERSONAL, prefix)))
        return rc;
    snprintf(prefix, sizeof prefix, "pub/%s", inc->id);
    rc = sw_store_del(e->store, txn, SW_DB_META, prefix, strlen(prefix));
    if (rc && rc != SW_ENOENT)
        return rc;
    rc = sw_store_del(e->store, txn, SW_DB_INCIDENTS, inc->id, idlen);
    return rc == SW_ENOENT ? 0 : rc;
}

int sw_engine_purge(sw_engine *e, int64_t now, int max, int *purged)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc, seen = 0;
    char *ids[256];
    int nids = 0;

    *purged = 0;
    if ((rc = sw_store_begin(e->store, 1, &txn)))
        return rc;
    if (mdb_cursor_open(txn, e->store->dbi[SW_DB_INCIDENTS], &cur)) {
        mdb_txn_abort(txn);
        return SW_ESTORE;
    }
    /* Resume where the last step stopped; wrap around at the end. */
    k.mv_size = strlen(e->purge_from);
    k.mv_data = e->purge_from;
    rc = k.mv_size ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                   : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; !rc && seen < max && nids < 256; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), seen++) {
        sw_incident inc;
        if (sw_incident_decode(v.mv_data, v.mv_size, &inc))
            continue;
        if (sw__expired(e, &inc, now) && (ids[nids] = strdup(inc.id)))
            nids++;
        sw_incident_free(&inc);
    }
    if (!rc && k.mv_size <= SW_ID_MAX)
        snprintf(e->purge_from, sizeof e->purge_from, "%.*s", (int)k.mv_size,
                 (const char *)k.mv_data);
    else
        e->purge_from[0] = 0;
    mdb_cursor_close(cur);

    rc = 0;
    for (int i = 0; i < nids; i++) {
        MDB_val iv;
        sw_incident inc;
        if (!rc && !sw_store_get(e->store, txn, SW_DB_INCIDENTS, ids[i], strlen(ids[i]), &iv) &&
            !sw_incident_decode(iv.mv_data, iv.mv_size, &inc)) {
            rc = sw__purge_one(e, txn, &inc);
            sw_incident_free(&inc);
            *purged += !rc;
        }
        free(ids[i]);
    }
    if (rc || !*purged) {
        mdb_txn_abort(txn);
        *purged = rc ? 0 : *purged;
        return rc;
    }
    if (mdb_txn_commit(txn))
        return SW_ESTORE;
    e->stats.purged += (uint64_t)*purged;
    sw_log(SW_LOG_INFO, "retention: purged %d incidents", *purged);
    return 0;
}
