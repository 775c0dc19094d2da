/*
 * The state store: one LMDB environment under STATE_DIR/main, owned by the
 * loop thread (sitewardctl opens it read-only). The inbox has its own
 * environment (inbox.h) so the MQTT thread never waits on the loop's write
 * transaction.
 *
 * Named databases and their keys ('/' separates parts: no identifier of the
 * contract may contain it):
 *   incidents  ID                          -> incident JSON (internal form, ms times)
 *   open       SITE/ID                     -> "" while the incident is not closed
 *   deadlines  be64(due_ms) ID/OBLIGATION  -> "" for every pending obligation
 *   timeline   ID/be32(seq)                -> entry JSON {"ts","kind","by",...}
 *   dedup      E/SITE/SOURCE/DEVICE/EVENTID -> be64(received ms) incident ID ("" if none opened)
 *              R/SITE/USER/REPORTID         -> be64(received ms) incident ID
 *              C/SITE/USER/REQUESTID        -> be64(received ms) incident ID ("" if none)
 *              (values of older stores are the bare ID: sw_dedup_value() reads both)
 *   corr       SITE/CLASS/KEY              -> be64(last_ms) ID
 *   personal   ID/USER/REPORTID            -> contact JSON (personal data)
 *   records    SITE/be64(ms)/be64(inbox seq) -> JSON of events that open no incident
 *              (what owns each database's keys and when they go: retention.c)
 *   meta       "inbox_applied"             -> be64 last inbox sequence applied
 *              "seq/SITE/YYYYMMDD"         -> be32 last incident number of that day
 *              "g/..."                     -> the metrics' kept counts (gauges.h)
 *   expect     R/KIND/SITE/ROUND          -> round state JSON (rounds.c)
 *              S/SITE/SOURCE/DEVICE        -> silent-device record (silent.c)
 *              T/SITE/RULE/SOURCE/DEVICE   -> telemetry rule state (telemetry.c)
 *   deadlines also holds timers that are not obligations: be64(due_ms) "@WORD:..."
 *   (timers.h).
 *   outbox     be64(id)                    -> a publication owed to the broker
 *              (outbox.h): written in the transaction that decided it, deleted
 *              when the broker acknowledges it
 *
 * Lifetimes: values returned by reads point into the map and are valid until
 * the end of the transaction they were read in.
 */
#ifndef SW_STORE_H
#define SW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "siteward/types.h"

enum sw_db {
    SW_DB_INCIDENTS = 0,
    SW_DB_OPEN,
    SW_DB_DEADLINES,
    SW_DB_TIMELINE,
    SW_DB_DEDUP,
    SW_DB_CORR,
    SW_DB_PERSONAL,
    SW_DB_RECORDS,
    SW_DB_META,
    SW_DB_EXPECT,
    SW_DB_OUTBOX,
    SW_DB_COUNT
};

typedef struct sw_store {
    MDB_env *env;
    MDB_dbi dbi[SW_DB_COUNT];
    int readonly;
    int nosync;
    size_t mapsize;
} sw_store;

/* Open (creating when writable) DIR/main. `nosync`: commits are not flushed;
 * the caller flushes with sw_store_sync(). Returns 0 or SW_ESTORE. */
int sw_store_open(sw_store *st, const char *state_dir, int readonly, int nosync);
void sw_store_close(sw_store *st);

/* Begin a transaction. A write transaction that fails with MDB_MAP_FULL is
 * aborted by the caller, which calls sw_store_grow() and retries. */
int sw_store_begin(sw_store *st, int write, MDB_txn **txn);
/* Commit a write transaction (always ended, as by mdb_txn_commit). Returns 0,
 * SW_EMAPFULL (the caller may grow the map and retry), SW_ENOSPC (disk full)
 * or SW_ESTORE (logged). Builds with SW_FAULT_HOOKS fail every commit with
 * SW_ENOSPC while the file named by $SITEWARD_FAULT_STORE exists: the fault
 * tests' way to make the store refuse writes from its first commit. */
int sw_store_commit(sw_store *st, MDB_txn *txn);
/* Double the map size; only with no transaction open. */
int sw_store_grow(sw_store *st);
int sw_store_sync(sw_store *st);
/* Bytes of the map in use. */
size_t sw_store_used(sw_store *st);
/* Clear the reader slots of processes that died (a killed sitewardctl):
 * a stale slot pins old pages for ever. Returns how many were cleared. */
int sw_store_check_readers(sw_store *st);
/* The name of `db` in the environment (static). */
const char *sw_store_db_name(enum sw_db db);
/* Entries in `db` (O(1)). */
size_t sw_store_count(sw_store *st, MDB_txn *txn, enum sw_db db);

/* Thin wrappers: return 0, SW_ENOENT (get/del of a missing key), or a raw
 * negative-free LMDB code mapped to SW_ESTORE after logging; MDB_MAP_FULL is
 * returned as SW_EMAPFULL so the caller can grow the map and retry, a full
 * disk as SW_ENOSPC (growing the map would not help). */
int sw_store_get(sw_store *st, MDB_txn *txn, enum sw_db db, const void *key, size_t klen,
                 MDB_val *val);
int sw_store_put(sw_store *st, MDB_txn *txn, enum sw_db db, const void *key, size_t klen,
                 const void *val, size_t vlen);
int sw_store_del(sw_store *st, MDB_txn *txn, enum sw_db db, const void *key, size_t klen);

/* The "deadlines" key of obligation `name` of incident `id` due at `ms`:
 * be64(ms) ID/NAME, written into `key` (SW_DEADLINE_KEY_MAX bytes).
 * Returns its length. */
#define SW_DEADLINE_KEY_MAX (8 + SW_ID_MAX + 1 + 48) /* 48: SW_OBL_NAME_MAX (policy.h) */
size_t sw_deadline_key(unsigned char *key, int64_t ms, const char *id, const char *name);

/* Read a "dedup" value: *ms (may be NULL) the time the key was stored, 0
 * for values written before siteward kept it; `id` (SW_ID_MAX + 1 bytes)
 * the incident id, "" for none. */
void sw_dedup_value(const MDB_val *v, int64_t *ms, char *id);

/* Big-endian integers, so that keys sort by value. */
void sw_be64_put(unsigned char *p, uint64_t v);
uint64_t sw_be64_get(const unsigned char *p);
void sw_be32_put(unsigned char *p, uint32_t v);
uint32_t sw_be32_get(const unsigned char *p);

#endif
