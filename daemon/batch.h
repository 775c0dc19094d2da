/*
 * One batch of the engine: the LMDB write transaction, the incidents it
 * touched, and what to publish once it has committed. Internal to the
 * engine and the command handlers.
 *
 * Lifetimes: every sw_dirty and queued publication belongs to the batch and
 * is freed by sw_batch_end(); pointers to them are valid until then.
 */
#ifndef SW_BATCH_H
#define SW_BATCH_H

#include "engine.h"
#include "incident.h"
#include "siteward/types.h"

typedef struct sw_dirty {
    sw_incident inc;
    struct sw_dirty *hnext;         /* hash chain */
    sw_obligation orig[SW_OBL_MAX]; /* as loaded, to update the deadline index */
    int norig;
    enum sw_state orig_state;
    int orig_level;
    int created;
    int changed;
    cJSON *public; /* rendered at commit */
} sw_dirty;

typedef struct sw_out sw_out;
typedef struct sw_reply sw_reply;

#define SW_BATCH_BUCKETS 256

typedef struct sw_batch {
    sw_engine *e;
    MDB_txn *txn;
    sw_dirty **dirty;
    int ndirty, cap;
    sw_dirty *buckets[SW_BATCH_BUCKETS];
    sw_out *out, **out_tail;
    sw_reply *replies, **replies_tail;
    sw_stats stats; /* added to the engine's once committed */
    struct {
        char code[SW_CODE_MAX];
        uint32_t n;
    } rejected[16]; /* by reason, for the metrics; the last slot takes the overflow */
    int nrejected;
    struct sw_gauge_delta *gauges; /* gauges.h: what it changed in the counts */
    uint64_t last_seq;
    uint64_t outbox_next; /* the engine's, once this batch has committed */
    size_t acked_done;    /* acknowledged outbox entries this batch deleted */
    int replay;           /* applying a stored event again (sw_engine_replay) */
} sw_batch;

int sw_batch_begin(sw_batch *b, sw_engine *e);
/* The next incident id of `site` for the local day of `ms` (engine.c). */
int sw_batch_new_id(sw_batch *b, const char *site, int64_t ms, int tz, char *out, size_t len);
/* A new incident `id`, otherwise empty, owned by the batch; NULL on ENOMEM. */
sw_dirty *sw_batch_dirty_new(sw_batch *b, const char *id);
/* The incident `id`, from the batch or the store. SW_ENOENT if unknown. */
int sw_batch_load(sw_batch *b, const char *id, sw_dirty **out);
/* Append a timeline entry (takes ownership of `entry`, adds ts/by/seq). */
int sw_batch_timeline(sw_batch *b, sw_dirty *d, int64_t ts, const char *by, cJSON *entry);
int sw_batch_timeline_state(sw_batch *b, sw_dirty *d, int64_t ts, const char *by,
                            enum sw_state from, enum sw_state to);
int sw_batch_timeline_obligation(sw_batch *b, sw_dirty *d, int64_t ts, const char *by,
                                 const char *op);
/* Queue the reply to a report or command: ok when `code` is NULL. `d` is
 * the incident to include, or NULL. */
int sw_batch_reply(sw_batch *b, const sw_msg *m, const sw_inmsg *in, sw_dirty *d, int duplicate,
                   const char *code, const char *message);
/* Add `item` (owned from now on) as member `key` (< 16 bytes) of the reply
 * queued last. */
int sw_batch_reply_attach(sw_batch *b, const char *key, cJSON *item);
/* Queue an Escalation (CONTRACT.md) of obligation `ob` (NULL: the notice
 * sent when an incident opens) to `role`, and record it in the timeline. */
int sw_batch_escalation(sw_batch *b, sw_dirty *d, const sw_obligation *ob, const char *label,
                        int step, const char *role, int64_t now);
/* Count a message rejected with error `code` (stats and metrics). */
void sw_batch_rejected(sw_batch *b, const char *code);
/* Queue the dead letter of a rejected message (m->error_code set). */
int sw_batch_deadletter(sw_batch *b, const sw_msg *m, const sw_inmsg *in, const char *site);
/* Count (and log, once per site per batch) a due time past the calendar. */
void sw_batch_calendar_uncovered(sw_batch *b, const sw_site_conf *site);
/* Write the touched incidents and indexes, record `last_seq` as applied and
 * commit. SW_EMAPFULL when the map is full (the caller grows and retries). */
int sw_batch_commit(sw_batch *b, uint64_t last_seq);
/* After a commit: publish, run incident hooks, add the figures. */
void sw_batch_publish(sw_batch *b);
/* Free everything; aborts the transaction if it is still open. */
void sw_batch_end(sw_batch *b);

/* engine.c: open a new incident of `cls` for message `m` (first alarm,
 * class fields, the obligations counted from opening). */
int sw_engine_open_incident(sw_batch *b, sw_msg *m, const sw_class *cls, const sw_site_conf *site,
                            sw_dirty **out);
/* engine.c: keep `m` in the records database (an event that opens no
 * incident), under key sequence `seq`; `silenced_by` names the silence
 * that muted it, or is NULL. */
int sw_engine_record(sw_batch *b, sw_msg *m, uint64_t seq, const char *silenced_by);
/* engine.c: remember `m`'s dedup key (if it has one) as applied, with the
 * incident `id` it went to ("" for none), so a retransmission is known. */
int sw_engine_dedup_put(sw_batch *b, const sw_msg *m, const char *id);
/* engine.c: apply a stored event (topic and payload as received) again as
 * received at `received_ms`, within batch `b`: no duplicate check and no
 * planned work explains it; silences still apply. `seq` tells apart the
 * events replayed at one instant. */
int sw_engine_replay(sw_batch *b, const char *topic, const char *payload, int64_t received_ms,
                     uint64_t seq);

#endif
