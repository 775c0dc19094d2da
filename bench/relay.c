/*
 * sw-bench-relay: the floor under any Paho daemon (bench/run-peer.sh).
 *
 *   sw-bench-relay --broker URL --state DIR [--prefix P] [--window K]
 *
 * It does what siteward must do with every event and nothing else: take it
 * at QoS 1 on a persistent MQTT 5 session, append the raw message to LMDB
 * before the callback returns (Paho sends the PUBACK when it returns), and
 * publish a state for it, retained at QoS 1, on P/{site}/incident/r{seq}:
 * {"events":1,"event":RAW}, the raw bytes as they came, never parsed. That
 * is what sw-bench counts as an incident state (an "events" count and the
 * event's place); every message is a state of its own.
 *
 * Durability as siteward's `process` mode: NOSYNC commits and an
 * mdb_env_sync every second from a thread of its own. The log is the queue
 * of what is still to be published: a publisher thread reads it behind the
 * receive thread and keeps at most K publications in flight (K at most the
 * broker's Receive Maximum), so nothing is held in memory beyond the window
 * and Paho never parks a message for lack of a slot. The publication cannot
 * be sent from the callback under a window: the PUBACKs that free the window
 * are handled by the same Paho thread. What was appended but not yet
 * published when the relay stops is not published by the next one.
 *
 * Exit status: 0 after SIGTERM or SIGINT, 1 on a broker or store error,
 * 64 on a usage error. Counts go to stderr at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>
#include <lmdb.h>

typedef struct sw_relay {
    const char *broker, *prefix, *state;
    MQTTAsync client;
    MDB_env *env;
    MDB_dbi dbi;
    uint64_t seq; /* receive thread only: the last key appended */
    pthread_mutex_t lock;
    pthread_cond_t cond;  /* the publisher's: appended, acknowledged, stop */
    pthread_cond_t quiet; /* the syncer's: stop */
    /* under lock */
    uint64_t appended;  /* the last key the publisher may read */
    uint64_t published; /* the last key handed to Paho */
    long inflight, window, acked, failed;
    int connected, stop;
} sw_relay;

static _Noreturn void sw_relay_fail(const char *what, const char *why)
{
    fprintf(stderr, "sw-bench-relay: %s: %s\n", what, why);
    /* Unacknowledged messages stay with the broker: end without a PUBACK
     * rather than acknowledge something that is not in the store. */
    _exit(1);
}

/* Paho 1.3.12 leaves Nagle's algorithm on and has no option for it; as
 * siteward does, set TCP_NODELAY on the process's TCP sockets (Paho's). */
static void sw_relay_nodelay(void)
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

/* Paho's receive thread. Key: the sequence, big-endian (MDB_APPEND);
 * value: topic, NUL, payload. */
