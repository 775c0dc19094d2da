#include "mqtt.h"

#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "shard.h"
#include "siteward/types.h"

enum {
    SW__EV_SUBSCRIBED = 1,
    SW__EV_LOST = 2,
    SW__EV_STOPPED = 4,
    SW__EV_FLUSH = 8,
    SW__EV_REFUSED = 16,
    SW__EV_RETRY = 32,
    SW__EV_OUTBOX = 64,
    SW__EV_MESSAGES = 128,
    SW__EV_LOST_STATE = 256, /* not an event: a retained state failed (sw_mqtt_take_lost_states) */
};

/* Between connection attempts while the broker is away. Paho's own
 * automatic reconnect looks at its retry clock only every 3 s (1.3.12,
 * MQTTAsync_checkTimeouts), so it came back 3 to 5 s after the broker did;
 * this timer makes the delay at most one interval plus the handshake. */
#define SW__RETRY_MS 250

/* MQTT 5 Maximum Packet Size in CONNECT: the broker drops, rather than
 * sends, a larger message for siteward, so no client can make Paho
 * allocate more than this for one packet (Paho 1.3.12 allocates whatever a
 * packet's remaining length says). Payloads over SW_PAYLOAD_MAX (64 KiB)
 * still arrive to be dead-lettered as too_large; the shipped broker configs
 * refuse packets over 1 MiB from any client (max_packet_size), so nothing
 * between the two limits is lost silently. */
#define SW__PACKET_MAX (2u << 20)

/* Until the broker says otherwise (MQTT 5 Receive Maximum). */
#define SW__WINDOW_DEFAULT 19

struct sw_outmsg {
    sw_outmsg *next, *prev; /* the queue, or the in-flight list */
    sw_mqtt *mq;
    uint64_t id; /* outbox id, 0 for none */
    size_t bytes;
    char *topic;
    char *payload;
    size_t len;
    int retained;
    unsigned char *corr;
    size_t corr_len;
};

static int64_t sw__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sw__raise(sw_mqtt *mq, int ev)
{
    atomic_fetch_or(&mq->flags, ev);
    uv_async_send(&mq->async);
}

/* Paho thread: wait `ms` milliseconds. */
static void sw__pause(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts))
        ;
}

/* Paho thread. Durable first, then handed over: the PUBACK follows our
 * return, so we return only once the message is in the inbox (mqtt.h). */
static int sw__arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
    sw_mqtt *mq = ctx;
    size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
    if (!sw_shard_takes(mq->cfg, topic, tlen)) {
        /* Another instance's: acknowledged and forgotten here, its owner
         * has its own subscription. Seen with a hash shard over any site,
         * or a subscription left in the session by an earlier config. */
        if (atomic_fetch_add(&mq->not_owned, 1) % 1000 == 0)
            sw_log(SW_LOG_INFO,
                   "mqtt: %.*s: not a site of this instance; left to its owner (logged once "
                   "per 1000)",
                   (int)(tlen < 200 ? tlen : 200), topic);
        MQTTAsync_freeMessage(&msg);
        MQTTAsync_free(topic);
        return 1;
    }
    MQTTProperty *rt =
        MQTTProperties_getProperty(&msg->properties, MQTTPROPERTY_CODE_RESPONSE_TOPIC);
    MQTTProperty *cd =
        MQTTProperties_getProperty(&msg->properties, MQTTPROPERTY_CODE_CORRELATION_DATA);
    int64_t received = sw__now_ms();
    sw_inmsg *m = NULL;
    for (int wait = 10;; wait = wait < 500 ? wait * 2 : 1000) {
        int rc = SW_ENOMEM;
        if (!m)
            m = sw_inmsg_new(topic, tlen, msg->payload, (size_t)msg->payloadlen,
                             rt ? rt->value.data.data : NULL, rt ? (size_t)rt->value.data.len : 0,
                             cd ? cd->value.data.data : NULL, cd ? (size_t)cd->value.data.len : 0,
                             received);
        if (m && !(rc = sw_inbox_append(mq->inbox, m)))
            break;
        /* Not stored: not acknowledged either. Wait and try again. */
        atomic_store(&mq->arrival_blocked, 1);
        atomic_store(&mq->inbox_fault, 1);
        /* The first failure, then every 100th (a minute and a half). */
        if (atomic_fetch_add(&mq->store_errors, 1) % 100 == 0)
            sw_log(SW_LOG_ERR,
                   "inbox: cannot store a message (%s); holding it unacknowledged and taking "
                   "nothing more from the broker until it is stored",
                   sw_strerror(rc));
        sw__pause(wait);
    }
    if (atomic_exchange(&mq->arrival_blocked, 0))
        sw_log(SW_LOG_NOTICE, "inbox: storing messages again");
    atomic_store(&mq->inbox_fault, 0);
    size_t bytes = sizeof *m + m->topic_len + m->payload_len + m->resp_topic_len + m->corr_len;
    pthread_mutex_lock(&mq->lock);
    if (mq->in_spilled || (mq->in_bytes && mq->in_bytes + bytes > mq->queue_limit)) {
        /* Read back from the inbox once the loop has caught up. */
        mq->in_spilled = 1;
        free(m);
    } else {
        *mq->tail = m;
        mq->tail = &m->next;
        mq->in_bytes += bytes;
    }
    pthread_mutex_unlock(&mq->lock);
    sw__raise(mq, SW__EV_MESSAGES);
    MQTTAsync_freeMessage(&msg);
    MQTTAsync_free(topic);
    return 1;
}

