/*
 * The engine: applies received messages to the store, one batch per LMDB
 * write transaction, and publishes what changed once the transaction has
 * committed (so nothing is ever published ahead of the store). It runs on
 * the loop thread only. The MQTT side is reached through sw_publisher so the
 * engine can be driven in-process by tests.
 */
#ifndef SW_ENGINE_H
#define SW_ENGINE_H

#include <stdint.h>

#include "config.h"
#include "inbox.h"
#include "outbox.h"
#include "plugins.h"
#include "policy.h"
#include "store.h"

typedef struct sw_publisher {
    /* Queue one QoS 1 publication; the callee copies what it keeps. Returns
     * 0, or SW_EAGAIN when it has no room now (unless `force`): the engine
     * keeps what it owes and offers it again from sw_engine_pump(). */
    int (*publish)(void *ctx, const sw_publication *p, int force);
    void *ctx;
} sw_publisher;

/* Outbox ids, a growing array owned by the engine. */
typedef struct sw_ids {
    uint64_t *v;
    size_t n, cap;
} sw_ids;

typedef struct sw_stats {
    uint64_t received;   /* messages taken from the inbox */
    uint64_t accepted;   /* applied */
    uint64_t rejected;   /* dead-lettered or answered with an error */
    uint64_t duplicates; /* recognised retransmissions */
    uint64_t opened;     /* incidents opened */
    uint64_t escalations;
    uint64_t calendar_uncovered; /* due times computed past a site calendar */
    uint64_t batches;
    uint64_t purged;         /* incidents removed by retention */
    uint64_t storage_errors; /* batches the store could not commit (disk full...) */
} sw_stats;

/* Where a retention step over one database resumes: the next key to
 * examine (len 0: its start). */
typedef struct sw_resume {
    unsigned char key[SW_KEY_MAX];
    size_t len;
} sw_resume;

typedef struct sw_engine {
    const sw_config *cfg;
    const sw_policy *policy;
    sw_store *store;
    sw_plugins *plugins;
    sw_publisher pub;
    sw_stats stats;
    struct sw_metrics *metrics;     /* NULL: none kept (metrics.h); borrowed */
    uint64_t applied_seq;           /* last inbox sequence applied */
    int storage_fault;              /* the last batch could not be stored */
    char purge_from[SW_ID_MAX + 1]; /* where the next retention step starts */
    /* ...and its steps over the other owners' databases (retention.c) */
    sw_resume dedup_from, records_from, seq_from, silences_from;
    int rounds_armed; /* the first tick armed the expected rounds */
    /* What is owed to the broker (owed.c). */
    uint64_t outbox_next;          /* key of the next outbox entry */
    sw_ids acked;                  /* acknowledged: deleted by the next transaction */
    sw_ids resend;                 /* failed to reach the broker: offered again */
    uint64_t spill_from;           /* outbox entries from here on wait for room (0: none) */
    int states_owed;               /* retained states marked "pub/" wait to be offered again */
    char owed_from[SW_ID_MAX + 8]; /* the "pub/" key the next offer starts at */
} sw_engine;

/* Read the applied mark from the store. The engine borrows every pointer. */
int sw_engine_init(sw_engine *e, const sw_config *cfg, const sw_policy *policy, sw_store *store,
                   sw_plugins *plugins, sw_publisher pub);

/* Apply `n` messages in one transaction (growing the map and retrying when
 * it is full), then publish. Messages stay owned by the caller. Returns 0
 * or a negative code; on failure nothing was applied. */
int sw_engine_apply(sw_engine *e, sw_inmsg *const *msgs, int n);

/* Act on every deadline due at or before `now` (epoch ms; deadlines.c): a
 * pending obligation becomes missed and escalates along its chain, a missed
 * one escalates further. Then set *next to the earliest deadline left (0:
 * none). A deadline that passed while siteward was down fires at once and
 * says how late. Timers that are not obligations (timers.h) go to their
 * handlers; the first tick also arms the rounds of expected events that
 * have none under way. Returns 0 or a negative code (then nothing was
 * applied). */
int sw_engine_tick(sw_engine *e, int64_t now, int64_t *next);
/* The earliest deadline in the store, or 0 when there is none. */
int sw_engine_next_deadline(sw_engine *e, int64_t *next);

/*
 * What is owed to the broker (owed.c).
 *
 * Escalations, replies and dead letters are outbox entries (outbox.h),
 * written by the batch that decided them. Retained state: every batch marks
 * the incidents it changed ("pub/ID" in meta) in the same transaction as the
 * change; the marks are cleared once everything published so far has been
 * acknowledged (sw_engine_published(), called when the MQTT side is idle).
 *
 * sw_engine_pump() hands over what is owed, as far as the publisher takes
 * it: the entries that failed to reach the broker, then the outbox from
 * where the publisher last had no room (all of it after a start), then the
 * current state of every marked incident if a state publication was refused
 * or failed (all of them after a start). It also deletes the entries the
 * broker acknowledged (sw_engine_outbox_acked()) that no batch has deleted
 * yet. Call it after a start, after each batch and whenever the publisher
 * reports acknowledgements, failures or room again.
 */
int sw_engine_published(sw_engine *e);
int sw_engine_pump(sw_engine *e);
/* Take note of outbox entries acknowledged, or failed (to send again). */
int sw_engine_outbox_acked(sw_engine *e, const uint64_t *ids, size_t n);
int sw_engine_outbox_failed(sw_engine *e, const uint64_t *ids, size_t n);
/* A retained state publication was lost: offer the marked states again. */
void sw_engine_states_lost(sw_engine *e);
/* Free what the engine allocated (the id arrays). */
void sw_engine_free(sw_engine *e);

/* One retention step (retention.c): examine up to `max` incidents from
 * where the last step stopped and purge those the policy no longer keeps
 * at `now`, with their timeline, contacts, deadlines and correlation key.
 * In the same transaction, examine up to `max` keys of each other owner
 * and delete what it no longer needs: dedup keys past retention.dedup (a
 * report's or command's only once its incident is gone too), records and
 * ended silences past retention.keep, incident-number counters of past
 * days. Sets *purged to the incidents purged. */
int sw_engine_purge(sw_engine *e, int64_t now, int max, int *purged);

/* Reload (reapply.c): after the policy in e->policy has been replaced, give
 * the open incidents of every class whose policy says "apply_to_open" the
 * new due times of their pending obligations counted from the first alarm,
 * in steps of a few hundred incidents per transaction; the changed
 * incidents are published. Sets *changed to how many incidents changed. */
int sw_engine_reapply(sw_engine *e, int *changed);

/* Current figures as the stats JSON of the contract (caller frees).
 * `inbox_errors` counts messages the inbox could not store (each attempt),
 * `inbox_fault` says whether the last attempt failed; with the engine's own
 * they make "storage_fault" and "storage_errors". */
char *sw_engine_stats_json(sw_engine *e, size_t inbox_backlog, uint64_t inbox_errors,
                           int inbox_fault);

#endif