static int sw_relay_arrived(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
    sw_relay *r = ctx;
    size_t tl = tlen > 0 ? (size_t)tlen : strlen(topic);
    unsigned char key[8];
    MDB_val k = {sizeof key, key}, v = {tl + 1 + (size_t)m->payloadlen, NULL};
    MDB_txn *txn;
    int rc;

    r->seq++;
    for (int i = 0; i < 8; i++)
        key[i] = (unsigned char)(r->seq >> (56 - 8 * i));
    if ((rc = mdb_txn_begin(r->env, NULL, 0, &txn)))
        sw_relay_fail("append", mdb_strerror(rc));
    if ((rc = mdb_put(txn, r->dbi, &k, &v, MDB_APPEND | MDB_RESERVE))) {
        mdb_txn_abort(txn);
        sw_relay_fail("append", mdb_strerror(rc));
    }
    memcpy(v.mv_data, topic, tl);
    ((char *)v.mv_data)[tl] = 0;
    memcpy((char *)v.mv_data + tl + 1, m->payload, (size_t)m->payloadlen);
    if ((rc = mdb_txn_commit(txn)))
        sw_relay_fail("append", mdb_strerror(rc));
    pthread_mutex_lock(&r->lock);
    r->appended = r->seq;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void sw_relay_done(sw_relay *r, int ok)
{
    pthread_mutex_lock(&r->lock);
    r->inflight--;
    if (ok)
        r->acked++;
    else
        r->failed++;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void sw_relay_sent(void *ctx, MQTTAsync_successData5 *d)
{
    (void)d;
    sw_relay_done(ctx, 1);
}

static void sw_relay_send_failed(void *ctx, MQTTAsync_failureData5 *d)
{
    fprintf(stderr, "sw-bench-relay: publish failed: %s\n", d && d->message ? d->message : "?");
    sw_relay_done(ctx, 0);
}

/* The state of the message stored under `seq`, from its value `v`, into
 * `topic` and the growing buffer `*buf`: -1 when the topic has no site. */
static int sw_relay_state(const sw_relay *r, uint64_t seq, const MDB_val *v, char *topic,
                          size_t tsize, char **buf, size_t *cap, int *len)
{
    const char *t = v->mv_data, *payload = t + strlen(t) + 1;
    size_t plen = v->mv_size - (size_t)(payload - t), pl = strlen(r->prefix);
    const char *site = t + pl + 1, *end;
    static const char head[] = "{\"events\":1,\"event\":";

    if (strncmp(t, r->prefix, pl) || t[pl] != '/' || !(end = strchr(site, '/')) || end == site)
        return -1;
    snprintf(topic, tsize, "%s/%.*s/incident/r%llu", r->prefix, (int)(end - site), site,
             (unsigned long long)seq);
    if (*cap < sizeof head + plen + 1) {
        char *nb = realloc(*buf, sizeof head + plen + 1);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = sizeof head + plen + 1;
    }
    memcpy(*buf, head, sizeof head - 1);
    memcpy(*buf + sizeof head - 1, payload, plen);
    (*buf)[sizeof head - 1 + plen] = '}';
    *len = (int)(sizeof head + plen);
    return 0;
}

/* Publishes what the receive thread appended, keeping at most `window`
 * publications unacknowledged. */
static void *sw_relay_publisher(void *arg)
{
    sw_relay *r = arg;
    char topic[512], *buf = NULL;
    size_t cap = 0;
    MDB_txn *txn = NULL;
    int rc;

    for (;;) {
        pthread_mutex_lock(&r->lock);
        while (!r->stop &&
               (!r->connected || r->published == r->appended || r->inflight >= r->window))
            pthread_cond_wait(&r->cond, &r->lock);
        if (r->stop) {
            pthread_mutex_unlock(&r->lock);
            break;
        }
        uint64_t from = r->published + 1, to = r->appended;
        if (to - from + 1 > (uint64_t)(r->window - r->inflight))
            to = from + (uint64_t)(r->window - r->inflight) - 1;
        r->inflight += (long)(to - from + 1);
        r->published = to;
        pthread_mutex_unlock(&r->lock);

        /* One read transaction, reset and renewed, for the whole run. */
        if ((rc = txn ? mdb_txn_renew(txn) : mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn)))
            sw_relay_fail("read", mdb_strerror(rc));
        for (uint64_t s = from; s <= to; s++) {
            MQTTAsync_message m = MQTTAsync_message_initializer;
            MQTTAsync_responseOptions o = MQTTAsync_responseOptions_initializer;
            unsigned char key[8];
            MDB_val k = {sizeof key, key}, v;
            int len;

            for (int i = 0; i < 8; i++)
                key[i] = (unsigned char)(s >> (56 - 8 * i));
            if ((rc = mdb_get(txn, r->dbi, &k, &v)))
                sw_relay_fail("read", mdb_strerror(rc));
            if (sw_relay_state(r, s, &v, topic, sizeof topic, &buf, &cap, &len)) {
                sw_relay_done(r, 0);
                continue;
            }
            m.payload = buf;
            m.payloadlen = len;
            m.qos = 1;
            m.retained = 1;
            o.onSuccess5 = sw_relay_sent;
            o.onFailure5 = sw_relay_send_failed;
            o.context = r;
            /* Paho copies the topic and the payload. */
            if ((rc = MQTTAsync_sendMessage(r->client, topic, &m, &o))) {
                fprintf(stderr, "sw-bench-relay: publish: %s\n", MQTTAsync_strerror(rc));
                sw_relay_done(r, 0);
            }
        }
        mdb_txn_reset(txn);
    }
    if (txn)
        mdb_txn_abort(txn);
    free(buf);
    return NULL;
}

/* `process` durability: what was committed reaches the disk within a second. */
static void *sw_relay_syncer(void *arg)
{
    sw_relay *r = arg;
    struct timespec at;

    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        clock_gettime(CLOCK_REALTIME, &at);
        at.tv_sec += 1;
        while (!r->stop && pthread_cond_timedwait(&r->quiet, &r->lock, &at) != ETIMEDOUT)
            ;
        pthread_mutex_unlock(&r->lock);
        mdb_env_sync(r->env, 1);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static void sw_relay_subscribed(void *ctx, MQTTAsync_successData5 *d)
{
    (void)d;
    fprintf(stderr, "sw-bench-relay: subscribed to %s/+/event/#, report/+ and cmd/+\n",
            ((sw_relay *)ctx)->prefix);
}

static void sw_relay_subscribe_failed(void *ctx, MQTTAsync_failureData5 *d)
{
    (void)ctx;
    sw_relay_fail("subscribe", d && d->message ? d->message : "refused");
}

static void sw_relay_connected(void *ctx, MQTTAsync_successData5 *d)
{
    sw_relay *r = ctx;
    MQTTAsync_responseOptions o = MQTTAsync_responseOptions_initializer;
    char filters[3][128];
    char *f[3] = {filters[0], filters[1], filters[2]};
    int qos[3] = {1, 1, 1}, rc;
    /* Absent: the MQTT 5 default, 65535. */
    int max = MQTTProperties_getNumericValue(&d->properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM);

    sw_relay_nodelay();
    pthread_mutex_lock(&r->lock);
    if (max <= 0)
        max = 65535;
    if (r->window <= 0 || r->window > max)
        r->window = max;
    r->connected = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    /* The topics siteward takes in. */
    snprintf(filters[0], sizeof filters[0], "%s/+/event/#", r->prefix);
    snprintf(filters[1], sizeof filters[1], "%s/+/report/+", r->prefix);
    snprintf(filters[2], sizeof filters[2], "%s/+/cmd/+", r->prefix);
    o.onSuccess5 = sw_relay_subscribed;
    o.onFailure5 = sw_relay_subscribe_failed;
    o.context = r;
    if ((rc = MQTTAsync_subscribeMany(r->client, 3, f, qos, &o)))
        sw_relay_fail("subscribe", MQTTAsync_strerror(rc));
}

static void sw_relay_connect_failed(void *ctx, MQTTAsync_failureData5 *d)
{
    (void)ctx;
    sw_relay_fail("connect", d && d->message ? d->message : "failed");
}

static void sw_relay_lost(void *ctx, char *cause)
{
    (void)ctx;
    sw_relay_fail("connection lost", cause ? cause : "no reason");
}

static int sw_relay_usage(void)
{
    fprintf(stderr, "usage: sw-bench-relay --broker URL --state DIR [--prefix P] [--window K]\n"
                    "  -b, --broker URL   the broker (tcp://HOST:PORT)\n"
                    "  -s, --state DIR    the LMDB environment (created if missing)\n"
                    "  -p, --prefix P     topic prefix (default relay)\n"
                    "  -w, --window K     publications in flight, at most the broker's Receive\n"
                    "                     Maximum (default: that maximum)\n");
    return 64;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"broker", required_argument, NULL, 'b'},
                                         {"state", required_argument, NULL, 's'},
                                         {"prefix", required_argument, NULL, 'p'},
                                         {"window", required_argument, NULL, 'w'},
                                         {NULL, 0, NULL, 0}};
    sw_relay r = {.prefix = "relay"};
    MQTTAsync_createOptions cr = MQTTAsync_createOptions_initializer;
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
    MQTTProperties props = MQTTProperties_initializer;
    MQTTProperty p;
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    pthread_t publisher, syncer;
    char cid[160];
    sigset_t sigs;
    int c, rc, sig;

    while ((c = getopt_long(argc, argv, "b:s:p:w:", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            r.broker = optarg;
            break;
        case 's':
            r.state = optarg;
            break;
        case 'p':
            r.prefix = optarg;
            break;
        case 'w':
            r.window = strtol(optarg, NULL, 10);
            break;
        default:
            return sw_relay_usage();
        }
    }
    if (!r.broker || !r.state || optind != argc || r.window < 0)
        return sw_relay_usage();
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.cond, NULL);
    pthread_cond_init(&r.quiet, NULL);

    /* The map only reserves address space; the file grows with the log. */
    if ((rc = mdb_env_create(&r.env)) || (rc = mdb_env_set_mapsize(r.env, (size_t)8 << 30)) ||
        (rc = mdb_env_open(r.env, r.state, MDB_NOSYNC, 0600)) ||
        (rc = mdb_txn_begin(r.env, NULL, 0, &txn)) || (rc = mdb_dbi_open(txn, NULL, 0, &r.dbi)) ||
        (rc = mdb_cursor_open(txn, r.dbi, &cur)))
        sw_relay_fail(r.state, mdb_strerror(rc));
    /* Go on after the last key of an earlier run. */
    if (!mdb_cursor_get(cur, &k, &v, MDB_LAST) && k.mv_size == 8)
        for (int i = 0; i < 8; i++)
            r.seq = r.seq << 8 | ((unsigned char *)k.mv_data)[i];
    mdb_cursor_close(cur);
    if ((rc = mdb_txn_commit(txn)))
        sw_relay_fail(r.state, mdb_strerror(rc));
    r.appended = r.published = r.seq;

    /* Paho's threads, started by the first client, inherit the mask: the
     * main thread alone takes the signals. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    cr.MQTTVersion = MQTTVERSION_5;
    snprintf(cid, sizeof cid, "sw-bench-relay-%s", r.prefix);
    if ((rc = MQTTAsync_createWithOptions(&r.client, r.broker, cid, MQTTCLIENT_PERSISTENCE_NONE,
                                          NULL, &cr)) ||
        (rc = MQTTAsync_setCallbacks(r.client, &r, sw_relay_lost, sw_relay_arrived, NULL)))
        sw_relay_fail("create", MQTTAsync_strerror(rc));
    if (pthread_create(&publisher, NULL, sw_relay_publisher, &r) ||
        pthread_create(&syncer, NULL, sw_relay_syncer, &r))
        sw_relay_fail("thread", strerror(errno));
    /* A persistent session, as siteward's: the broker keeps QoS 1 messages
     * for the relay while it is down. */
    p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
    p.value.integer4 = 7 * 24 * 3600;
    MQTTProperties_add(&props, &p);
    co.cleanstart = 0;
    co.keepAliveInterval = 20;
    co.connectProperties = &props;
    co.onSuccess5 = sw_relay_connected;
    co.onFailure5 = sw_relay_connect_failed;
    co.context = &r;
    if ((rc = MQTTAsync_connect(r.client, &co)))
        sw_relay_fail("connect", MQTTAsync_strerror(rc));
    MQTTProperties_free(&props);

    sigwait(&sigs, &sig);
    pthread_mutex_lock(&r.lock);
    r.stop = 1;
    pthread_cond_broadcast(&r.cond);
    pthread_cond_broadcast(&r.quiet);
    pthread_mutex_unlock(&r.lock);
    pthread_join(publisher, NULL);
    pthread_join(syncer, NULL);
    MQTTAsync_disconnect(r.client, NULL);
    usleep(100000);
    MQTTAsync_destroy(&r.client);
    mdb_env_sync(r.env, 1);
    mdb_env_close(r.env);
    fprintf(stderr,
            "sw-bench-relay: appended %llu, published %llu, acknowledged %ld, failed %ld, "
            "window %ld\n",
            (unsigned long long)r.appended, (unsigned long long)r.published, r.acked, r.failed,
            r.window);
    return 0;
}