static void sw__take_one(void *arg, sw_inmsg *m)
{
    sw_inmsg ***tail = arg;
    m->next = NULL;
    **tail = m;
    *tail = &m->next;
}

int sw_mqtt_take(sw_mqtt *mq, sw_inmsg **out, int max)
{
    int n = 0;
    pthread_mutex_lock(&mq->lock);
    while (n < max && mq->head) {
        sw_inmsg *m = mq->head;
        mq->head = m->next;
        mq->in_bytes -= sizeof *m + m->topic_len + m->payload_len + m->resp_topic_len + m->corr_len;
        mq->in_taken = m->seq;
        out[n++] = m;
    }
    if (!mq->head)
        mq->tail = &mq->head;
    int spilled = mq->in_spilled && !mq->head;
    pthread_mutex_unlock(&mq->lock);
    if (n == max || !spilled)
        return n;
    /* The queue is empty and the inbox holds more: read them back, in
     * order. Only this thread advances in_taken. */
    sw_inmsg *list = NULL, **tail = &list;
    uint64_t last = mq->in_taken;
    if (sw_inbox_read(mq->inbox, mq->in_taken, max - n, sw__take_one, &tail, &last) < 0)
        return n;
    for (sw_inmsg *m = list; m; m = m->next)
        out[n++] = m;
    pthread_mutex_lock(&mq->lock);
    mq->in_taken = last;
    /* Caught up: the callback queues again. It appends before it takes
     * this lock, so a message numbered after `last` is either seen here or
     * queued after this. */
    if (mq->in_taken >= sw_inbox_last(mq->inbox))
        mq->in_spilled = 0;
    pthread_mutex_unlock(&mq->lock);
    return n;
}

static void sw__on_subscribe(void *ctx, MQTTAsync_successData5 *resp)
{
    struct sw_mqtt_subbatch *b = ctx;
    sw_mqtt *mq = b->mq;
    for (int i = 0; i < resp->alt.sub.reasonCodeCount && i < b->n; i++)
        if (resp->alt.sub.reasonCodes[i] >= 0x80)
            sw_log(SW_LOG_ERR, "mqtt: subscription to %s refused by the broker (reason %d)",
                   mq->subs[b->first + i], resp->alt.sub.reasonCodes[i]);
    if (resp->alt.sub.reasonCodeCount == 0 && resp->reasonCode >= 0x80)
        sw_log(SW_LOG_ERR, "mqtt: subscription refused (reason %d)", resp->reasonCode);
    /* Online once the last SUBSCRIBE of this round is acknowledged. */
    if (atomic_fetch_sub(&mq->sub_pending, 1) == 1)
        sw__raise(mq, SW__EV_SUBSCRIBED);
}

static void sw__on_subscribe_failure(void *ctx, MQTTAsync_failureData5 *resp)
{
    sw_mqtt *mq = ((struct sw_mqtt_subbatch *)ctx)->mq;
    sw_log(SW_LOG_ERR, "mqtt: subscribe failed: %s", resp->message ? resp->message : "no reason");
    sw__raise(mq, SW__EV_LOST);
}

/* Paho 1.3.12 leaves Nagle's algorithm on, so a lone publication waits for
 * the broker's delayed ACK (about 40 ms) before it leaves; it offers no
 * socket option either. The process's only TCP sockets are Paho's: set
 * TCP_NODELAY on each of them. */
static void sw__nodelay(void)
{
    for (int fd = 0; fd < 1024; fd++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int type, one = 1;
        socklen_t tlen = sizeof type;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) || type != SOCK_STREAM ||
            getsockname(fd, (struct sockaddr *)&sa, &len) ||
            (sa.ss_family != AF_INET && sa.ss_family != AF_INET6))
            continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

/* Paho thread: on every connection, including automatic reconnects. */
static void sw__connected(void *ctx, char *cause)
{
    /* Under TLS too: Paho's socket is a plain TCP socket beneath OpenSSL. */
    sw__nodelay();
    sw_mqtt *mq = ctx;
    int qos[SW_MQTT_SUB_BATCH];
    int rc;

    unsigned attempts = atomic_exchange(&mq->connect_attempts, 0);
    atomic_store(&mq->connected, 1);
    sw_log(SW_LOG_INFO, "mqtt: connected to %s%s%s", mq->cfg->broker, cause ? ": " : "",
           cause ? cause : "");
    atomic_store(&mq->connected_once, 1);
    if (attempts > 1)
        sw_log(SW_LOG_NOTICE, "mqtt: connected again after %u attempts", attempts);
    /* Before subscribing: the broker answers "no subscription existed"
     * when there was none, which is fine. */
    if (mq->nstale && (rc = MQTTAsync_unsubscribeMany(mq->client, mq->nstale, mq->stale, NULL)) !=
                          MQTTASYNC_SUCCESS)
        sw_log(SW_LOG_WARNING, "mqtt: unsubscribe from %s: %s", mq->stale[0],
               MQTTAsync_strerror(rc));
    if (!mq->nbatches) {
        sw__raise(mq, SW__EV_SUBSCRIBED);
        return;
    }
    for (int i = 0; i < SW_MQTT_SUB_BATCH; i++)
        qos[i] = 1;
    atomic_store(&mq->sub_pending, mq->nbatches);
    for (int i = 0; i < mq->nbatches; i++) {
        struct sw_mqtt_subbatch *b = &mq->batches[i];
        MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
        opts.onSuccess5 = sw__on_subscribe;
        opts.onFailure5 = sw__on_subscribe_failure;
        opts.context = b;
        if ((rc = MQTTAsync_subscribeMany(mq->client, b->n, mq->subs + b->first, qos, &opts)) !=
            MQTTASYNC_SUCCESS)
            sw_log(SW_LOG_ERR, "mqtt: subscribe to %s and %d more: %s", mq->subs[b->first],
                   b->n - 1, MQTTAsync_strerror(rc));
    }
}

