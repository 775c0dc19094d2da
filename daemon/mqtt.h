/*
 * The MQTT side: a Paho MQTTAsync client (MQTT 5, persistent session).
 *
 * Incoming. Paho calls sw__arrived() on its receive thread and sends the
 * PUBACK after it returns, whatever it returns (Paho 1.3.12,
 * MQTTProtocol_handlePublishes: Protocol_processPublication, then the
 * PUBACK). Returning 0 does not hold the acknowledgement back: Paho keeps
 * the message in its own memory and queues every later one there too, all
 * acknowledged. So the callback returns only once the message is in the
 * inbox: when the inbox cannot take it (disk full), it waits and tries
 * again, for as long as that takes. Meanwhile Paho reads nothing more (the
 * broker holds the stream, TCP pushes back), the keepalive goes unanswered
 * (after 1.5 keepalives the broker drops the connection; the message is
 * redelivered from the session, and dedup keys make the second copy
 * harmless), and, since the callback holds Paho's lock, the loop stays away
 * from Paho (`arrival_blocked`): its publications wait in the queue and in
 * the outbox. A stop in that state ends the process without returning from
 * the callback, so the message is never acknowledged.
 *
 * Stored messages reach the loop through a queue in memory of at most
 * `memory_queue_mb`; beyond it (and from the start until the loop has caught
 * up with the inbox) they are read back from the inbox in order, so memory
 * stays bounded whatever the backlog, and no message is both replayed and
 * queued.
 *
 * Outgoing messages wait in our own queue, of at most `memory_queue_mb`
 * (beyond it sw_mqtt_publish() refuses, and the caller keeps what it owes
 * in the store: outbox.h), and are handed to Paho only while connected and
 * while fewer than the broker's Receive Maximum are in flight. Paho 1.3.12
 * otherwise parks its send thread for up to a second whenever that limit is
 * reached (fixed upstream in 1.3.14). Each completion (on Paho's receive
 * thread) hands over the next message at once. Whoever drains the queue does
 * it outside out_lock, and only one thread drains at a time (`draining`), so
 * order is kept and out_lock is never held while waiting on Paho's lock.
 * Paho calls exactly one of the completion callbacks for each publication
 * it accepted (a lost session fails them: MQTTAsync_freeResponses), until
 * MQTTAsync_destroy(); the outbox ids of acknowledged and failed ones are
 * collected for the loop (sw_mqtt_take_acked, sw_mqtt_take_failed).
 *
 * Threading: everything but the Paho callbacks runs on the loop thread.
 */
#ifndef SW_MQTT_H
#define SW_MQTT_H

#include <pthread.h>
#include <stdatomic.h>

#include <MQTTAsync.h>
#include <uv.h>

#include "config.h"
#include "inbox.h"
#include "outbox.h"

typedef struct sw_mqtt sw_mqtt;

/* Called on the loop thread. */
typedef struct sw_mqtt_handlers {
    void (*messages)(void *ctx);   /* messages wait: sw_mqtt_take() */
    void (*outbox)(void *ctx);     /* acknowledgements, failures, or room in the queue */
    void (*subscribed)(void *ctx); /* after every (re)subscription */
    void (*lost)(void *ctx);
    void (*stopped)(void *ctx); /* sw_mqtt_stop() finished */
    void *ctx;
} sw_mqtt_handlers;

typedef struct sw_outmsg sw_outmsg;

/* Topic filters per SUBSCRIBE: brokers limit packet sizes (and some the
 * filters per packet), so a long list of owned sites goes in several. */
#define SW_MQTT_SUB_BATCH 96

struct sw_mqtt_subbatch {
    struct sw_mqtt *mq;
    int first, n;
};

/* Outbox ids collected on Paho's thread for the loop. */
typedef struct sw_mqtt_ids {
    uint64_t *v;
    size_t n, cap;
} sw_mqtt_ids;

