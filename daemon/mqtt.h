/*
 * The MQTT side: a Paho MQTTAsync client (MQTT 5, persistent session).
 *
 * Outgoing messages wait in our own queue and are handed to Paho only while
 * fewer than the broker's Receive Maximum are in flight. Paho 1.3.12 (Debian
 * 12) otherwise parks its send thread for up to a second whenever that
 * limit is reached (fixed upstream in 1.3.14), capping publishing at about
 * Receive Maximum messages per second. Each completion (on Paho's receive
 * thread) hands over the next message at once, so the window stays full
 * while the loop is busy with a batch. Whoever drains the queue does it
 * outside out_lock, and only one thread drains at a time (`draining`), so
 * order is kept and out_lock is never held while waiting on Paho's lock.
 *
 * Threading: Paho calls sw__arrived() and the connection callbacks on its
 * own thread. The arrival callback makes each message durable in the inbox
 * before returning (Paho sends the PUBACK after it returns, whatever it
 * returns), queues it, and wakes the loop with uv_async_send(). Everything
 * else, including publishing, runs on the loop thread.
 */
#ifndef SW_MQTT_H
#define SW_MQTT_H

#include <pthread.h>
#include <stdatomic.h>

#include <MQTTAsync.h>
#include <uv.h>

#include "config.h"
#include "inbox.h"

typedef struct sw_mqtt sw_mqtt;

/* Called on the loop thread. */
typedef struct sw_mqtt_handlers {
    void (*messages)(void *ctx, sw_inmsg *list); /* takes ownership of the list */
    void (*subscribed)(void *ctx);               /* after every (re)subscription */
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

struct sw_mqtt {
    MQTTAsync client;
    uv_async_t async;
    pthread_mutex_t lock;
    sw_inmsg *head, **tail; /* messages handed to the loop */
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
    atomic_uint send_errors;
    /* The outgoing queue; all of it under out_lock. */
    pthread_mutex_t out_lock;
    sw_outmsg *out_head, **out_tail;
    size_t out_queued;
    int inflight;
    int window; /* the broker's Receive Maximum */
    int draining;
};

/* Create the client and start connecting. Returns 0 or SW_EMQTT.
 *
 * Connecting: a broker that cannot be reached is retried for as long as it
 * takes. A broker that answers but refuses the configuration on the first
 * connection (TLS handshake or certificate verification failed, bad user
 * name or password, not authorized) will not change its mind by itself:
 * that is logged as an error naming the problem and the keys to check, and
 * siteward stops (sw_mqtt_refused() then returns 1: exit status 78). Once
 * connected, later reconnects are retried whatever the broker answers. */
int sw_mqtt_start(sw_mqtt *mq, uv_loop_t *loop, const sw_config *cfg, sw_inbox *inbox,
                  sw_mqtt_handlers h);
/* Publish (QoS 1) from the loop thread; `corr` may be NULL. The message is
 * copied; it is sent now or queued until the in-flight window has room. */
int sw_mqtt_publish(void *mq, const char *topic, const char *payload, size_t len, int retained,
                    const unsigned char *corr, size_t corr_len);
/* 1 when every publication handed to sw_mqtt_publish() so far has been
 * acknowledged by the broker. */
int sw_mqtt_idle(sw_mqtt *mq);
/* Publish the retained status ("online"/"offline"). */
int sw_mqtt_status(sw_mqtt *mq, const char *status);
/* Let the outgoing queue drain (up to 1.5 s), publish "offline",
 * disconnect, then call h.stopped on the loop thread (within 4 s whatever
 * the broker does). */
void sw_mqtt_stop(sw_mqtt *mq);
/* Close the uv handles and destroy the client; h.stopped must have run. */
void sw_mqtt_close(sw_mqtt *mq);
/* 1 when the stop came from the broker refusing the configuration at start. */
int sw_mqtt_refused(const sw_mqtt *mq);

#endif