static void sw__lost(void *ctx, char *cause)
{
    sw_mqtt *mq = ctx;
    atomic_store(&mq->connected, 0);
    if (!atomic_load(&mq->stopping))
        sw_log(SW_LOG_WARNING, "mqtt: connection lost%s%s; reconnecting", cause ? ": " : "",
               cause ? cause : "");
    sw__raise(mq, SW__EV_LOST);
}

static void sw__connect_ok(void *ctx, MQTTAsync_successData5 *resp)
{
    sw_mqtt *mq = ctx;
    int window = 65535; /* absent means the protocol's maximum */
    if (MQTTProperties_hasProperty(&resp->properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM))
        window =
            MQTTProperties_getNumericValue(&resp->properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM);
    /* One slot short of the limit: our completion callback runs before Paho
     * forgets the acknowledged message, and a message handed over while
     * Paho counts itself full waits out the one-second stall again. */
    pthread_mutex_lock(&mq->out_lock);
    mq->window = window > 1 ? window - 1 : 1;
    pthread_mutex_unlock(&mq->out_lock);
    pthread_mutex_lock(&mq->lock);
    mq->tls_error[0] = 0;
    pthread_mutex_unlock(&mq->lock);
}

/* Paho thread, for each line of OpenSSL's error queue during a handshake
 * ("THREAD:error:0A000086:SSL routines:FUNCTION:certificate verify
 * failed:FILE:LINE:"): keep the reason. */
static int sw__tls_error(const char *str, size_t len, void *ctx)
{
    sw_mqtt *mq = ctx;
    const char *p = str, *end = str + len, *q = NULL;
    size_t at = 0;
    while (at + 6 <= len && memcmp(str + at, "error:", 6))
        at++;
    if (at + 6 <= len) {
        p = str + at + 6;
        for (int i = 0; i < 3 && p < end && (q = memchr(p, ':', (size_t)(end - p))); i++)
            p = q + 1;
        q = p < end ? memchr(p, ':', (size_t)(end - p)) : NULL;
    }
    if (!q) { /* not the usual shape: all of it */
        p = str;
        q = end;
    }
    while (q > p && (q[-1] == '\n' || q[-1] == '\r'))
        q--;
    pthread_mutex_lock(&mq->lock);
    snprintf(mq->tls_error, sizeof mq->tls_error, "%.*s", (int)(q - p), p);
    pthread_mutex_unlock(&mq->lock);
    return 1;
}

/* What an operator must fix, for the reasons a broker gives that retrying
 * will not change; NULL for the others (server busy, unavailable...). */
static const char *sw__login_refusal(int code)
{
    switch (code) {
    case 0x85:
        return "client identifier not valid (instance)";
    case 0x86:
        return "bad user name or password (username, password_file)";
    case 0x87: /* mosquitto's answer to a wrong password */
        return "not authorized: bad user name or password, or a user the broker does not let "
               "connect (username, password_file)";
    case 0x8A:
        return "banned (username)";
    case 0x8C:
        return "bad authentication method (username, password_file)";
    default:
        return NULL;
    }
}

/* Paho thread, first connection only: 1 when the failure is the broker
 * refusing this configuration (a login refused, or a TLS handshake that
 * OpenSSL failed with a reason); it is logged and the daemon stops. A
 * broker that hung up mid-handshake tells the client nothing: that is
 * retried like an unreachable one. */
static int sw__refused(sw_mqtt *mq, const MQTTAsync_failureData5 *resp)
{
    const sw_config *cfg = mq->cfg;
    const char *why = resp ? sw__login_refusal(resp->code) : NULL;
    char tls[sizeof mq->tls_error];

    if (atomic_load(&mq->connected_once))
        return 0;
    pthread_mutex_lock(&mq->lock);
    snprintf(tls, sizeof tls, "%s", mq->tls_error);
    pthread_mutex_unlock(&mq->lock);
    if (why) {
        sw_log(SW_LOG_ERR,
               "mqtt: %s refused the login%s%s%s: reason 0x%02x, %s; configuration error in %s",
               cfg->broker, cfg->username[0] ? " of user '" : " without a user name", cfg->username,
               cfg->username[0] ? "'" : "", resp->code, why, cfg->path);
    } else if (tls[0]) {
        const char *fix = "tls.ca_file, tls.cert_file, tls.key_file";
        if (strstr(tls, "certificate verify failed"))
            fix = "tls.ca_file must hold the CA that signed the broker's certificate";
        else if (strstr(tls, "alert"))
            fix = "the broker refused the client certificate: tls.cert_file, tls.key_file";
        else if (strstr(tls, "wrong version number") || strstr(tls, "packet length"))
            fix = "the broker's port does not speak TLS: the broker URL";
        sw_log(SW_LOG_ERR, "mqtt: TLS handshake with %s failed: %s; %s; configuration error in %s",
               cfg->broker, tls, fix, cfg->path);
    } else {
        return 0;
    }
    atomic_store(&mq->refused, 1);
    sw__raise(mq, SW__EV_REFUSED);
    return 1;
}

