/*
 * The inbox: every message the broker delivers is appended here by the MQTT
 * thread before its callback returns (so before Paho sends the PUBACK), and
 * removed by the loop once applied. STATE_DIR/inbox is an LMDB environment of
 * its own, keyed by be64 sequence number.
 *
 * Threading: sw_inbox_append() runs on the MQTT thread; everything else on
 * the loop thread. A mutex serialises the two so the map can grow safely.
 */
#ifndef SW_INBOX_H
#define SW_INBOX_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#define SW_PAYLOAD_MAX  (64 * 1024) /* larger payloads are rejected as too_large */
#define SW_PAYLOAD_KEEP 1024        /* what is kept of a too-large payload */

/* One received message, allocated as a single block. */
typedef struct sw_inmsg {
    struct sw_inmsg *next; /* queue link */
    uint64_t seq;
    int64_t received_ms;
    size_t payload_full_len; /* length as received; > payload_len when cut */
    size_t payload_len;
    size_t topic_len;
    size_t resp_topic_len; /* MQTT 5 Response Topic, 0 if none */
    size_t corr_len;       /* MQTT 5 Correlation Data */
    char *topic;           /* NUL-terminated */
    char *payload;         /* NUL-terminated */
    char *resp_topic;      /* NUL-terminated or NULL */
    unsigned char *corr;
} sw_inmsg;

/* Allocate a message holding copies of the parts; a payload longer than
 * SW_PAYLOAD_MAX keeps only its first SW_PAYLOAD_KEEP bytes. NULL on ENOMEM. */
sw_inmsg *sw_inmsg_new(const char *topic, size_t topic_len, const void *payload, size_t payload_len,
                       const char *resp_topic, size_t resp_len, const void *corr, size_t corr_len,
                       int64_t received_ms);

typedef struct sw_inbox {
    MDB_env *env;
    MDB_dbi dbi;
    pthread_mutex_t lock;
    uint64_t next_seq;
    size_t mapsize;
} sw_inbox;

/* How the inbox's file is written. */
enum {
    SW_INBOX_NOSYNC = 1,   /* commits not flushed; sw_inbox_sync() does, every second */
    SW_INBOX_WRITEMAP = 2, /* commits write into a shared map (MDB_WRITEMAP) */
};

/* Open STATE_DIR/inbox with `flags` (SW_INBOX_*). `applied`: the last
 * sequence number the store has
 * applied (engine.h). Numbering continues above both it and the last message
 * kept, so it never goes backwards, even when the inbox was trimmed empty:
 * a number reused below the applied mark would hide its message from the
 * next replay. */
int sw_inbox_open(sw_inbox *ib, const char *state_dir, int flags, uint64_t applied);
/* Safe while the MQTT thread retries sw_inbox_append(): that then fails. */
void sw_inbox_close(sw_inbox *ib);
/* Store `m` and set m->seq. Returns 0, SW_ENOSPC (disk full) or SW_ESTORE. */
int sw_inbox_append(sw_inbox *ib, sw_inmsg *m);
/* The sequence number of the last message appended (0: none yet). */
uint64_t sw_inbox_last(sw_inbox *ib);
/* Load up to `max` messages with seq > after, in order, calling `fn` for
 * each; the callee owns the message. *last is set to the sequence number of
 * the last record examined (a record that cannot be read is logged and passed
 * over), or left as is. Returns how many were loaded, or SW_ESTORE. */
int sw_inbox_read(sw_inbox *ib, uint64_t after, int max, void (*fn)(void *arg, sw_inmsg *m),
                  void *arg, uint64_t *last);
/* Remove messages with seq <= upto. */
int sw_inbox_trim(sw_inbox *ib, uint64_t upto);
int sw_inbox_sync(sw_inbox *ib);
/* Messages stored and not yet trimmed. */
size_t sw_inbox_count(sw_inbox *ib);

#endif
