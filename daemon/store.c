#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "siteward/types.h"

static const char *const sw__db_names[SW_DB_COUNT] = {
    "incidents", "open",    "deadlines", "timeline", "dedup", "corr",
    "personal",  "records", "meta",      "expect",   "outbox"};

#define SW__MAP_INITIAL ((size_t)1 << 30)

static int sw__lmdb(int rc, const char *what)
{
    if (rc == 0)
        return 0;
    if (rc == MDB_NOTFOUND)
        return SW_ENOENT;
    if (rc == MDB_MAP_FULL)
        return SW_EMAPFULL;
    if (rc == ENOSPC) {
        sw_log(SW_LOG_ERR, "store: %s: disk full", what);
        return SW_ENOSPC;
    }
    sw_log(SW_LOG_ERR, "store: %s: %s", what, mdb_strerror(rc));
    return SW_ESTORE;
}

int sw_store_open(sw_store *st, const char *state_dir, int readonly, int nosync)
{
    char path[4096];
    MDB_txn *txn = NULL;
    int rc;
    unsigned flags = MDB_NOTLS;

    memset(st, 0, sizeof *st);
    st->readonly = readonly;
    st->nosync = nosync;
    snprintf(path, sizeof path, "%s/main", state_dir);
    if (!readonly && mkdir(path, 0750) && errno != EEXIST) {
        sw_log(SW_LOG_ERR, "store: cannot create %s: %s", path, strerror(errno));
        return SW_ESTORE;
    }
    if ((rc = mdb_env_create(&st->env)) || (rc = mdb_env_set_maxdbs(st->env, SW_DB_COUNT + 2)) ||
        (rc = mdb_env_set_maxreaders(st->env, 126)))
        return sw__lmdb(rc, "create");
    if (readonly)
        flags |= MDB_RDONLY;
    if (nosync)
        flags |= MDB_NOSYNC;
    if ((rc = mdb_env_open(st->env, path, flags, 0640))) {
        sw__lmdb(rc, path);
        mdb_env_close(st->env);
        st->env = NULL;
        return SW_ESTORE;
    }
    /* The map may be larger than the file; never smaller than what is there. */
    MDB_envinfo info;
    mdb_env_info(st->env, &info);
    st->mapsize = info.me_mapsize;
    if (!readonly && st->mapsize < SW__MAP_INITIAL) {
        st->mapsize = SW__MAP_INITIAL;
        mdb_env_set_mapsize(st->env, st->mapsize);
    }
    sw_store_check_readers(st);

    if ((rc = mdb_txn_begin(st->env, NULL, readonly ? MDB_RDONLY : 0, &txn)))
        goto fail;
    for (int i = 0; i < SW_DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, sw__db_names[i], readonly ? 0 : MDB_CREATE, &st->dbi[i]);
        /* Read-only, a store the daemon has not opened since a database was
         * added lacks it: reading that one fails (EINVAL), the rest work. */
        if (rc == MDB_NOTFOUND && readonly)
            st->dbi[i] = (MDB_dbi)-1;
        else if (rc)
            goto fail;
    }
    if ((rc = mdb_txn_commit(txn))) {
        txn = NULL;
        goto fail;
    }
    return 0;
fail:
    if (txn)
        mdb_txn_abort(txn);
    sw__lmdb(rc, "open databases");
    mdb_env_close(st->env);
    st->env = NULL;
    return SW_ESTORE;
}

void sw_store_close(sw_store *st)
{
    if (!st->env)
        return;
    if (!st->readonly)
        mdb_env_sync(st->env, 1);
    mdb_env_close(st->env);
    st->env = NULL;
}

int sw_store_begin(sw_store *st, int write, MDB_txn **txn)
{
    return sw__lmdb(mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, txn), "begin");
}

int sw_store_commit(sw_store *st, MDB_txn *txn)
{
    (void)st;
#ifdef SW_FAULT_HOOKS
    const char *fault = getenv("SITEWARD_FAULT_STORE");
    if (fault && !access(fault, F_OK)) {
        mdb_txn_abort(txn);
        return SW_ENOSPC;
    }
#endif
    return sw__lmdb(mdb_txn_commit(txn), "commit");
}

int sw_store_grow(sw_store *st)
{
    size_t next = st->mapsize * 2;
    int rc = mdb_env_set_mapsize(st->env, next);
    if (rc)
        return sw__lmdb(rc, "grow map");
    sw_log(SW_LOG_NOTICE, "store: map grown to %zu MiB", next >> 20);
    st->mapsize = next;
    return 0;
}

int sw_store_sync(sw_store *st)
{
    return sw__lmdb(mdb_env_sync(st->env, 1), "sync");
}

size_t sw_store_used(sw_store *st)
{
    MDB_envinfo info;
    MDB_stat stat;
    mdb_env_info(st->env, &info);
    mdb_env_stat(st->env, &stat);
    return (info.me_last_pgno + 1) * (size_t)stat.ms_psize;
}

int sw_store_check_readers(sw_store *st)
{
    int dead = 0;
    mdb_reader_check(st->env, &dead);
    if (dead)
        sw_log(SW_LOG_NOTICE, "store: cleared %d stale readers", dead);
    return dead;
}

const char *sw_store_db_name(enum sw_db db)
{
    return db < SW_DB_COUNT ? sw__db_names[db] : "?";
}

size_t sw_store_count(sw_store *st, MDB_txn *txn, enum sw_db db)
{
    MDB_stat stat;
    if (mdb_stat(txn, st->dbi[db], &stat))
        return 0;
    return stat.ms_entries;
}

int sw_store_get(sw_store *st, MDB_txn *txn, enum sw_db db, const void *key, size_t klen,
                 MDB_val *val)
{
    MDB_val k = {klen, (void *)key};
    return sw__lmdb(mdb_get(txn, st->dbi[db], &k, val), sw__db_names[db]);
}

int sw_store_put(sw_store *st, MDB_txn *txn, enum sw_db db, const void *key, size_t klen,
                 const void *val, size_t vlen)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    return sw__lmdb(mdb_put(txn, st->dbi[db], &k, &v, 0), sw__db_names[db]);
}

int sw_store_del(sw_store *st, MDB_txn *txn, enum sw_db db, const void *key, size_t klen)
{
    MDB_val k = {klen, (void *)key};
    return sw__lmdb(mdb_del(txn, st->dbi[db], &k, NULL), sw__db_names[db]);
}

size_t sw_deadline_key(unsigned char *key, int64_t ms, const char *id, const char *name)
{
    size_t n = strlen(id), m = strlen(name);
    sw_be64_put(key, (uint64_t)ms);
    memcpy(key + 8, id, n);
    key[8 + n] = '/';
    memcpy(key + 9 + n, name, m);
    return 9 + n + m;
}

void sw_dedup_value(const MDB_val *v, int64_t *ms, char *id)
{
    const unsigned char *p = v->mv_data;
    size_t n = v->mv_size;
    int64_t t = 0;

    /* An id starts with a site's letter, a time with 0 (before 2^56 ms). */
    if (n >= 8 && p[0] == 0) {
        t = (int64_t)sw_be64_get(p);
        p += 8;
        n -= 8;
    }
    if (n > SW_ID_MAX)
        n = 0;
    memcpy(id, p, n);
    id[n] = 0;
    if (ms)
        *ms = t;
}

void sw_be64_put(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

uint64_t sw_be64_get(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

void sw_be32_put(unsigned char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

uint32_t sw_be32_get(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | p[i];
    return v;
}