static void sw__connect_failed(void *ctx, MQTTAsync_failureData5 *resp)
{
    sw_mqtt *mq = ctx;
    if (sw__refused(mq, resp))
        return;
    /* Paho reports on the first connect only; sw__retry goes on until one
     * succeeds. */
    sw_log(SW_LOG_WARNING, "mqtt: cannot connect to %s: %s%s; retrying every %d ms",
           mq->cfg->broker,
           resp && resp->message ? resp->message : MQTTAsync_strerror(resp ? resp->code : 0),
           mq->cfg->tls.enabled ? " (the broker is unreachable, or it hung up during the TLS "
                                  "handshake: a port without TLS, a client certificate it "
                                  "wants, or a certificate not naming this host; its log says)"
                                : "",
           SW__RETRY_MS);
    sw__raise(mq, SW__EV_RETRY);
}

static int sw__connect(sw_mqtt *mq)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    MQTTProperties props = MQTTProperties_initializer;
    MQTTProperty p;
    int rc;

    /* A persistent session: the broker keeps QoS 1 messages for siteward
     * while it is down (up to a week). */
    p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
    p.value.integer4 = 7 * 24 * 3600;
    MQTTProperties_add(&props, &p);
    p.identifier = MQTTPROPERTY_CODE_MAXIMUM_PACKET_SIZE;
    p.value.integer4 = SW__PACKET_MAX;
    MQTTProperties_add(&props, &p);
    co.cleanstart = 0;
    if (mq->cfg->username[0]) {
        co.username = mq->cfg->username;
        co.password = mq->cfg->password;
    }
    co.keepAliveInterval = 20;
    /* Reconnecting is ours (sw__retry), not Paho's. */
    co.automaticReconnect = 0;
    co.connectProperties = &props;
    co.onSuccess5 = sw__connect_ok;
    co.onFailure5 = sw__connect_failed;
    co.context = mq;
    will.topicName = mq->status_topic;
    will.message = "offline";
    will.retained = 1;
    will.qos = 1;
    co.will = &will;
    if (mq->cfg->tls.enabled) {
        const sw_tls_conf *t = &mq->cfg->tls;
        /* Paho copies these. With a CA file only that CA is trusted;
         * without one, the system's store. */
        ssl.trustStore = t->ca_file[0] ? t->ca_file : NULL;
        ssl.keyStore = t->cert_file[0] ? t->cert_file : NULL;
        ssl.privateKey = t->key_file[0] ? t->key_file : NULL;
        ssl.enableServerCertAuth = t->verify; /* the chain */
        ssl.verify = t->verify;               /* the host name in the broker URL */
        ssl.ssl_error_cb = sw__tls_error;
        ssl.ssl_error_context = mq;
        co.ssl = &ssl;
    }
    atomic_store(&mq->connect_attempts, 1);
    rc = MQTTAsync_connect(mq->client, &co);
    MQTTProperties_free(&props);
    if (rc != MQTTASYNC_SUCCESS) {
        sw_log(SW_LOG_ERR, "mqtt: connect: %s", MQTTAsync_strerror(rc));
        return SW_EMQTT;
    }
    return 0;
}

static void sw__flush(sw_mqtt *mq);

/* Loop thread, every SW__RETRY_MS while disconnected. MQTTAsync_reconnect()
 * queues the connect of sw__connect() again, options and all; Paho drops it
 * while an attempt is still under way, so there is never more than one.
 * (Calling MQTTAsync_connect() again instead re-creates the options while
 * Paho's threads may still be using them.) Paho reports no result for
 * these attempts: success shows in sw__connected(). */
static void sw__retry(uv_timer_t *t)
{
    sw_mqtt *mq = t->data;
    if (atomic_load(&mq->arrival_blocked))
        return; /* Paho's lock is held (mqtt.h) */
    if (atomic_load(&mq->stopping) || MQTTAsync_isConnected(mq->client)) {
        uv_timer_stop(t);
        return;
    }
    unsigned n = atomic_fetch_add(&mq->connect_attempts, 1) + 1;
    sw_log(SW_LOG_DEBUG, "mqtt: connection attempt %u", n);
    if (n % (10000 / SW__RETRY_MS) == 0)
        sw_log(SW_LOG_WARNING, "mqtt: still not connected to %s after %u attempts; retrying",
               mq->cfg->broker, n);
    int rc = MQTTAsync_reconnect(mq->client);
    if (rc != MQTTASYNC_SUCCESS)
        sw_log(SW_LOG_ERR, "mqtt: reconnect: %s", MQTTAsync_strerror(rc));
}

