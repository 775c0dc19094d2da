/*
 * sw-bench: load generator and receiver for siteward (Paho MQTTAsync, MQTT 5).
 *
 *   sw-bench passthrough -b URL -n N [-k K]   broker to a plain subscriber
 *   sw-bench ingest      -b URL -n N [-k K]   events in, incident states out
 *   sw-bench stored      -b URL -n N -d DIR   events in, until all are applied in
 *                                             the store DIR/main (no subscriber)
 *   sw-bench latency     -b URL -r RATE -s SECONDS
 *   sw-bench escalation  -b URL -c COUNT [-r RATE]  (daemon run with --clock-scale):
 *                                             deadline -> escalation received
 *
 * The publisher keeps at most K QoS 1 messages in flight (never more than
 * the broker's Receive Maximum, so Paho never parks its send thread). Every
 * figure is printed as one "name key=value ..." line.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <MQTTAsync.h>
#include <lmdb.h>

typedef struct bench {
    const char *broker, *prefix, *mode, *dump, *state;
    long n, inflight, rate, seconds, sites;
    int paced;
    /* publisher side */
    MQTTAsync pub;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    long outstanding;
    /* receiver side: a child process, so that receiving never holds up
     * publishing (Paho serves every client of a process from one receive
     * thread under one lock); it shares these through MAP_SHARED memory. */
    MQTTAsync sub;
    struct shared {
        atomic_long received;
        atomic_llong last_ns;
        atomic_int ready;
    } * sh;
    int64_t *sent_ns; /* per sequence: monotonic send time (shared) */
    int64_t *lat_ns;  /* per sequence: latency + 1, 0 until received (shared) */
    int64_t first_ns;
    atomic_int subscribed;
} bench;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "sw-bench: %s: %s\n", what, MQTTAsync_strerror(rc));
    exit(1);
}

/* The sequence number a message carries: "seq":N in events and
 * passthrough messages, building "bN" in incident states. */
static long seq_of(const char *p, int len, const char *key)
{
    const char *hit = memmem(p, (size_t)len, key, strlen(key));
    long v = 0;
    int n = 0;
    if (!hit)
        return -1;
    for (hit += strlen(key); hit < p + len && *hit >= '0' && *hit <= '9' && n < 18; hit++, n++)
        v = v * 10 + (*hit - '0');
    return n ? v : -1;
}

static int64_t field_time_ms(const char *p, int len, const char *key)
{
    /* "due":"2026-11-22T08:15:03.123+08:00": parse with the offset. */
    char buf[48];
    const char *hit = memmem(p, (size_t)len, key, strlen(key));
    if (hit)
        hit += strlen(key);
    if (!hit || hit + 20 > p + len)
        return 0;
    int n = 0;
    while (hit + n < p + len && hit[n] != '"' && n < 40)
        n++;
    memcpy(buf, hit, (size_t)n);
    buf[n] = 0;
    struct tm tm = {0};
    int ms = 0, oh = 0, om = 0;
    char sign = '+';
    const char *rest = strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return 0;
    if (*rest == '.') {
        ms = atoi(rest + 1);
        rest += 4;
    }
    if (*rest == '+' || *rest == '-')
        sscanf(rest, "%c%d:%d", &sign, &oh, &om);
    int64_t t = (int64_t)timegm(&tm) * 1000 + ms;
    int off = (oh * 3600 + om * 60) * 1000;
    return sign == '+' ? t - off : t + off;
}

