#include "mqtt.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "siteward/types.h"

enum {
    SW__EV_SUBSCRIBED = 1,
    SW__EV_LOST = 2,
    SW__EV_STOPPED = 4,
    SW__EV_SENT = 8,
};

/* Until the broker says otherwise (MQTT 5 Receive Maximum). */
#define SW__WINDOW_DEFAULT 20

struct sw_outmsg {
    sw_outmsg *next;
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

/* Paho thread. Durable first, then handed over: the PUBACK follows our
 * return. Returning 0 makes Paho keep the message and offer it again. */
static int sw__arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
    sw_mqtt *mq = ctx;
    size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
    MQTTProperty *rt =
        MQTTProperties_getProperty(&msg->properties, MQTTPROPERTY_CODE_RESPONSE_TOPIC);
    MQTTProperty *cd =
        MQTTProperties_getProperty(&msg->properties, MQTTPROPERTY_CODE_CORRELATION_DATA);
    sw_inmsg *m = sw_inmsg_new(topic, tlen, msg->payload, (size_t)msg->payloadlen,
                               rt ? rt->value.data.data : NULL, rt ? (size_t)rt->value.data.len : 0,
                               cd ? cd->value.data.data : NULL, cd ? (size_t)cd->value.data.len : 0,
                               sw__now_ms());
    if (!m)
        return 0;
    int rc = sw_inbox_append(mq->inbox, m);
    if (rc) {
        /* Log the first failure and then every 1000th, not each retry. */
        if (atomic_fetch_add(&mq->store_errors, 1) % 1000 == 0)
            sw_log(SW_LOG_ERR, "inbox: cannot store a message (%s); the broker keeps it",
                   sw_strerror(rc));
        free(m);
        return 0;
    }
    pthread_mutex_lock(&mq->lock);
    *mq->tail = m;
    mq->tail = &m->next;
    pthread_mutex_unlock(&mq->lock);
    uv_async_send(&mq->async);
    MQTTAsync_freeMessage(&msg);
    MQTTAsync_free(topic);
    return 1;
}

static void sw__on_subscribe(void *ctx, MQTTAsync_successData5 *resp)
{
    sw_mqtt *mq = ctx;
    for (int i = 0; i < resp->alt.sub.reasonCodeCount; i++)
        if (resp->alt.sub.reasonCodes[i] >= 0x80)
            sw_log(SW_LOG_ERR, "mqtt: subscription to %s refused by the broker (reason %d)",
                   mq->subs[i], resp->alt.sub.reasonCodes[i]);
    if (resp->alt.sub.reasonCodeCount == 0 && resp->reasonCode >= 0x80)
        sw_log(SW_LOG_ERR, "mqtt: subscription refused (reason %d)", resp->reasonCode);
    sw__raise(mq, SW__EV_SUBSCRIBED);
}

static void sw__on_subscribe_failure(void *ctx, MQTTAsync_failureData5 *resp)
{
    sw_mqtt *mq = ctx;
    sw_log(SW_LOG_ERR, "mqtt: subscribe failed: %s", resp->message ? resp->message : "no reason");
    sw__raise(mq, SW__EV_LOST);
}

/* Paho thread: on every connection, including automatic reconnects. */
static void sw__connected(void *ctx, char *cause)
{
    sw_mqtt *mq = ctx;
    MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
    int qos[3] = {1, 1, 1};
    int rc;

    sw_log(SW_LOG_INFO, "mqtt: connected to %s%s%s", mq->cfg->broker, cause ? ": " : "",
           cause ? cause : "");
    opts.onSuccess5 = sw__on_subscribe;
    opts.onFailure5 = sw__on_subscribe_failure;
    opts.context = mq;
    if ((rc = MQTTAsync_subscribeMany(mq->client, 3, mq->subs, qos, &opts)) != MQTTASYNC_SUCCESS)
        sw_log(SW_LOG_ERR, "mqtt: subscribe: %s", MQTTAsync_strerror(rc));
}

static void sw__lost(void *ctx, char *cause)
{
    sw_mqtt *mq = ctx;
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
    atomic_store(&mq->window, window > 0 ? window : 1);
}