/* Loop thread: take every queued message (uv_async_send coalesces). */
static void sw__wakeup(uv_async_t *a)
{
    sw_mqtt *mq = a->data;
    int ev = atomic_exchange(&mq->flags, 0);

    /* Acknowledgements first: the batch the messages make deletes them. */
    if (ev & SW__EV_OUTBOX)
        mq->h.outbox(mq->h.ctx);
    if (ev & SW__EV_MESSAGES)
        mq->h.messages(mq->h.ctx);
    if (ev & SW__EV_FLUSH)
        sw__flush(mq);
    if ((ev & SW__EV_REFUSED) && !atomic_load(&mq->stopping)) {
        sw_log(SW_LOG_ERR, "stopping: the broker refused this configuration");
        sw_mqtt_stop(mq);
    }
    if ((ev & SW__EV_LOST) && mq->h.lost)
        mq->h.lost(mq->h.ctx);
    if ((ev & (SW__EV_LOST | SW__EV_RETRY)) && !atomic_load(&mq->stopping) &&
        !uv_is_active((uv_handle_t *)&mq->retry_timer))
        uv_timer_start(&mq->retry_timer, sw__retry, SW__RETRY_MS, SW__RETRY_MS);
    if ((ev & SW__EV_SUBSCRIBED) && !atomic_load(&mq->stopping)) {
        sw__flush(mq);
        sw_mqtt_status(mq, "online");
        mq->h.subscribed(mq->h.ctx);
    }
    if ((ev & SW__EV_STOPPED) && !mq->stopped) {
        mq->stopped = 1;
        uv_timer_stop(&mq->stop_timer);
        mq->h.stopped(mq->h.ctx);
    }
}

int sw_mqtt_start(sw_mqtt *mq, uv_loop_t *loop, const sw_config *cfg, sw_inbox *inbox,
                  uint64_t applied, sw_mqtt_handlers h)
{
    MQTTAsync_createOptions opts = MQTTAsync_createOptions_initializer;
    char client_id[128];
    int rc;

    memset(mq, 0, sizeof *mq);
    mq->cfg = cfg;
    mq->inbox = inbox;
    mq->h = h;
    mq->tail = &mq->head;
    /* What the inbox holds past the store's mark is taken first. */
    mq->in_spilled = 1;
    mq->in_taken = applied;
    mq->queue_limit = cfg->queue_limit ? cfg->queue_limit : (size_t)16 << 20;
    mq->out_tail = &mq->out_head;
    mq->window = SW__WINDOW_DEFAULT;
    pthread_mutex_init(&mq->out_lock, NULL);
    pthread_mutex_init(&mq->lock, NULL);
    snprintf(mq->status_topic, sizeof mq->status_topic, "%s/_daemon/%s/status", cfg->prefix,
             cfg->instance);
    if (sw_shard_filters(cfg, &mq->subs, &mq->nsubs) ||
        sw_shard_stale(cfg, &mq->stale, &mq->nstale) ||
        sw_foreign_subscriptions(cfg, &mq->subs, &mq->nsubs)) /* foreign.h */
        return SW_ENOMEM;
    mq->nbatches = (mq->nsubs + SW_MQTT_SUB_BATCH - 1) / SW_MQTT_SUB_BATCH;
    if (mq->nbatches && !(mq->batches = calloc((size_t)mq->nbatches, sizeof *mq->batches)))
        return SW_ENOMEM;
    for (int i = 0; i < mq->nbatches; i++) {
        mq->batches[i].mq = mq;
        mq->batches[i].first = i * SW_MQTT_SUB_BATCH;
        mq->batches[i].n = mq->nsubs - mq->batches[i].first < SW_MQTT_SUB_BATCH
                               ? mq->nsubs - mq->batches[i].first
                               : SW_MQTT_SUB_BATCH;
    }
    if (!mq->nsubs)
        sw_log(SW_LOG_WARNING, "shard: instance %s owns none of the configured sites",
               cfg->instance);
    else if (cfg->shard.mode != SW_SHARD_NONE)
        sw_log(SW_LOG_INFO, "shard: %d topic filters, %s%s", mq->nsubs, mq->subs[0],
               mq->nsubs > 1 ? " ..." : "");
    uv_async_init(loop, &mq->async, sw__wakeup);
    mq->async.data = mq;
    uv_timer_init(loop, &mq->stop_timer);
    mq->stop_timer.data = mq;
    uv_timer_init(loop, &mq->retry_timer);
    mq->retry_timer.data = mq;

    opts.MQTTVersion = MQTTVERSION_5;
    opts.sendWhileDisconnected = 1;
    opts.allowDisconnectedSendAtAnyTime = 1;
    opts.maxBufferedMessages = 1000000;
    opts.deleteOldestMessages = 0;
    snprintf(client_id, sizeof client_id, "siteward-%s", cfg->instance);
    if ((rc = MQTTAsync_createWithOptions(&mq->client, cfg->broker, client_id,
                                          MQTTCLIENT_PERSISTENCE_NONE, NULL, &opts)) !=
        MQTTASYNC_SUCCESS) {
        sw_log(SW_LOG_ERR, "mqtt: broker %s: %s", cfg->broker, MQTTAsync_strerror(rc));
        return SW_EMQTT;
    }
    MQTTAsync_setCallbacks(mq->client, mq, sw__lost, sw__arrived, NULL);
    MQTTAsync_setConnected(mq->client, mq, sw__connected);
    return sw__connect(mq);
}

