/*
 * The durable outbox: publications that must reach someone (escalations,
 * replies, dead letters, the empty retained message of a purged incident)
 * are written to the store's "outbox" database in the same transaction as
 * the change that decided them, and deleted only once the broker has
 * acknowledged them. A crash, a stop, a broker that is away or a full
 * publish queue therefore delays them but never loses them: they are handed
 * to the MQTT side again after a start, a reconnect or a failed delivery.
 *
 * Retained incident states are not kept here: the store holds the state
 * itself, and a "pub/ID" mark in meta says it is owed (engine.h).
 *
 * Record: u8 flags (bit 0: retained), be16 topic length, be16 correlation
 * data length, then the topic and a NUL, the correlation data and the
 * payload.
 */
#ifndef SW_OUTBOX_H
#define SW_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* One publication, as handed to a publisher. Every pointer is borrowed for
 * the duration of the call. */
typedef struct sw_publication {
    const char *topic;
    const char *payload;
    size_t len;
    int retained;
    const unsigned char *corr; /* MQTT 5 correlation data, or NULL */
    size_t corr_len;
    uint64_t outbox_id; /* its outbox key; 0: not kept in the outbox */
} sw_publication;

/* Write `p` under key `id` in the transaction. Returns 0, SW_EINVAL (a
 * topic or correlation data over 65535 bytes), or a store code. */
int sw_outbox_put(sw_store *st, MDB_txn *txn, uint64_t id, const sw_publication *p);
/* Decode a record read from the outbox under key `id`; the pointers in *p
 * point into `v` (valid until the end of the transaction); the topic is
 * NUL-terminated, the payload is p->len bytes. SW_EINVAL when the record is
 * malformed. */
int sw_outbox_decode(const MDB_val *v, uint64_t id, sw_publication *p);
/* Delete the entries `ids` (n of them; those already gone are fine). */
int sw_outbox_del(sw_store *st, MDB_txn *txn, const uint64_t *ids, size_t n);
/* The key after the last one in the outbox (1 when empty). */
int sw_outbox_next_id(sw_store *st, MDB_txn *txn, uint64_t *next);
/* The first key in the outbox at or after `from` (0 when none). */
int sw_outbox_first(sw_store *st, MDB_txn *txn, uint64_t from, uint64_t *id);

#endif
