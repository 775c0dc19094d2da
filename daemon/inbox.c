#include "inbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "siteward/types.h"
#include "store.h"

/* Record: be64 received_ms, be32 full_len, be32 payload_len, be16 topic_len,
 * be16 resp_len, be16 corr_len, then topic, payload, resp topic, corr data. */
#define SW__HDR 22

sw_inmsg *sw_inmsg_new(const char *topic, size_t topic_len, const void *payload, size_t payload_len,
                       const char *resp_topic, size_t resp_len, const void *corr, size_t corr_len,
                       int64_t received_ms)
{
    size_t keep = payload_len > SW_PAYLOAD_MAX ? SW_PAYLOAD_KEEP : payload_len;
    if (topic_len > 65535 || resp_len > 65535 || corr_len > 65535)
        return NULL;
    sw_inmsg *m = malloc(sizeof *m + topic_len + 1 + keep + 1 + resp_len + 1 + corr_len);
    if (!m)
        return NULL;
    char *p = (char *)(m + 1);
    m->next = NULL;
    m->seq = 0;
    m->received_ms = received_ms;
    m->payload_full_len = payload_len;
    m->payload_len = keep;
    m->topic_len = topic_len;
    m->resp_topic_len = resp_len;
    m->corr_len = corr_len;
    m->topic = p;
    memcpy(p, topic, topic_len);
    p[topic_len] = 0;
    p += topic_len + 1;
    m->payload = p;
    if (keep)
        memcpy(p, payload, keep);
    p[keep] = 0;
    p += keep + 1;
    m->resp_topic = NULL;
    if (resp_len) {
        m->resp_topic = p;
        memcpy(p, resp_topic, resp_len);
        p[resp_len] = 0;
    }
    p += resp_len + 1;
    m->corr = corr_len ? (unsigned char *)p : NULL;
    if (corr_len)
        memcpy(p, corr, corr_len);
    return m;
}