static int sw__ids_add(sw_mqtt_ids *ids, uint64_t id)
{
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        uint64_t *v = realloc(ids->v, cap * sizeof *v);
        if (!v)
            return SW_ENOMEM;
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return 0;
}

static size_t sw__ids_take(sw_mqtt *mq, sw_mqtt_ids *ids, uint64_t *out, size_t max)
{
    pthread_mutex_lock(&mq->out_lock);
    size_t n = ids->n < max ? ids->n : max;
    if (n) { /* ids->v is NULL until the first id */
        memcpy(out, ids->v, n * sizeof *out);
        memmove(ids->v, ids->v + n, (ids->n - n) * sizeof *out);
        ids->n -= n;
    }
    pthread_mutex_unlock(&mq->out_lock);
    return n;
}

size_t sw_mqtt_take_acked(sw_mqtt *mq, uint64_t *ids, size_t max)
{
    return sw__ids_take(mq, &mq->acked, ids, max);
}

size_t sw_mqtt_take_failed(sw_mqtt *mq, uint64_t *ids, size_t max)
{
    return sw__ids_take(mq, &mq->failed, ids, max);
}

int sw_mqtt_take_lost_states(sw_mqtt *mq)
{
    return (atomic_fetch_and(&mq->flags, ~SW__EV_LOST_STATE) & SW__EV_LOST_STATE) != 0;
}

static void sw__inflight_unlink(sw_mqtt *mq, sw_outmsg *o)
{
    if (o->prev)
        o->prev->next = o->next;
    else
        mq->inflight_list = o->next;
    if (o->next)
        o->next->prev = o->prev;
    if (mq->inflight > 0)
        mq->inflight--;
}

/* Paho's receive thread, on each PUBACK: the next message goes at once. */
static void sw__sent(void *ctx, MQTTAsync_successData5 *resp)
{
    sw_outmsg *o = ctx;
    sw_mqtt *mq = o->mq;
    (void)resp;
    pthread_mutex_lock(&mq->out_lock);
    sw__inflight_unlink(mq, o);
    int tell = o->id && !sw__ids_add(&mq->acked, o->id);
    pthread_mutex_unlock(&mq->out_lock);
    free(o);
    if (tell)
        sw__raise(mq, SW__EV_OUTBOX);
    sw__flush(mq);
}

/* Failures come while Paho tears a connection down, walking and freeing its
 * own lists: sending from here could reenter them. The slot is freed now
 * and the loop hands over the next message. A PUBACK with a failure reason
 * is the broker's final word (not authorized, topic invalid, too large):
 * sending it again would get the same answer, so it counts as done. */
static void sw__send_failed(void *ctx, MQTTAsync_failureData5 *resp)
{
    sw_outmsg *o = ctx;
    sw_mqtt *mq = o->mq;
    int refused = resp && resp->packet_type == 4 /* PUBACK */ && resp->reasonCode >= 0x80;
    if (refused) {
        if (atomic_fetch_add(&mq->refused_pubs, 1) % 1000 == 0)
            sw_log(SW_LOG_ERR,
                   "mqtt: the broker refused a publication to %s (reason %d); it is dropped "
                   "(logged once per 1000)",
                   o->topic, resp->reasonCode);
    } else if (!atomic_load(&mq->stopping) && atomic_fetch_add(&mq->send_errors, 1) % 1000 == 0) {
        /* The first failure and every 1000th; none for those a stop discards. */
        sw_log(SW_LOG_WARNING, "mqtt: a publication failed: %s%s",
               resp && resp->message ? resp->message : MQTTAsync_strerror(resp ? resp->code : 0),
               o->id ? "; it is sent again" : "");
    }
    pthread_mutex_lock(&mq->out_lock);
    sw__inflight_unlink(mq, o);
    if (o->id)
        sw__ids_add(refused ? &mq->acked : &mq->failed, o->id);
    pthread_mutex_unlock(&mq->out_lock);
    if (!o->id && o->retained && !refused && strcmp(o->topic, mq->status_topic))
        atomic_fetch_or(&mq->flags, SW__EV_LOST_STATE);
    free(o);
    sw__raise(mq, SW__EV_FLUSH | SW__EV_OUTBOX);
}

static int sw__send(sw_mqtt *mq, sw_outmsg *o)
{
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
    MQTTProperty p;
    int rc;

    msg.payload = o->payload;
    msg.payloadlen = (int)o->len;
    msg.qos = 1;
    msg.retained = o->retained;
    if (o->corr_len) {
        p.identifier = MQTTPROPERTY_CODE_CORRELATION_DATA;
        p.value.data.data = (char *)o->corr;
        p.value.data.len = (int)o->corr_len;
        MQTTProperties_add(&msg.properties, &p);
    }
    opts.onSuccess5 = sw__sent;
    opts.onFailure5 = sw__send_failed;
    opts.context = o;
    rc = MQTTAsync_sendMessage(mq->client, o->topic, &msg, &opts);
    MQTTProperties_free(&msg.properties);
    return rc;
}

