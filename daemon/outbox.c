#include "outbox.h"

#include <errno.h>
#include <string.h>

#include "siteward/types.h"

#define SW__HDR 5

int sw_outbox_put(sw_store *st, MDB_txn *txn, uint64_t id, const sw_publication *p)
{
    size_t tlen = strlen(p->topic);
    unsigned char key[8];
    MDB_val k = {8, key}, v;
    int rc;

    if (tlen > 65535 || p->corr_len > 65535)
        return SW_EINVAL;
    sw_be64_put(key, id);
    v.mv_size = SW__HDR + tlen + 1 + p->corr_len + p->len;
    if ((rc = mdb_put(txn, st->dbi[SW_DB_OUTBOX], &k, &v, MDB_RESERVE)))
        return rc == MDB_MAP_FULL ? SW_EMAPFULL : rc == ENOSPC ? SW_ENOSPC : SW_ESTORE;
    unsigned char *w = v.mv_data;
    w[0] = p->retained ? 1 : 0;
    w[1] = (unsigned char)(tlen >> 8);
    w[2] = (unsigned char)tlen;
    w[3] = (unsigned char)(p->corr_len >> 8);
    w[4] = (unsigned char)p->corr_len;
    w += SW__HDR;
    memcpy(w, p->topic, tlen + 1);
    w += tlen + 1;
    if (p->corr_len)
        memcpy(w, p->corr, p->corr_len);
    w += p->corr_len;
    if (p->len)
        memcpy(w, p->payload, p->len);
    return 0;
}

int sw_outbox_decode(const MDB_val *v, uint64_t id, sw_publication *p)
{
    const unsigned char *r = v->mv_data;
    if (v->mv_size < SW__HDR)
        return SW_EINVAL;
    size_t tlen = (size_t)r[1] << 8 | r[2], clen = (size_t)r[3] << 8 | r[4];
    if (SW__HDR + tlen + 1 + clen > v->mv_size || r[SW__HDR + tlen] != 0)
        return SW_EINVAL;
    memset(p, 0, sizeof *p);
    p->retained = r[0] & 1;
    p->topic = (const char *)r + SW__HDR;
    p->corr = clen ? r + SW__HDR + tlen + 1 : NULL;
    p->corr_len = clen;
    p->payload = (const char *)r + SW__HDR + tlen + 1 + clen;
    p->len = v->mv_size - (SW__HDR + tlen + 1 + clen);
    p->outbox_id = id;
    return 0;
}

int sw_outbox_del(sw_store *st, MDB_txn *txn, const uint64_t *ids, size_t n)
{
    unsigned char key[8];
    for (size_t i = 0; i < n; i++) {
        sw_be64_put(key, ids[i]);
        int rc = sw_store_del(st, txn, SW_DB_OUTBOX, key, 8);
        if (rc && rc != SW_ENOENT)
            return rc;
    }
    return 0;
}

int sw_outbox_next_id(sw_store *st, MDB_txn *txn, uint64_t *next)
{
    MDB_cursor *cur;
    MDB_val k, v;
    if (mdb_cursor_open(txn, st->dbi[SW_DB_OUTBOX], &cur))
        return SW_ESTORE;
    *next = 1;
    if (!mdb_cursor_get(cur, &k, &v, MDB_LAST) && k.mv_size == 8)
        *next = sw_be64_get(k.mv_data) + 1;
    mdb_cursor_close(cur);
    return 0;
}

int sw_outbox_first(sw_store *st, MDB_txn *txn, uint64_t from, uint64_t *id)
{
    unsigned char key[8];
    MDB_cursor *cur;
    MDB_val k = {8, key}, v;
    if (mdb_cursor_open(txn, st->dbi[SW_DB_OUTBOX], &cur))
        return SW_ESTORE;
    sw_be64_put(key, from);
    *id = 0;
    if (!mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) && k.mv_size == 8)
        *id = sw_be64_get(k.mv_data);
    mdb_cursor_close(cur);
    return 0;
}
