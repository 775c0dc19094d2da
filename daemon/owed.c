/*
 * What is owed to the broker (engine.h): outbox entries and retained states
 * handed to the publisher as far as it takes them, acknowledged entries
 * deleted, and the "pub/" marks cleared once all is acknowledged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "incident.h"
#include "log.h"

static int sw__ids_append(sw_ids *ids, const uint64_t *v, size_t n)
{
    if (!n)
        return 0;
    if (ids->n + n > ids->cap) {
        size_t cap = ids->cap ? ids->cap : 64;
        while (cap < ids->n + n)
            cap *= 2;
        uint64_t *nv = realloc(ids->v, cap * sizeof *nv);
        if (!nv)
            return SW_ENOMEM;
        ids->v = nv;
        ids->cap = cap;
    }
    memcpy(ids->v + ids->n, v, n * sizeof *v);
    ids->n += n;
    return 0;
}

int sw_engine_outbox_acked(sw_engine *e, const uint64_t *ids, size_t n)
{
    return sw__ids_append(&e->acked, ids, n);
}

int sw_engine_outbox_failed(sw_engine *e, const uint64_t *ids, size_t n)
{
    return sw__ids_append(&e->resend, ids, n);
}

void sw_engine_states_lost(sw_engine *e)
{
    if (!e->states_owed)
        e->owed_from[0] = 0;
    e->states_owed = 1;
}

void sw_engine_free(sw_engine *e)
{
    free(e->acked.v);
    free(e->resend.v);
    memset(&e->acked, 0, sizeof e->acked);
    memset(&e->resend, 0, sizeof e->resend);
}

/* Delete the acknowledged entries in their own transaction. */
static int sw__delete_acked(sw_engine *e)
{
    MDB_txn *txn;
    int rc;

    if (!e->acked.n)
        return 0;
    if ((rc = sw_store_begin(e->store, 1, &txn)))
        return rc;
    if ((rc = sw_outbox_del(e->store, txn, e->acked.v, e->acked.n))) {
        mdb_txn_abort(txn);
        return rc;
    }
    if ((rc = sw_store_commit(e->store, txn)))
        return rc;
    e->acked.n = 0;
    return 0;
}

/* Offer the outbox entry `id`; SW_ENOENT once it is gone (acknowledged). */
static int sw__offer(sw_engine *e, MDB_txn *txn, uint64_t id, int force)
{
    unsigned char key[8];
    sw_publication p;
    MDB_val v;
    int rc;

    sw_be64_put(key, id);
    if ((rc = sw_store_get(e->store, txn, SW_DB_OUTBOX, key, 8, &v)))
        return rc;
    if (sw_outbox_decode(&v, id, &p)) {
        sw_log(SW_LOG_ERR, "outbox: entry %llu is unreadable; dropped", (unsigned long long)id);
        return sw__ids_append(&e->acked, &id, 1);
    }
    return e->pub.publish(e->pub.ctx, &p, force);
}

/* The current state of every marked incident from e->owed_from on. */
static int sw__offer_states(sw_engine *e, MDB_txn *txn)
{
    MDB_cursor *cur;
    MDB_val k, v, iv;
    int rc, n = 0;

    if (mdb_cursor_open(txn, e->store->dbi[SW_DB_META], &cur))
        return SW_ESTORE;
    if (!e->owed_from[0])
        snprintf(e->owed_from, sizeof e->owed_from, "pub/");
    k.mv_size = strlen(e->owed_from);
    k.mv_data = e->owed_from;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         !rc && k.mv_size > 4 && !memcmp(k.mv_data, "pub/", 4);
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        sw_incident inc;
        if (sw_store_get(e->store, txn, SW_DB_INCIDENTS, (char *)k.mv_data + 4, k.mv_size - 4,
                         &iv) ||
            sw_incident_decode(iv.mv_data, iv.mv_size, &inc))
            continue;
        const sw_site_conf *site = sw_config_site(e->cfg, inc.site);
        cJSON *pub = sw_incident_public(&inc, site ? site->tz_offset_s : 0);
        char *txt = pub ? cJSON_PrintUnformatted(pub) : NULL;
        char topic[SW_SITE_MAX + SW_ID_MAX + 96];
        snprintf(topic, sizeof topic, "%s/%s/incident/%s", e->cfg->prefix, inc.site, inc.id);
        sw_publication p = {
            .topic = topic, .payload = txt, .len = txt ? strlen(txt) : 0, .retained = 1};
        int prc = txt ? e->pub.publish(e->pub.ctx, &p, 0) : SW_ENOMEM;
        cJSON_free(txt);
        cJSON_Delete(pub);
        sw_incident_free(&inc);
        if (prc == SW_EAGAIN) {
            /* No room: this one is the first of the next offer. */
            snprintf(e->owed_from, sizeof e->owed_from, "%.*s", (int)k.mv_size, (char *)k.mv_data);
            mdb_cursor_close(cur);
            return SW_EAGAIN;
        }
        n += !prc;
    }
    mdb_cursor_close(cur);
    e->states_owed = 0;
    e->owed_from[0] = 0;
    if (n)
        sw_log(SW_LOG_INFO, "offered the retained state of %d incidents again", n);
    return 0;
}

int sw_engine_pump(sw_engine *e)
{
    MDB_txn *txn;
    int rc;

    if ((rc = sw__delete_acked(e)))
        return rc;
    if (!e->resend.n && !e->spill_from && !e->states_owed)
        return 0;
    if ((rc = sw_store_begin(e->store, 0, &txn)))
        return rc;
    /* Failed ones go again whatever the queue holds: at most a window's
     * worth can fail at once. */
    for (size_t i = 0; i < e->resend.n; i++) {
        int orc = sw__offer(e, txn, e->resend.v[i], 1);
        if (orc && orc != SW_ENOENT)
            sw_log(SW_LOG_WARNING, "outbox: entry %llu not offered again: %s",
                   (unsigned long long)e->resend.v[i], sw_strerror(orc));
    }
    e->resend.n = 0;
    while (e->spill_from) {
        uint64_t id;
        if ((rc = sw_outbox_first(e->store, txn, e->spill_from, &id)) || !id) {
            e->spill_from = 0;
            break;
        }
        if ((rc = sw__offer(e, txn, id, 0)) == SW_EAGAIN) {
            e->spill_from = id;
            break;
        }
        e->spill_from = id + 1;
    }
    rc = 0;
    if (!e->spill_from && e->states_owed)
        rc = sw__offer_states(e, txn);
    mdb_txn_abort(txn);
    return rc == SW_EAGAIN ? 0 : rc;
}

int sw_engine_published(sw_engine *e)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k = {4, "pub/"}, v;
    int rc, n = 0;

    /* A state refused or lost is still owed: its mark stays. */
    if (e->states_owed)
        return 0;
    if ((rc = sw_store_begin(e->store, 1, &txn)))
        return rc;
    if (mdb_cursor_open(txn, e->store->dbi[SW_DB_META], &cur)) {
        mdb_txn_abort(txn);
        return SW_ESTORE;
    }
    /* Seek again after each delete: the first "pub/" key left. */
    while (!mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) && k.mv_size > 4 &&
           !memcmp(k.mv_data, "pub/", 4) && !mdb_cursor_del(cur, 0)) {
        k.mv_size = 4;
        k.mv_data = "pub/";
        n++;
    }
    mdb_cursor_close(cur);
    if (!n) {
        mdb_txn_abort(txn);
        return 0;
    }
    return sw_store_commit(e->store, txn);
}