/* Hand queued messages to Paho while the window has room. Any thread. */
static void sw__flush(sw_mqtt *mq)
{
    int room = 0;
    pthread_mutex_lock(&mq->out_lock);
    if (mq->draining) { /* the thread draining will see our change */
        pthread_mutex_unlock(&mq->out_lock);
        return;
    }
    mq->draining = 1;
    /* Nothing goes to Paho while disconnected (it would buffer it): Paho
     * 1.3.12 can free the topic of a publication as the connection drops
     * while its receive thread still reads it to resend after the reconnect
     * (a use-after-free the broker-restart fault test found under ASan).
     * This keeps all but what is already in flight out of its way; the
     * queue is flushed again once subscribed. Nor while the arrival
     * callback holds Paho's lock waiting for the inbox (mqtt.h). */
    while (mq->out_head && mq->inflight < mq->window && atomic_load(&mq->connected) &&
           !atomic_load(&mq->arrival_blocked)) {
        sw_outmsg *o = mq->out_head;
        mq->out_head = o->next;
        if (!mq->out_head)
            mq->out_tail = &mq->out_head;
        mq->out_queued--;
        mq->out_bytes -= o->bytes;
        /* In flight before Paho has it: its completion may come at once. */
        o->prev = NULL;
        o->next = mq->inflight_list;
        if (o->next)
            o->next->prev = o;
        mq->inflight_list = o;
        mq->inflight++;
        pthread_mutex_unlock(&mq->out_lock);
        int rc = sw__send(mq, o);
        pthread_mutex_lock(&mq->out_lock);
        if (rc == MQTTASYNC_SUCCESS)
            continue;
        sw__inflight_unlink(mq, o);
        if (rc == MQTTASYNC_MAX_BUFFERED_MESSAGES || rc == MQTTASYNC_DISCONNECTED) {
            /* Put it back; the next completion or connection retries. */
            o->next = mq->out_head;
            mq->out_head = o;
            if (!o->next)
                mq->out_tail = &o->next;
            mq->out_queued++;
            mq->out_bytes += o->bytes;
            break;
        }
        sw_log(SW_LOG_WARNING, "mqtt: publish to %s dropped: %s", o->topic, MQTTAsync_strerror(rc));
        if (o->id && !sw__ids_add(&mq->acked, o->id))
            room = 1; /* Paho will never take it: give its outbox entry up */
        free(o);
    }
    if (mq->out_refused && mq->out_bytes <= mq->queue_limit / 2) {
        mq->out_refused = 0;
        room = 1;
    }
    mq->draining = 0;
    pthread_mutex_unlock(&mq->out_lock);
    if (room)
        sw__raise(mq, SW__EV_OUTBOX);
}

static sw_outmsg *sw__outmsg_new(sw_mqtt *mq, const sw_publication *p)
{
    size_t tlen = strlen(p->topic);
    size_t bytes = sizeof(sw_outmsg) + tlen + 1 + p->len + 1 + p->corr_len;
    sw_outmsg *o = malloc(bytes);
    if (!o)
        return NULL;
    o->next = o->prev = NULL;
    o->mq = mq;
    o->id = p->outbox_id;
    o->bytes = bytes;
    o->topic = (char *)(o + 1);
    memcpy(o->topic, p->topic, tlen + 1);
    o->payload = o->topic + tlen + 1;
    if (p->len)
        memcpy(o->payload, p->payload, p->len);
    o->payload[p->len] = 0;
    o->len = p->len;
    o->retained = p->retained;
    o->corr = p->corr_len ? (unsigned char *)o->payload + p->len + 1 : NULL;
    if (p->corr_len)
        memcpy(o->corr, p->corr, p->corr_len);
    o->corr_len = p->corr_len;
    return o;
}

int sw_mqtt_publish(void *ctx, const sw_publication *p, int force)
{
    sw_mqtt *mq = ctx;
    sw_outmsg *o = sw__outmsg_new(mq, p);

    if (!o)
        return SW_ENOMEM;
    pthread_mutex_lock(&mq->out_lock);
    if (!force && mq->out_bytes && mq->out_bytes + o->bytes > mq->queue_limit) {
        mq->out_refused = 1;
        pthread_mutex_unlock(&mq->out_lock);
        free(o);
        return SW_EAGAIN;
    }
    *mq->out_tail = o;
    mq->out_tail = &o->next;
    mq->out_queued++;
    mq->out_bytes += o->bytes;
    pthread_mutex_unlock(&mq->out_lock);
    sw__flush(mq);
    return 0;
}

/* Queue `payload` (retained) ahead of everything waiting, then send. */
static void sw__publish_front(sw_mqtt *mq, const char *topic, const char *payload)
{
    sw_publication p = {.topic = topic, .payload = payload, .len = strlen(payload), .retained = 1};
    sw_outmsg *o = sw__outmsg_new(mq, &p);
    if (!o)
        return;
    pthread_mutex_lock(&mq->out_lock);
    o->next = mq->out_head;
    mq->out_head = o;
    if (!o->next)
        mq->out_tail = &o->next;
    mq->out_queued++;
    mq->out_bytes += o->bytes;
    /* Room for it even if the window is full. */
    mq->window++;
    pthread_mutex_unlock(&mq->out_lock);
    sw__flush(mq);
}

int sw_mqtt_idle(sw_mqtt *mq)
{
    pthread_mutex_lock(&mq->out_lock);
    int idle = !mq->out_head && !mq->inflight && !mq->draining;
    pthread_mutex_unlock(&mq->out_lock);
    return idle && !atomic_load(&mq->arrival_blocked) && atomic_load(&mq->connected);
}