static void sw__connect_failed(void *ctx, MQTTAsync_failureData5 *resp)
{
    sw_mqtt *mq = ctx;
    /* Paho's automatic reconnect keeps trying, also after a first failure. */
    sw_log(SW_LOG_WARNING, "mqtt: cannot connect to %s: %s; retrying", mq->cfg->broker,
           resp && resp->message ? resp->message : MQTTAsync_strerror(resp ? resp->code : 0));
}

static int sw__connect(sw_mqtt *mq)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
    MQTTProperties props = MQTTProperties_initializer;
    MQTTProperty p;
    int rc;

    /* A persistent session: the broker keeps QoS 1 messages for siteward
     * while it is down (up to a week). */
    p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
    p.value.integer4 = 7 * 24 * 3600;
    MQTTProperties_add(&props, &p);
    co.cleanstart = 0;
    if (mq->cfg->username[0]) {
        co.username = mq->cfg->username;
        co.password = mq->cfg->password;
    }
    co.keepAliveInterval = 20;
    co.automaticReconnect = 1;
    co.minRetryInterval = 1;
    co.maxRetryInterval = 2;
    co.connectProperties = &props;
    co.onSuccess5 = sw__connect_ok;
    co.onFailure5 = sw__connect_failed;
    co.context = mq;
    will.topicName = mq->status_topic;
    will.message = "offline";
    will.retained = 1;
    will.qos = 1;
    co.will = &will;
    rc = MQTTAsync_connect(mq->client, &co);
    MQTTProperties_free(&props);
    if (rc != MQTTASYNC_SUCCESS) {
        sw_log(SW_LOG_ERR, "mqtt: connect: %s", MQTTAsync_strerror(rc));
        return SW_EMQTT;
    }
    return 0;
}

static void sw__flush(sw_mqtt *mq);

/* Loop thread: take every queued message (uv_async_send coalesces). */
static void sw__wakeup(uv_async_t *a)
{
    sw_mqtt *mq = a->data;
    sw_inmsg *list;
    int ev = atomic_exchange(&mq->flags, 0);

    pthread_mutex_lock(&mq->lock);
    list = mq->head;
    mq->head = NULL;
    mq->tail = &mq->head;
    pthread_mutex_unlock(&mq->lock);
    if (list)
        mq->h.messages(mq->h.ctx, list);
    if (ev & SW__EV_SENT)
        sw__flush(mq);
    if ((ev & SW__EV_LOST) && mq->h.lost)
        mq->h.lost(mq->h.ctx);
    if ((ev & SW__EV_SUBSCRIBED) && !atomic_load(&mq->stopping)) {
        sw_mqtt_status(mq, "online");
        mq->h.subscribed(mq->h.ctx);
    }
    if (ev & SW__EV_STOPPED)
        mq->h.stopped(mq->h.ctx);
}

int sw_mqtt_start(sw_mqtt *mq, uv_loop_t *loop, const sw_config *cfg, sw_inbox *inbox,
                  sw_mqtt_handlers h)
{
    MQTTAsync_createOptions opts = MQTTAsync_createOptions_initializer;
    char client_id[128];
    int rc;

    memset(mq, 0, sizeof *mq);
    mq->cfg = cfg;
    mq->inbox = inbox;
    mq->h = h;
    mq->tail = &mq->head;
    mq->out_tail = &mq->out_head;
    atomic_store(&mq->window, SW__WINDOW_DEFAULT);
    pthread_mutex_init(&mq->lock, NULL);
    snprintf(mq->status_topic, sizeof mq->status_topic, "%s/_daemon/%s/status", cfg->prefix,
             cfg->instance);
    static const char *const kinds[3] = {"event/+/+", "report/+", "cmd/+"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(cfg->prefix) + strlen(kinds[i]) + 4;
        if (!(mq->subs[i] = malloc(n)))
            return SW_ENOMEM;
        snprintf(mq->subs[i], n, "%s/+/%s", cfg->prefix, kinds[i]);
    }
    uv_async_init(loop, &mq->async, sw__wakeup);
    mq->async.data = mq;

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

static void sw__sent(void *ctx, MQTTAsync_successData5 *resp)
{
    sw_mqtt *mq = ctx;
    (void)resp;
    atomic_fetch_add(&mq->done, 1);
    sw__raise(mq, SW__EV_SENT);
}

static void sw__send_failed(void *ctx, MQTTAsync_failureData5 *resp)
{
    sw_mqtt *mq = ctx;
    sw_log(SW_LOG_WARNING, "mqtt: a publication failed: %s",
           resp && resp->message ? resp->message : MQTTAsync_strerror(resp ? resp->code : 0));
    atomic_fetch_add(&mq->done, 1);
    sw__raise(mq, SW__EV_SENT);
}

static int sw__send(sw_mqtt *mq, const sw_outmsg *o)
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
    opts.context = mq;
    rc = MQTTAsync_sendMessage(mq->client, o->topic, &msg, &opts);
    MQTTProperties_free(&msg.properties);
    if (rc == MQTTASYNC_SUCCESS)
        mq->inflight++;
    return rc;
}