static void sw__be16_put(unsigned char *p, size_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static size_t sw__be16_get(const unsigned char *p)
{
    return (size_t)p[0] << 8 | p[1];
}

/* Allocate the data file's blocks up to `size` (an errno, or 0). */
static int sw__reserve(sw_inbox *ib, size_t size)
{
    int fd;
    if (mdb_env_get_fd(ib->env, &fd))
        return EBADF;
    return posix_fallocate(fd, 0, (off_t)size);
}

/* LMDB's words for a file it cannot trust. */
static int sw__damaged(int rc)
{
    return rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND ||
           rc == MDB_VERSION_MISMATCH || rc == MDB_BAD_TXN;
}

/* Open the environment at `path` and find where numbering goes on; every
 * record is visited, so a tree an OS crash left inconsistent shows here
 * (as a damage code) rather than in the middle of running. Returns an LMDB
 * code or an errno; ENOSPC when the file cannot be allocated. */
static int sw__open_env(sw_inbox *ib, const char *path, int flags, uint64_t applied)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    ib->mapsize = (size_t)64 << 20;
    /* MDB_WRITEMAP: a commit writes into the shared map instead of a
     * pwrite() per page, which is what the MQTT callback's time went to.
     * The file is allocated in full beforehand (sw__reserve), so a full disk
     * shows as an error when the map grows, never as SIGBUS on a write. */
    if ((rc = mdb_env_create(&ib->env)) || (rc = mdb_env_set_mapsize(ib->env, ib->mapsize)) ||
        (rc = mdb_env_open(ib->env, path,
                           MDB_NOTLS | (flags & SW_INBOX_WRITEMAP ? MDB_WRITEMAP : 0) |
                               (flags & SW_INBOX_NOSYNC ? MDB_NOSYNC : 0),
                           0640)))
        goto fail;
    MDB_envinfo info;
    mdb_env_info(ib->env, &info);
    ib->mapsize = info.me_mapsize;
    if ((rc = sw__reserve(ib, ib->mapsize))) {
        sw_log(SW_LOG_ERR, "inbox: cannot allocate %zu MiB in %s: %s", ib->mapsize >> 20, path,
               strerror(rc));
        goto fail;
    }
    if ((rc = mdb_txn_begin(ib->env, NULL, 0, &txn)))
        goto fail;
    if ((rc = mdb_dbi_open(txn, NULL, 0, &ib->dbi)) || (rc = mdb_cursor_open(txn, ib->dbi, &cur))) {
        mdb_txn_abort(txn);
        goto fail;
    }
    ib->next_seq = applied + 1;
    int walk;
    for (walk = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !walk;
         walk = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        if (k.mv_size == 8 && sw_be64_get(k.mv_data) >= ib->next_seq)
            ib->next_seq = sw_be64_get(k.mv_data) + 1;
    mdb_cursor_close(cur);
    if (walk != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        rc = walk;
        goto fail;
    }
    if ((rc = mdb_txn_commit(txn)))
        goto fail;
    return 0;
fail:
    if (ib->env)
        mdb_env_close(ib->env);
    ib->env = NULL;
    return rc;
}

int sw_inbox_open(sw_inbox *ib, const char *state_dir, int flags, uint64_t applied)
{
    char path[4096], aside[4200];
    int rc;

    memset(ib, 0, sizeof *ib);
    pthread_mutex_init(&ib->lock, NULL);
    snprintf(path, sizeof path, "%s/inbox", state_dir);
    for (int attempt = 0;; attempt++) {
        if (mkdir(path, 0750) && errno != EEXIST) {
            sw_log(SW_LOG_ERR, "inbox: cannot create %s: %s", path, strerror(errno));
            return SW_ESTORE;
        }
        if (!(rc = sw__open_env(ib, path, flags, applied)))
            return 0;
        if (rc == ENOSPC)
            return SW_ENOSPC;
        if (!sw__damaged(rc) || attempt) {
            sw_log(SW_LOG_ERR, "inbox: open %s: %s", path, mdb_strerror(rc));
            return SW_ESTORE;
        }
        /* An OS crash or power loss in process durability (the file is
         * written through a shared map with no ordered flushes: lmdb.h,
         * MDB_NOSYNC) can leave it unreadable. What it held past the
         * store's applied mark is lost; the rest was applied already. */
        snprintf(aside, sizeof aside, "%s.damaged-%lld", path, (long long)time(NULL));
        if (rename(path, aside)) {
            sw_log(SW_LOG_ERR, "inbox: %s is damaged (%s) and cannot be moved aside: %s", path,
                   mdb_strerror(rc), strerror(errno));
            return SW_ESTORE;
        }
        sw_log(SW_LOG_ERR,
               "inbox: %s was damaged (%s), as an OS crash can leave it in process durability; "
               "moved to %s and started empty: messages received after inbox sequence %llu "
               "and not yet applied are lost",
               path, mdb_strerror(rc), aside, (unsigned long long)applied);
    }
}

void sw_inbox_close(sw_inbox *ib)
{
    /* The lock is left initialised: an MQTT callback still retrying a
     * failed append (mqtt.c) takes it and finds the inbox closed. */
    pthread_mutex_lock(&ib->lock);
    if (ib->env) {
        mdb_env_sync(ib->env, 1);
        mdb_env_close(ib->env);
        ib->env = NULL;
    }
    pthread_mutex_unlock(&ib->lock);
}

uint64_t sw_inbox_last(sw_inbox *ib)
{
    pthread_mutex_lock(&ib->lock);
    uint64_t last = ib->next_seq - 1;
    pthread_mutex_unlock(&ib->lock);
    return last;
}

int sw_inbox_append(sw_inbox *ib, sw_inmsg *m)
{
    unsigned char key[8];
    MDB_txn *txn;
    MDB_val k = {8, key}, v;
    int rc;

    v.mv_size = SW__HDR + m->topic_len + m->payload_len + m->resp_topic_len + m->corr_len;
    pthread_mutex_lock(&ib->lock);
    if (!ib->env) {
        pthread_mutex_unlock(&ib->lock);
        return SW_ESTORE;
    }
    for (;;) {
        sw_be64_put(key, ib->next_seq);
        if ((rc = mdb_txn_begin(ib->env, NULL, 0, &txn)))
            break;
        rc = mdb_put(txn, ib->dbi, &k, &v, MDB_RESERVE | MDB_APPEND);
        if (!rc) {
            unsigned char *p = v.mv_data;
            sw_be64_put(p, (uint64_t)m->received_ms);
            sw_be32_put(p + 8, (uint32_t)m->payload_full_len);
            sw_be32_put(p + 12, (uint32_t)m->payload_len);
            sw__be16_put(p + 16, m->topic_len);
            sw__be16_put(p + 18, m->resp_topic_len);
            sw__be16_put(p + 20, m->corr_len);
            p += SW__HDR;
            memcpy(p, m->topic, m->topic_len);
            p += m->topic_len;
            memcpy(p, m->payload, m->payload_len);
            p += m->payload_len;
            if (m->resp_topic_len)
                memcpy(p, m->resp_topic, m->resp_topic_len);
            p += m->resp_topic_len;
            if (m->corr_len)
                memcpy(p, m->corr, m->corr_len);
            rc = mdb_txn_commit(txn);
        } else {
            mdb_txn_abort(txn);
        }
        if (rc != MDB_MAP_FULL)
            break;
        if ((rc = sw__reserve(ib, ib->mapsize * 2)) ||
            (rc = mdb_env_set_mapsize(ib->env, ib->mapsize * 2)))
            break;
        ib->mapsize *= 2;
        sw_log(SW_LOG_NOTICE, "inbox: map grown to %zu MiB", ib->mapsize >> 20);
    }
    if (!rc)
        m->seq = ib->next_seq++;
    pthread_mutex_unlock(&ib->lock);
    if (rc == ENOSPC)
        return SW_ENOSPC;
    return rc ? SW_ESTORE : 0;
}

int sw_inbox_read(sw_inbox *ib, uint64_t after, int max, void (*fn)(void *arg, sw_inmsg *m),
                  void *arg, uint64_t *last)
{
    unsigned char key[8];
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k = {8, key}, v;
    int rc, n = 0;

    sw_be64_put(key, after + 1);
    pthread_mutex_lock(&ib->lock);
    if (!ib->env || (rc = mdb_txn_begin(ib->env, NULL, MDB_RDONLY, &txn))) {
        pthread_mutex_unlock(&ib->lock);
        return SW_ESTORE;
    }
    mdb_cursor_open(txn, ib->dbi, &cur);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); !rc && n < max;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *p = v.mv_data;
        if (k.mv_size != 8)
            continue; /* no key of ours */
        uint64_t seq = sw_be64_get(k.mv_data);
        size_t full = 0, plen = 0, tlen = 0, rlen = 0, clen = 0;
        if (v.mv_size >= SW__HDR) {
            full = sw_be32_get(p + 8);
            plen = sw_be32_get(p + 12);
            tlen = sw__be16_get(p + 16);
            rlen = sw__be16_get(p + 18);
            clen = sw__be16_get(p + 20);
        }
        if (v.mv_size < SW__HDR || SW__HDR + tlen + plen + rlen + clen != v.mv_size) {
            sw_log(SW_LOG_ERR, "inbox: message %llu is unreadable (%zu bytes); passed over",
                   (unsigned long long)seq, v.mv_size);
            if (last)
                *last = seq;
            continue;
        }
        const char *t = (const char *)p + SW__HDR;
        sw_inmsg *m = sw_inmsg_new(t, tlen, t + tlen, plen, rlen ? t + tlen + plen : NULL, rlen,
                                   t + tlen + plen + rlen, clen, (int64_t)sw_be64_get(p));
        if (!m)
            break;
        m->payload_full_len = full;
        m->seq = seq;
        if (last)
            *last = seq;
        fn(arg, m);
        n++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    pthread_mutex_unlock(&ib->lock);
    return n;
}

int sw_inbox_trim(sw_inbox *ib, uint64_t upto)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    pthread_mutex_lock(&ib->lock);
    if ((rc = mdb_txn_begin(ib->env, NULL, 0, &txn))) {
        pthread_mutex_unlock(&ib->lock);
        return SW_ESTORE;
    }
    mdb_cursor_open(txn, ib->dbi, &cur);
    while (!(rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) && k.mv_size == 8 &&
           sw_be64_get(k.mv_data) <= upto)
        if ((rc = mdb_cursor_del(cur, 0)))
            break;
    mdb_cursor_close(cur);
    rc = mdb_txn_commit(txn);
    pthread_mutex_unlock(&ib->lock);
    return rc ? SW_ESTORE : 0;
}

int sw_inbox_sync(sw_inbox *ib)
{
    return mdb_env_sync(ib->env, 1) ? SW_ESTORE : 0;
}

size_t sw_inbox_count(sw_inbox *ib)
{
    MDB_stat st;
    if (mdb_env_stat(ib->env, &st))
        return 0;
    return st.ms_entries;
}