int sw_mqtt_status(sw_mqtt *mq, const char *status)
{
    sw_publication p = {
        .topic = mq->status_topic, .payload = status, .len = strlen(status), .retained = 1};
    return sw_mqtt_publish(mq, &p, 1);
}

static void sw__disconnected(void *ctx, MQTTAsync_successData5 *resp)
{
    (void)resp;
    sw__raise(ctx, SW__EV_STOPPED);
}

static void sw__disconnect_failed(void *ctx, MQTTAsync_failureData5 *resp)
{
    (void)resp;
    sw__raise(ctx, SW__EV_STOPPED);
}

/* Stopping: give the outgoing queue a moment to drain, then say "offline"
 * and disconnect; a hard deadline ends it whatever Paho does, so a stop
 * never hangs on a broker that went away or a backlog that cannot drain.
 * What was still queued then is not lost for good: it is state already in
 * the store. */
#define SW__STOP_DRAIN_MS 1500
#define SW__STOP_HARD_MS  4000

static void sw__stop_step(uv_timer_t *t)
{
    sw_mqtt *mq = t->data;
    MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer5;
    uint64_t elapsed = uv_now(t->loop) - mq->stop_started;

    if (atomic_load(&mq->arrival_blocked)) {
        /* Paho's lock is held by the callback waiting for the inbox: no
         * goodbye to the broker (it publishes the will), and the message
         * held stays unacknowledged. */
        sw_log(SW_LOG_WARNING, "mqtt: stopping while a message waits for the inbox; it stays "
                               "unacknowledged and the broker delivers it again");
        mq->stop_phase = 2;
        sw__raise(mq, SW__EV_STOPPED);
        return;
    }
    if (mq->stop_phase == 0) {
        pthread_mutex_lock(&mq->out_lock);
        size_t left = mq->out_queued;
        pthread_mutex_unlock(&mq->out_lock);
        if (left && elapsed < SW__STOP_DRAIN_MS && MQTTAsync_isConnected(mq->client))
            return; /* the timer repeats */
        mq->stop_phase = 1;
        if (left)
            sw_log(SW_LOG_WARNING, "mqtt: stopping with %zu publications not sent", left);
        if (!MQTTAsync_isConnected(mq->client)) {
            sw__raise(mq, SW__EV_STOPPED);
            return;
        }
        sw__publish_front(mq, mq->status_topic, "offline");
        opts.timeout = 1000;
        opts.onSuccess5 = sw__disconnected;
        opts.onFailure5 = sw__disconnect_failed;
        opts.context = mq;
        if (MQTTAsync_disconnect(mq->client, &opts) != MQTTASYNC_SUCCESS)
            sw__raise(mq, SW__EV_STOPPED);
        return;
    }
    if (elapsed >= SW__STOP_HARD_MS && mq->stop_phase == 1) {
        mq->stop_phase = 2;
        sw_log(SW_LOG_WARNING, "mqtt: the broker did not confirm the disconnect; stopping");
        sw__raise(mq, SW__EV_STOPPED);
    }
}

void sw_mqtt_stop(sw_mqtt *mq)
{
    atomic_store(&mq->stopping, 1);
    uv_timer_stop(&mq->retry_timer);
    mq->stop_phase = 0;
    mq->stop_started = uv_now(mq->stop_timer.loop);
    uv_timer_start(&mq->stop_timer, sw__stop_step, 0, 50);
}

static void sw__free_list(sw_inmsg *m)
{
    while (m) {
        sw_inmsg *n = m->next;
        free(m);
        m = n;
    }
}

void sw_mqtt_close(sw_mqtt *mq)
{
    /* A callback waiting for the inbox holds Paho's lock, which destroying
     * the client would wait on for ever: the client, its threads and what
     * they may still touch are left to the end of the process. */
    int blocked = atomic_load(&mq->arrival_blocked);
    if (!blocked)
        MQTTAsync_destroy(&mq->client);
    uv_close((uv_handle_t *)&mq->async, NULL);
    uv_close((uv_handle_t *)&mq->stop_timer, NULL);
    uv_close((uv_handle_t *)&mq->retry_timer, NULL);
    /* Messages that arrived during shutdown stay in the inbox for replay,
     * publications owed in the outbox. */
    sw__free_list(mq->head);
    mq->head = NULL;
    while (mq->out_head) {
        sw_outmsg *n = mq->out_head->next;
        free(mq->out_head);
        mq->out_head = n;
    }
    if (blocked)
        return;
    while (mq->inflight_list) {
        sw_outmsg *n = mq->inflight_list->next;
        free(mq->inflight_list);
        mq->inflight_list = n;
    }
    free(mq->acked.v);
    free(mq->failed.v);
    for (int i = 0; i < mq->nsubs; i++)
        free(mq->subs[i]);
    free(mq->subs);
    for (int i = 0; i < mq->nstale; i++)
        free(mq->stale[i]);
    free(mq->stale);
    free(mq->batches);
    mq->subs = NULL;
    mq->stale = NULL;
    mq->batches = NULL;
    pthread_mutex_destroy(&mq->lock);
    pthread_mutex_destroy(&mq->out_lock);
}

int sw_mqtt_refused(const sw_mqtt *mq)
{
    return atomic_load(&mq->refused);
}