/* Hand queued messages to Paho while the window has room. */
static void sw__flush(sw_mqtt *mq)
{
    mq->inflight -= atomic_exchange(&mq->done, 0);
    if (mq->inflight < 0)
        mq->inflight = 0;
    while (mq->out_head && mq->inflight < atomic_load(&mq->window)) {
        sw_outmsg *o = mq->out_head;
        int rc = sw__send(mq, o);
        /* Paho's buffer is full: keep it and try again on the next completion. */
        if (rc == MQTTASYNC_MAX_BUFFERED_MESSAGES)
            break;
        if (rc != MQTTASYNC_SUCCESS)
            sw_log(SW_LOG_WARNING, "mqtt: publish to %s dropped: %s", o->topic,
                   MQTTAsync_strerror(rc));
        mq->out_head = o->next;
        if (!mq->out_head)
            mq->out_tail = &mq->out_head;
        mq->out_queued--;
        free(o);
    }
}

int sw_mqtt_publish(void *ctx, const char *topic, const char *payload, size_t len, int retained,
                    const unsigned char *corr, size_t corr_len)
{
    sw_mqtt *mq = ctx;
    size_t tlen = strlen(topic);
    sw_outmsg *o = malloc(sizeof *o + tlen + 1 + len + 1 + corr_len);

    if (!o)
        return SW_ENOMEM;
    o->next = NULL;
    o->topic = (char *)(o + 1);
    memcpy(o->topic, topic, tlen + 1);
    o->payload = o->topic + tlen + 1;
    memcpy(o->payload, payload, len);
    o->payload[len] = 0;
    o->len = len;
    o->retained = retained;
    o->corr = corr_len ? (unsigned char *)o->payload + len + 1 : NULL;
    if (corr_len)
        memcpy(o->corr, corr, corr_len);
    o->corr_len = corr_len;
    *mq->out_tail = o;
    mq->out_tail = &o->next;
    mq->out_queued++;
    sw__flush(mq);
    return 0;
}

int sw_mqtt_status(sw_mqtt *mq, const char *status)
{
    return sw_mqtt_publish(mq, mq->status_topic, status, strlen(status), 1, NULL, 0);
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

void sw_mqtt_stop(sw_mqtt *mq)
{
    MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer5;
    atomic_store(&mq->stopping, 1);
    if (!MQTTAsync_isConnected(mq->client)) {
        sw__raise(mq, SW__EV_STOPPED);
        return;
    }
    /* Hand Paho everything still queued; the disconnect flushes it. */
    atomic_store(&mq->window, INT_MAX);
    sw_mqtt_status(mq, "offline");
    opts.timeout = 3000;
    opts.onSuccess5 = sw__disconnected;
    opts.onFailure5 = sw__disconnect_failed;
    opts.context = mq;
    if (MQTTAsync_disconnect(mq->client, &opts) != MQTTASYNC_SUCCESS)
        sw__raise(mq, SW__EV_STOPPED);
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
    MQTTAsync_destroy(&mq->client);
    uv_close((uv_handle_t *)&mq->async, NULL);
    /* Messages that arrived during shutdown stay in the inbox for replay. */
    sw__free_list(mq->head);
    mq->head = NULL;
    while (mq->out_head) {
        sw_outmsg *n = mq->out_head->next;
        free(mq->out_head);
        mq->out_head = n;
    }
    for (int i = 0; i < 3; i++)
        free(mq->subs[i]);
    pthread_mutex_destroy(&mq->lock);
}