struct sw_mqtt {
    MQTTAsync client;
    uv_async_t async;
    pthread_mutex_t lock;
    /* Messages handed to the loop, under lock. */
    sw_inmsg *head, **tail;
    size_t in_bytes;    /* held by the queue */
    int in_spilled;     /* the inbox holds messages the queue does not */
    uint64_t in_taken;  /* the last sequence number taken by the loop */
    size_t queue_limit; /* bytes, for each direction (memory_queue_mb) */
    atomic_int flags;
    sw_inbox *inbox;
    const sw_config *cfg;
    sw_mqtt_handlers h;
    char status_topic[192];
    char **subs; /* topic filters (shard.h, then foreign.h), nsubs of them */
    int nsubs;
    char **stale; /* filters unsubscribed from on connecting, nstale */
    int nstale;
    struct sw_mqtt_subbatch *batches; /* SUBSCRIBE packets of at most SW_MQTT_SUB_BATCH */
    int nbatches;
    atomic_int sub_pending; /* batches not yet acknowledged in this round */
    atomic_uint not_owned;  /* messages declined: another instance's site */
    atomic_int connected_once;
    atomic_int refused;  /* the broker refused the configuration at start */
    char tls_error[256]; /* OpenSSL's last complaint, under lock */
    atomic_int stopping;
    uv_timer_t stop_timer; /* drives sw_mqtt_stop() */
    uint64_t stop_started;
    int stop_phase; /* 0 draining, 1 disconnecting, 2 given up */
    int stopped;    /* h.stopped has run */
    /* Reconnecting (mqtt.c, sw__retry): a loop timer while disconnected. */
    uv_timer_t retry_timer;
    atomic_uint connect_attempts; /* since the last connection */
    atomic_int connected;         /* set and cleared by Paho's callbacks (no Paho lock) */
    atomic_uint store_errors;     /* inbox appends that failed */
    atomic_int inbox_fault;       /* the last one failed (disk full) */
    atomic_int arrival_blocked;   /* the callback waits for the inbox, holding Paho's lock */
    atomic_uint send_errors;
    atomic_uint refused_pubs; /* publications the broker refused (reason >= 0x80) */
    /* The outgoing queue and the publications in flight; all under out_lock. */
    pthread_mutex_t out_lock;
    sw_outmsg *out_head, **out_tail;
    sw_outmsg *inflight_list; /* handed to Paho, awaiting a completion */
    size_t out_queued;
    size_t out_bytes;
    int out_refused; /* sw_mqtt_publish() said no since the queue last had room */
    int inflight;
    int window; /* the broker's Receive Maximum */
    int draining;
    sw_mqtt_ids acked, failed;
};

/* Create the client and start connecting. Messages after `applied` (the
 * store's mark) still in the inbox come first from sw_mqtt_take(). Returns
 * 0 or SW_EMQTT.
 *
 * Connecting: a broker that cannot be reached is retried for as long as it
 * takes. A broker that answers but refuses the configuration on the first
 * connection (TLS handshake or certificate verification failed, bad user
 * name or password, not authorized) will not change its mind by itself:
 * that is logged as an error naming the problem and the keys to check, and
 * siteward stops (sw_mqtt_refused() then returns 1: exit status 78). Once
 * connected, later reconnects are retried whatever the broker answers. */
int sw_mqtt_start(sw_mqtt *mq, uv_loop_t *loop, const sw_config *cfg, sw_inbox *inbox,
                  uint64_t applied, sw_mqtt_handlers h);
/* Publish (QoS 1) from the loop thread. The message is copied; it is sent
 * now or queued until connected with room in the in-flight window. Returns
 * 0, SW_ENOMEM, or SW_EAGAIN when the queue holds `memory_queue_mb` already
 * (unless `force`): nothing was kept, and h.outbox runs once there is room
 * again. Once handed to Paho, a publication with an outbox id is reported
 * through sw_mqtt_take_acked() or sw_mqtt_take_failed(). */
int sw_mqtt_publish(void *mq, const sw_publication *p, int force);
/* Up to `max` outbox ids the broker acknowledged (or refused for good:
 * retrying would not change its answer), or that failed to reach it (the
 * connection dropped) and must be sent again. Returns how many. */
size_t sw_mqtt_take_acked(sw_mqtt *mq, uint64_t *ids, size_t max);
size_t sw_mqtt_take_failed(sw_mqtt *mq, uint64_t *ids, size_t max);
/* 1 when a retained publication without an outbox id (an incident state)
 * failed since the last call: the caller publishes the owed states again. */
int sw_mqtt_take_lost_states(sw_mqtt *mq);
/* Up to `max` received messages, oldest first (from the queue, or read back
 * from the inbox when the queue overflowed), into `out`; the caller owns
 * them. Returns how many. */
int sw_mqtt_take(sw_mqtt *mq, sw_inmsg **out, int max);
/* 1 when every publication handed to sw_mqtt_publish() so far has been
 * acknowledged by the broker. */
int sw_mqtt_idle(sw_mqtt *mq);
/* Publish the retained status ("online"/"offline"). */
int sw_mqtt_status(sw_mqtt *mq, const char *status);
/* Let the outgoing queue drain (up to 1.5 s), publish "offline",
 * disconnect, then call h.stopped on the loop thread (within 4 s whatever
 * the broker does). */
void sw_mqtt_stop(sw_mqtt *mq);
/* Close the uv handles and destroy the client; h.stopped must have run.
 * While the arrival callback waits for the inbox, the client is left alone
 * (destroying it would wait on that callback): the process is ending. */
void sw_mqtt_close(sw_mqtt *mq);
/* 1 when the stop came from the broker refusing the configuration at start. */
int sw_mqtt_refused(const sw_mqtt *mq);

#endif