static int on_message(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
    bench *b = ctx;
    int64_t t = now_ns();
    long seq = -1;
    (void)tlen;

    if (m->retained) { /* state from before this run */
        MQTTAsync_freeMessage(&m);
        MQTTAsync_free(topic);
        return 1;
    }
    if (!strcmp(b->mode, "passthrough"))
        seq = seq_of(m->payload, m->payloadlen, "\"seq\":");
    else if (!strcmp(b->mode, "escalation"))
        seq = seq_of(m->payload, m->payloadlen, "building b");
    else if (strstr(topic, "/incident/") && seq_of(m->payload, m->payloadlen, "\"events\":") == 1)
        seq = seq_of(m->payload, m->payloadlen, "\"building\":\"b");
    if (!strcmp(b->mode, "escalation") && strstr(topic, "/escalation/supervisor") && seq >= 0 &&
        seq < b->n && !b->lat_ns[seq]) {
        int64_t due = field_time_ms(m->payload, m->payloadlen, "\"due\":\"");
        b->lat_ns[seq] = (wall_ms() - due) * 1000000 + 1;
        atomic_fetch_add(&b->sh->received, 1);
    } else if (strcmp(b->mode, "escalation") && seq >= 0 && seq < b->n && !b->lat_ns[seq] &&
               b->sent_ns[seq]) {
        b->lat_ns[seq] = t - b->sent_ns[seq] + 1;
        atomic_store(&b->sh->last_ns, t);
        atomic_fetch_add(&b->sh->received, 1);
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void on_sent(void *ctx, MQTTAsync_successData5 *r)
{
    bench *b = ctx;
    (void)r;
    pthread_mutex_lock(&b->lock);
    b->outstanding--;
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

static void on_send_failed(void *ctx, MQTTAsync_failureData5 *r)
{
    fprintf(stderr, "sw-bench: publish failed: %s\n", r->message ? r->message : "?");
    on_sent(ctx, NULL);
}

static void on_subscribed(void *ctx, MQTTAsync_successData5 *r)
{
    (void)r;
    atomic_store(&((bench *)ctx)->subscribed, 1);
}

static MQTTAsync connect_client(bench *b, const char *id, int receiver)
{
    MQTTAsync c;
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer5;
    char cid[64];
    int rc;

    co.MQTTVersion = MQTTVERSION_5;
    snprintf(cid, sizeof cid, "sw-bench-%s-%d", id, getpid());
    if ((rc = MQTTAsync_createWithOptions(&c, b->broker, cid, MQTTCLIENT_PERSISTENCE_NONE, NULL,
                                          &co)))
        die("create", rc);
    if (receiver)
        MQTTAsync_setCallbacks(c, b, NULL, on_message, NULL);
    opts.cleanstart = 1;
    opts.keepAliveInterval = 30;
    if ((rc = MQTTAsync_connect(c, &opts)))
        die("connect", rc);
    for (int i = 0; i < 500 && !MQTTAsync_isConnected(c); i++)
        usleep(10000);
    if (!MQTTAsync_isConnected(c)) {
        fprintf(stderr, "sw-bench: cannot connect to %s\n", b->broker);
        exit(1);
    }
    return c;
}

static void subscribe(bench *b, const char *filter)
{
    MQTTAsync_responseOptions o = MQTTAsync_responseOptions_initializer;
    int rc;
    atomic_store(&b->subscribed, 0);
    /* No retained state from earlier runs: thousands of old incidents
     * would queue ahead of the ones measured. */
    o.subscribeOptions.retainHandling = 2;
    o.onSuccess5 = on_subscribed;
    o.context = b;
    if ((rc = MQTTAsync_subscribe(b->sub, filter, 1, &o)))
        die("subscribe", rc);
    for (int i = 0; i < 500 && !atomic_load(&b->subscribed); i++)
        usleep(10000);
}

static void publish(bench *b, const char *topic, const char *payload)
{
    MQTTAsync_message m = MQTTAsync_message_initializer;
    MQTTAsync_responseOptions o = MQTTAsync_responseOptions_initializer;
    int rc;

    pthread_mutex_lock(&b->lock);
    while (b->outstanding >= b->inflight)
        pthread_cond_wait(&b->cond, &b->lock);
    b->outstanding++;
    pthread_mutex_unlock(&b->lock);
    m.payload = (void *)payload;
    m.payloadlen = (int)strlen(payload);
    m.qos = 1;
    o.onSuccess5 = on_sent;
    o.onFailure5 = on_send_failed;
    o.context = b;
    if ((rc = MQTTAsync_sendMessage(b->pub, topic, &m, &o)))
        die("publish", rc);
}

static const char *const types[] = {"smoke",      "water_leak", "door_forced",
                                    "power_loss", "gas_leak",   "elevator_fault"};

/* Event `i`: building "b<i>" makes each its own incident. */
static void event(bench *b, long i, char *topic, size_t tlen, char *payload, size_t plen)
{
    snprintf(topic, tlen, "%s/S%ld/event/sensor/dev%ld", b->prefix, i % b->sites, i % 997);
    snprintf(payload, plen,
             "{\"type\":\"%s\",\"id\":\"bench-%d-%ld\",\"location\":{\"building\":\"b%ld-%d\","
             "\"floor\":\"1\"},\"data\":{\"seq\":%ld}}",
             strcmp(b->mode, "escalation") ? types[i % 6] : "smoke", getpid(), i, i, getpid(), i);
}

static int cmp64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;
    return (a > c) - (a < c);
}

static void report(bench *b, const char *name, double seconds)
{
    long got = atomic_load(&b->sh->received), k = 0;
    int64_t *v = malloc(sizeof *v * (size_t)(got + 1));
    for (long i = 0; i < b->n; i++)
        if (b->lat_ns[i])
            v[k++] = b->lat_ns[i] - 1;
    qsort(v, (size_t)k, sizeof *v, cmp64);
    printf("%s n=%ld received=%ld", name, b->n, got);
    if (seconds > 0)
        printf(" seconds=%.3f msgs_per_s=%.0f", seconds, got / seconds);
    if (k)
        printf(" p50_ms=%.3f p99_ms=%.3f max_ms=%.3f", v[k / 2] / 1e6, v[k * 99 / 100] / 1e6,
               v[k - 1] / 1e6);
    printf("\n");
    fflush(stdout);
    free(v);
    FILE *f = b->dump ? fopen(b->dump, "w") : NULL;
    for (long i = 0; f && i < b->n; i++) /* sequence, send time, latency (ms) */
        fprintf(f, "%ld %.3f %.3f\n", i, (b->sent_ns[i] - b->first_ns) / 1e6,
                b->lat_ns[i] ? (b->lat_ns[i] - 1) / 1e6 : -1.0);
    if (f)
        fclose(f);
}

static void wait_received(bench *b, long want, int timeout_s)
{
    int64_t deadline = now_ns() + (int64_t)timeout_s * 1000000000;
    while (atomic_load(&b->sh->received) < want && now_ns() < deadline)
        usleep(1000);
}

/* stored: count the events applied (their dedup keys) in the daemon's
 * store, read-only as sitewardctl reads it, until all N are there. */
static void watch_store(bench *b)
{
    char path[512];
    MDB_env *env;
    int64_t deadline = now_ns() + 600 * (int64_t)1000000000;
    snprintf(path, sizeof path, "%s/main", b->state);
    while (now_ns() < deadline) {
        MDB_txn *txn;
        MDB_dbi dbi;
        MDB_stat st;
        size_t n = 0;
        if (!mdb_env_create(&env) && !mdb_env_set_maxdbs(env, 16) &&
            !mdb_env_open(env, path, MDB_RDONLY, 0) &&
            !mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) {
            if (!mdb_dbi_open(txn, "dedup", 0, &dbi) && !mdb_stat(txn, dbi, &st))
                n = st.ms_entries;
            mdb_txn_abort(txn);
        }
        mdb_env_close(env);
        if ((long)n >= b->n) {
            atomic_store(&b->sh->last_ns, now_ns());
            atomic_store(&b->sh->received, b->n);
            return;
        }
        usleep(2000);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: sw-bench passthrough|ingest|latency|escalation -b URL [-p PREFIX] "
                    "[-n N] [-k INFLIGHT] [-r RATE] [-s SECONDS] [-S SITES] [-o LATENCY_FILE] [-d "
                    "STATE_DIR]\n");
    exit(64);
}

int main(int argc, char **argv)
{
    bench b = {.broker = "tcp://127.0.0.1:1883",
               .prefix = "siteward",
               .n = 100000,
               .inflight = 16,
               .rate = 1000,
               .seconds = 10,
               .sites = 20};
    char topic[256], payload[512], filter[128];
    int opt;

    if (argc < 2)
        usage();
    b.mode = argv[1];
    optind = 2;
    while ((opt = getopt(argc, argv, "b:p:n:k:r:s:S:c:o:d:")) != -1) {
        switch (opt) {
        case 'b':
            b.broker = optarg;
            break;
        case 'p':
            b.prefix = optarg;
            break;
        case 'n':
        case 'c':
            b.n = atol(optarg);
            break;
        case 'k':
            b.inflight = atol(optarg);
            break;
        case 'r':
            b.rate = atol(optarg);
            b.paced = 1;
            break;
        case 's':
            b.seconds = atol(optarg);
            break;
        case 'S':
            b.sites = atol(optarg);
            break;
        case 'o':
            b.dump = optarg;
            break;
        case 'd':
            b.state = optarg;
            break;
        default:
            usage();
        }
    }
    if (!strcmp(b.mode, "latency"))
        b.n = b.rate * b.seconds;
    if (b.n <= 0 || b.inflight <= 0 || b.sites <= 0)
        usage();
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.cond, NULL);
    size_t bytes = sizeof *b.sh + 2 * sizeof(int64_t) * (size_t)b.n;
    char *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return 1;
    b.sh = (struct shared *)mem;
    b.sent_ns = (int64_t *)(mem + sizeof *b.sh);
    b.lat_ns = b.sent_ns + b.n;

    if (!strcmp(b.mode, "passthrough"))
        snprintf(filter, sizeof filter, "bench/passthrough/#");
    else if (!strcmp(b.mode, "escalation"))
        snprintf(filter, sizeof filter, "%s/+/escalation/supervisor", b.prefix);
    else if (!strcmp(b.mode, "ingest") || !strcmp(b.mode, "latency"))
        snprintf(filter, sizeof filter, "%s/+/incident/+", b.prefix);
    else if (strcmp(b.mode, "stored") || !b.state)
        usage();
    pid_t child = fork();
    if (child < 0)
        return 1;
    if (child == 0 && !strcmp(b.mode, "stored")) {
        atomic_store(&b.sh->ready, 1);
        watch_store(&b);
        _exit(0);
    }
    if (child == 0) {
        b.sub = connect_client(&b, "sub", 1);
        subscribe(&b, filter);
        atomic_store(&b.sh->ready, 1);
        /* Until everything came, or the publisher is long done. */
        wait_received(&b, b.n, 600);
        MQTTAsync_disconnect(b.sub, NULL);
        _exit(0);
    }
    for (int i = 0; i < 1000 && !atomic_load(&b.sh->ready); i++)
        usleep(10000);
    b.pub = connect_client(&b, "pub", 0);

    b.first_ns = now_ns();
    /* latency always paces; escalation when a rate is given (-r). */
    int64_t interval = !strcmp(b.mode, "latency") || (!strcmp(b.mode, "escalation") && b.paced)
                           ? 1000000000 / b.rate
                           : 0;
    for (long i = 0; i < b.n; i++) {
        if (interval) { /* paced on the monotonic clock, not in bursts */
            int64_t at = b.first_ns + i * interval, t;
            while ((t = now_ns()) < at)
                if (at - t > 200000)
                    usleep((useconds_t)((at - t) / 2000));
        }
        if (!strcmp(b.mode, "passthrough")) {
            snprintf(topic, sizeof topic, "bench/passthrough/%ld", i % 64);
            snprintf(payload, sizeof payload,
                     "{\"type\":\"smoke\",\"id\":\"p%ld\",\"seq\":%ld,\"location\":{\"building\":"
                     "\"1\",\"floor\":\"1\"}}",
                     i, i);
        } else {
            event(&b, i, topic, sizeof topic, payload, sizeof payload);
        }
        b.sent_ns[i] = now_ns();
        publish(&b, topic, payload);
    }
    wait_received(&b, b.n, 120);
    double secs = (atomic_load(&b.sh->last_ns) - b.first_ns) / 1e9;
    char name[64];
    if (!strcmp(b.mode, "latency"))
        snprintf(name, sizeof name, "latency rate=%ld", b.rate);
    else
        snprintf(name, sizeof name, "%s", b.mode);
    report(&b, name, strcmp(b.mode, "latency") && strcmp(b.mode, "escalation") ? secs : 0);
    if (!strcmp(b.mode, "stored"))
        b.lat_ns[0] = 0; /* no per-event latency in this mode */
    MQTTAsync_disconnect(b.pub, NULL);
    kill(child, SIGTERM);
    waitpid(child, NULL, 0);
    return atomic_load(&b.sh->received) == b.n ? 0 : 2;
}
