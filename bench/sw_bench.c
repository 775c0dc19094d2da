/*
 * sw-bench: load generator and receiver for siteward (Paho MQTTAsync, MQTT 5).
 *
 *   sw-bench passthrough --broker URL -n N [--inflight K]
 *       the broker alone: N QoS 1 messages to a plain subscriber
 *   sw-bench ingest --broker URL -n N [--inflight K] [--sites S] [--devices D]
 *                   [--locations L] [--unique] [--state DIR]
 *       N canonical events of varied types and places (most join an open
 *       incident; with --unique each opens its own): the daemon's ingest
 *       (events applied, from the store with --state, else from its stats),
 *       the broker's intake (PUBACKs), and the incident states out
 *   sw-bench stored --broker URL -n N --state DIR
 *       the same events, counted in the store only (no subscriber at all)
 *   sw-bench latency --broker URL --rate R --seconds T
 *       event published -> incident state received, paced on the monotonic clock
 *   sw-bench escalation --broker URL -c COUNT [--rate R]
 *       deadline -> escalation received (daemon run with --clock-scale 60)
 *
 * The publisher keeps at most K QoS 1 messages in flight, never more than
 * the broker's Receive Maximum, so Paho never parks its send thread. Every
 * figure is printed as one "name key=value ..." line; --results FILE appends
 * them with the date and the commit. Everything ends within --timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>
#include <lmdb.h>

enum mode { M_PASSTHROUGH, M_INGEST, M_STORED, M_LATENCY, M_ESCALATION };
static const char *const mode_names[] = {"passthrough", "ingest", "stored", "latency",
                                         "escalation"};

/* What the receiver (a child process) and the publisher share: MAP_SHARED
 * memory. The receiver is a process of its own because Paho serves every
 * client of a process from one receive thread under one lock, and a busy
 * subscriber would otherwise slow the publisher down. */
struct shared {
    atomic_int ready; /* the receiver has subscribed */
    atomic_int stop;  /* the publisher has what it waits for */
    atomic_llong first_ns;
    /* passthrough, latency, escalation: messages measured */
    atomic_long received;
    atomic_llong last_ns;
    /* ingest: incident states (of this run's places only) */
    atomic_long inc_pubs, inc_ids, inc_events;
    atomic_llong inc_done_ns;
    /* ingest: the daemon's stats */
    atomic_long st_msgs, st_base, st_received, st_accepted, st_rejected, st_duplicates, st_opened;
    atomic_llong st_done_ns, st_after_ns;
    /* ingest and stored: events applied in the store */
    atomic_long stored;
    atomic_llong stored_done_ns;
};

/* Receiver only: incident id -> the latest "events" count seen. */
typedef struct incmap {
    char **keys;
    long *events;
    size_t cap;
} incmap;

typedef struct bench {
    enum mode mode;
    const char *broker, *prefix, *dump, *state, *results, *commit, *label;
    long n, inflight, rate, seconds, sites, devices, locations, timeout_s, stats_wait_s;
    int paced, unique;
    char tag[16];           /* this run's mark in every building name */
    char needle[64];        /* "building":"TAG- */
    long expected_incident; /* ingest: events of types that make incidents */
    int64_t deadline_ns;
    /* publisher */
    MQTTAsync pub;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    long outstanding, acked, failed;
    int64_t last_ack_ns;
    /* receiver */
    MQTTAsync sub;
    incmap map;
    int64_t st_prev_ns;
    /* both */
    struct shared *sh;
    int64_t *sent_ns; /* per sequence: monotonic send time */
    int64_t *lat_ns;  /* per sequence: latency + 1, 0 until received */
    atomic_int connected, subscribed, receive_max, watch_ready;
    char figures[8192];
    size_t flen;
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

/* The unsigned integer right after `key`, or -1. */
static long json_long(const char *p, int len, const char *key)
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

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* ---- the events ---------------------------------------------------------- */

static const struct ev_type {
    const char *type;
    int incident; /* the default policy opens or joins an incident for it */
} ingest_types[] = {{"smoke", 1},          {"heat", 1},
                    {"water_leak", 1},     {"pipe_burst", 1},
                    {"door_forced", 1},    {"door_held", 1},
                    {"gas_leak", 1},       {"power_loss", 1},
                    {"elevator_fault", 1}, {"emergency_button", 1},
                    {"room_temp", 0},      {"humidity", 0}};
#define NTYPES (sizeof ingest_types / sizeof ingest_types[0])
static const char *const areas[] = {"corridor", "lobby", "stairwell", "plant_room"};
/* One incident each (a building of its own), whatever the class correlates
 * by: 4 types, a quarter Level I (smoke: fire, Level I; water_leak and
 * power_loss: Level II; door_forced: security, no level), as issue #18
 * measures. Before it: 6 types, a third Level I (with gas_leak and
 * elevator_fault). */
static const char *const latency_types[] = {"smoke", "water_leak", "door_forced", "power_loss"};
#define NLATENCY_TYPES (sizeof latency_types / sizeof latency_types[0])

static const struct ev_type *ingest_type(long i)
{
    return &ingest_types[mix64((uint64_t)i) % NTYPES];
}

/* Ingest event `i`: a pseudo-random type and one of L places per site
 * (L/10 buildings of 10 floors, 4 units and 4 areas each), so that the
 * first event of a class at a place opens an incident and the following
 * ones join it (each class correlates by its own parts of the place). */
static void ingest_event(const bench *b, long i, int64_t t, char *topic, size_t tlen, char *payload,
                         size_t plen)
{
    uint64_t h = mix64((uint64_t)i);
    const struct ev_type *ty = &ingest_types[h % NTYPES];
    long loc = (long)((h >> 8) % (uint64_t)b->locations), floor = loc % 10 + 1;
    char value[32] = "";

    if (!ty->incident)
        snprintf(value, sizeof value, "\"value\":%ld.5,", 15 + (long)((h >> 32) % 20));
    snprintf(topic, tlen, "%s/B%ld/event/sensor/d%ld", b->prefix, i % b->sites,
             (i / b->sites) % b->devices);
    snprintf(payload, plen,
             "{\"type\":\"%s\",\"id\":\"b-%s-%ld\",\"state\":\"alarm\",%s\"location\":{"
             "\"building\":\"%s-%ld\",\"floor\":\"%ld\",\"unit\":\"%ld%02ld\",\"area\":\"%s\"},"
             "\"data\":{\"t\":%" PRId64 ",\"seq\":%ld}}",
             ty->type, b->tag, i, value, b->tag, loc / 10, floor, floor, (long)((h >> 40) % 4) + 1,
             areas[(h >> 48) % 4], t, i);
}

/* Latency, escalation or ingest --unique event `i`: building TAG-i opens an
 * incident of its own, and a quarter are Level I (two escalations each). */
static void unique_event(const bench *b, long i, int64_t t, char *topic, size_t tlen, char *payload,
                         size_t plen)
{
    snprintf(topic, tlen, "%s/B%ld/event/sensor/d%ld", b->prefix, i % b->sites, i % b->devices);
    snprintf(payload, plen,
             "{\"type\":\"%s\",\"id\":\"l-%s-%ld\",\"state\":\"alarm\",\"location\":{"
             "\"building\":\"%s-%ld\",\"floor\":\"1\"},\"data\":{\"t\":%" PRId64 ",\"seq\":%ld}}",
             b->mode == M_ESCALATION ? "smoke" : latency_types[i % NLATENCY_TYPES], b->tag, i,
             b->tag, i, t, i);
}

static void passthrough_message(long i, int64_t t, char *topic, size_t tlen, char *payload,
                                size_t plen)
{
    snprintf(topic, tlen, "bench/passthrough/%ld", i % 64);
    snprintf(payload, plen,
             "{\"type\":\"smoke\",\"id\":\"p%ld\",\"state\":\"alarm\",\"location\":{\"building\":"
             "\"1\",\"floor\":\"1\"},\"data\":{\"t\":%" PRId64 ",\"seq\":%ld}}",
             i, t, i);
}

/* ---- the receiver (child process) ----------------------------------------- */

static long *incmap_slot(incmap *m, const char *key)
{
    uint64_t h = 1469598103934665603u;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) {
            if (!(m->keys[i] = strdup(key)))
                return NULL;
            return &m->events[i];
        }
        if (!strcmp(m->keys[i], key))
            return &m->events[i];
    }
}

static void on_incident(bench *b, const char *topic, const char *p, int len, int64_t t)
{
    const char *id = strrchr(topic, '/');
    long ev, *slot;

    /* Empty: archived. Another building: an incident of an earlier run. */
    if (!len || !memmem(p, (size_t)len, b->needle, strlen(b->needle)))
        return;
    if ((ev = json_long(p, len, "\"events\":")) < 0)
        return;
    atomic_fetch_add(&b->sh->inc_pubs, 1);
    /* The table holds every incident of the run: at most one per event. */
    if (atomic_load(&b->sh->inc_ids) >= (long)(b->map.cap / 2) ||
        !(slot = incmap_slot(&b->map, id)))
        return;
    if (!*slot)
        atomic_fetch_add(&b->sh->inc_ids, 1);
    if (ev > *slot) {
        long sum = atomic_fetch_add(&b->sh->inc_events, ev - *slot) + (ev - *slot);
        *slot = ev;
        if (sum >= b->expected_incident && !atomic_load(&b->sh->inc_done_ns))
            atomic_store(&b->sh->inc_done_ns, t);
    }
}

/* The daemon's counters: "received" counts every message it took in and
 * applied (accepted, duplicate or rejected alike), so it alone reaches N.
 * The samples before the first publish give the baseline; the run's N were
 * in between the last sample short of them and the first that has them. */
static void on_stats(bench *b, const char *p, int len, int64_t t)
{
    struct shared *sh = b->sh;
    long r = json_long(p, len, "\"received\":");
    int64_t first = atomic_load(&sh->first_ns);

    if (r < 0)
        return;
    if (!first) /* before the first publish: the baseline */
        atomic_store(&sh->st_base, r);
    long base = atomic_load(&sh->st_base) < 0 ? 0 : atomic_load(&sh->st_base);
    atomic_store(&sh->st_received, r);
    atomic_store(&sh->st_accepted, json_long(p, len, "\"accepted\":"));
    atomic_store(&sh->st_rejected, json_long(p, len, "\"rejected\":"));
    atomic_store(&sh->st_duplicates, json_long(p, len, "\"duplicates\":"));
    atomic_store(&sh->st_opened, json_long(p, len, "\"incidents_opened\":"));
    if (first && r - base >= b->n && !atomic_load(&sh->st_done_ns)) {
        atomic_store(&sh->st_after_ns, b->st_prev_ns > first ? b->st_prev_ns : first);
        atomic_store(&sh->st_done_ns, t);
    }
    b->st_prev_ns = t;
    atomic_fetch_add(&sh->st_msgs, 1);
}

static long tagged_seq(const bench *b, const char *p, int len, const char *key)
{
    char k[96];
    snprintf(k, sizeof k, "%s%s-", key, b->tag);
    return json_long(p, len, k);
}

static int on_message(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
    bench *b = ctx;
    int64_t t = now_ns();
    const char *p = m->payload;
    int len = m->payloadlen;
    long seq;
    (void)tlen;

    if (m->retained) /* state from before this run */
        goto done;
    switch (b->mode) {
    case M_PASSTHROUGH: {
        int64_t sent = json_long(p, len, "\"t\":");
        seq = json_long(p, len, "\"seq\":");
        if (seq >= 0 && seq < b->n && sent > 0 && !b->lat_ns[seq]) {
            b->lat_ns[seq] = t - sent + 1;
            atomic_store(&b->sh->last_ns, t);
            atomic_fetch_add(&b->sh->received, 1);
        }
        break;
    }
    case M_INGEST:
        if (strstr(topic, "/incident/"))
            on_incident(b, topic, p, len, t);
        else if (strstr(topic, "/_daemon/"))
            on_stats(b, p, len, t);
        break;
    case M_LATENCY:
        /* The incident each event opened: its first state. */
        if (json_long(p, len, "\"events\":") != 1)
            break;
        seq = tagged_seq(b, p, len, "\"building\":\"");
        if (seq >= 0 && seq < b->n && !b->lat_ns[seq] && b->sent_ns[seq]) {
            b->lat_ns[seq] = t - b->sent_ns[seq] + 1;
            atomic_store(&b->sh->last_ns, t);
            atomic_fetch_add(&b->sh->received, 1);
        }
        break;
    case M_ESCALATION:
        seq = tagged_seq(b, p, len, "building ");
        if (seq >= 0 && seq < b->n && !b->lat_ns[seq]) {
            int64_t due = field_time_ms(p, len, "\"due\":\"");
            b->lat_ns[seq] = (wall_ms() - due) * 1000000 + 1;
            atomic_fetch_add(&b->sh->received, 1);
        }
        break;
    case M_STORED:
        break;
    }
done:
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

/* ---- connections ------------------------------------------------------------ */

static void on_connected(void *ctx, MQTTAsync_successData5 *r)
{
    bench *b = ctx;
    int max = MQTTProperties_getNumericValue(&r->properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM);
    /* Absent: the MQTT 5 default, 65535. */
    atomic_store(&b->receive_max, max > 0 ? max : 65535);
    atomic_store(&b->connected, 1);
}

static void on_connect_failed(void *ctx, MQTTAsync_failureData5 *r)
{
    fprintf(stderr, "sw-bench: connect failed: %s\n", r && r->message ? r->message : "?");
    atomic_store(&((bench *)ctx)->connected, -1);
}

static MQTTAsync connect_client(bench *b, const char *id, int receiver)
{
    MQTTAsync c;
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer5;
    char cid[64];
    int rc;

    co.MQTTVersion = MQTTVERSION_5;
    snprintf(cid, sizeof cid, "sw-bench-%s-%s", id, b->tag);
    if ((rc = MQTTAsync_createWithOptions(&c, b->broker, cid, MQTTCLIENT_PERSISTENCE_NONE, NULL,
                                          &co)))
        die("create", rc);
    if (receiver && (rc = MQTTAsync_setCallbacks(c, b, NULL, on_message, NULL)))
        die("callbacks", rc);
    opts.cleanstart = 1;
    opts.keepAliveInterval = 30;
    opts.onSuccess5 = on_connected;
    opts.onFailure5 = on_connect_failed;
    opts.context = b;
    atomic_store(&b->connected, 0);
    if ((rc = MQTTAsync_connect(c, &opts)))
        die("connect", rc);
    for (int i = 0; i < 1000 && !atomic_load(&b->connected); i++)
        usleep(10000);
    if (atomic_load(&b->connected) != 1) {
        fprintf(stderr, "sw-bench: cannot connect to %s\n", b->broker);
        exit(1);
    }
    return c;
}

static void on_subscribed(void *ctx, MQTTAsync_successData5 *r)
{
    (void)r;
    atomic_store(&((bench *)ctx)->subscribed, 1);
}

static void on_subscribe_failed(void *ctx, MQTTAsync_failureData5 *r)
{
    fprintf(stderr, "sw-bench: subscribe failed: %s\n", r && r->message ? r->message : "?");
    atomic_store(&((bench *)ctx)->subscribed, -1);
}

static int subscribe(bench *b, const char *filter)
{
    MQTTAsync_responseOptions o = MQTTAsync_responseOptions_initializer;
    int rc;

    atomic_store(&b->subscribed, 0);
    /* No retained state from earlier runs at subscribe time: thousands of
     * old incidents would queue ahead of the ones measured. */
    o.subscribeOptions.retainHandling = 2;
    o.onSuccess5 = on_subscribed;
    o.onFailure5 = on_subscribe_failed;
    o.context = b;
    if ((rc = MQTTAsync_subscribe(b->sub, filter, 1, &o)))
        die("subscribe", rc);
    for (int i = 0; i < 1000 && !atomic_load(&b->subscribed); i++)
        usleep(10000);
    return atomic_load(&b->subscribed) == 1 ? 0 : -1;
}

static void receiver(bench *b, pid_t parent)
{
    char filter[2][160];
    int nf = 1;

    switch (b->mode) {
    case M_PASSTHROUGH:
        snprintf(filter[0], sizeof filter[0], "bench/passthrough/#");
        break;
    case M_INGEST:
        snprintf(filter[0], sizeof filter[0], "%s/+/incident/#", b->prefix);
        snprintf(filter[1], sizeof filter[1], "%s/_daemon/+/stats", b->prefix);
        nf = 2;
        b->map.cap = 64;
        while (b->map.cap < 2 * (size_t)b->n + 64)
            b->map.cap *= 2;
        b->map.keys = calloc(b->map.cap, sizeof *b->map.keys);
        b->map.events = calloc(b->map.cap, sizeof *b->map.events);
        if (!b->map.keys || !b->map.events)
            _exit(1);
        break;
    case M_LATENCY:
        snprintf(filter[0], sizeof filter[0], "%s/+/incident/+", b->prefix);
        break;
    default:
        snprintf(filter[0], sizeof filter[0], "%s/+/escalation/supervisor", b->prefix);
        break;
    }
    b->sub = connect_client(b, "sub", 1);
    for (int i = 0; i < nf; i++)
        if (subscribe(b, filter[i]))
            _exit(1);
    atomic_store(&b->sh->ready, 1);
    /* Until the publisher has what it waits for; never past the deadline,
     * nor once the publisher is gone. */
    while (!atomic_load(&b->sh->stop) && getppid() == parent &&
           now_ns() < b->deadline_ns + 5 * (int64_t)1000000000)
        usleep(2000);
    MQTTAsync_disconnect(b->sub, NULL);
    _exit(0);
}

/* ---- the store (ingest --state, stored) ------------------------------------ */

/* Events applied: the entries of the "dedup" database of the daemon's store,
 * read as sitewardctl reads it, -1 while it cannot be read. */
static long store_count(MDB_env **env, const char *path)
{
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat st;
    int rc;

    if (!*env) {
        if (mdb_env_create(env))
            return -1;
        if (mdb_env_set_maxdbs(*env, 16) || mdb_env_open(*env, path, MDB_RDONLY, 0)) {
            mdb_env_close(*env);
            *env = NULL;
            return -1;
        }
    }
    rc = mdb_txn_begin(*env, NULL, MDB_RDONLY, &txn);
    if (rc == MDB_MAP_RESIZED) { /* the daemon grew the map */
        mdb_env_set_mapsize(*env, 0);
        rc = mdb_txn_begin(*env, NULL, MDB_RDONLY, &txn);
    }
    if (rc)
        return -1;
    long n = 0;
    if (!mdb_dbi_open(txn, "dedup", 0, &dbi) && !mdb_stat(txn, dbi, &st))
        n = (long)st.ms_entries;
    mdb_txn_abort(txn);
    return n;
}

static void *store_watch(void *arg)
{
    bench *b = arg;
    char path[512];
    MDB_env *env = NULL;
    long base = -1, n;

    snprintf(path, sizeof path, "%s/main", b->state);
    base = store_count(&env, path);
    atomic_store(&b->watch_ready, 1);
    if (base < 0)
        base = 0;
    while (!atomic_load(&b->sh->stop) && now_ns() < b->deadline_ns) {
        if ((n = store_count(&env, path)) >= 0)
            atomic_store(&b->sh->stored, n - base);
        if (n - base >= b->n) {
            atomic_store(&b->sh->stored_done_ns, now_ns());
            break;
        }
        usleep(2000);
    }
    if (env)
        mdb_env_close(env);
    return NULL;
}

/* ---- the publisher ------------------------------------------------------------- */

static void on_sent(void *ctx, MQTTAsync_successData5 *r)
{
    bench *b = ctx;
    (void)r;
    pthread_mutex_lock(&b->lock);
    b->outstanding--;
    b->acked++;
    b->last_ack_ns = now_ns();
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

static void on_send_failed(void *ctx, MQTTAsync_failureData5 *r)
{
    bench *b = ctx;
    fprintf(stderr, "sw-bench: publish failed: %s\n", r && r->message ? r->message : "?");
    pthread_mutex_lock(&b->lock);
    b->outstanding--;
    b->failed++;
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

static struct timespec deadline_ts(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    return ts;
}

/* Waits until at most `upto` messages are in flight, then counts `add`
 * more: 0, or -1 at the deadline. */
static int wait_outstanding(bench *b, long upto, long add)
{
    struct timespec ts = deadline_ts(b->deadline_ns);
    int rc = 0;
    pthread_mutex_lock(&b->lock);
    while (b->outstanding > upto && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&b->cond, &b->lock, &ts);
    rc = b->outstanding > upto ? -1 : 0;
    if (!rc)
        b->outstanding += add;
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int publish(bench *b, const char *topic, const char *payload)
{
    MQTTAsync_message m = MQTTAsync_message_initializer;
    MQTTAsync_responseOptions o = MQTTAsync_responseOptions_initializer;
    int rc;

    if (wait_outstanding(b, b->inflight - 1, 1)) {
        fprintf(stderr, "sw-bench: timed out waiting for PUBACKs\n");
        return -1;
    }
    m.payload = (void *)payload;
    m.payloadlen = (int)strlen(payload);
    m.qos = 1;
    o.onSuccess5 = on_sent;
    o.onFailure5 = on_send_failed;
    o.context = b;
    if ((rc = MQTTAsync_sendMessage(b->pub, topic, &m, &o))) {
        fprintf(stderr, "sw-bench: publish: %s\n", MQTTAsync_strerror(rc));
        pthread_mutex_lock(&b->lock);
        b->outstanding--;
        pthread_mutex_unlock(&b->lock);
        return -1;
    }
    return 0;
}

/* ---- figures ------------------------------------------------------------------- */

static void figure(bench *b, const char *fmt, ...)
{
    va_list ap;
    char line[1024];

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* --label: the figure's name starts with the label instead of the mode. */
    size_t ml = strlen(mode_names[b->mode]);
    if (b->label && !strncmp(line, mode_names[b->mode], ml)) {
        char tail[1024];
        snprintf(tail, sizeof tail, "%s", line + ml);
        snprintf(line, sizeof line, "%s%s", b->label, tail);
    }
    printf("%s\n", line);
    fflush(stdout);
    if (b->flen + strlen(line) + 2 < sizeof b->figures)
        b->flen +=
            (size_t)snprintf(b->figures + b->flen, sizeof b->figures - b->flen, "%s\n", line);
}

static int cmp64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;
    return (a > c) - (a < c);
}

/* " p50_ms=... p99_ms=... max_ms=..." of the latencies received. */
static void percentiles(const bench *b, char *out, size_t size)
{
    int64_t *v = malloc(sizeof *v * (size_t)b->n);
    long k = 0;

    out[0] = 0;
    if (!v)
        return;
    for (long i = 0; i < b->n; i++)
        if (b->lat_ns[i])
            v[k++] = b->lat_ns[i] - 1;
    qsort(v, (size_t)k, sizeof *v, cmp64);
    if (k)
        snprintf(out, size, " p50_ms=%.3f p99_ms=%.3f max_ms=%.3f", v[k / 2] / 1e6,
                 v[k * 99 / 100] / 1e6, v[k - 1] / 1e6);
    free(v);
}

static double tv_s(struct timeval tv)
{
    return tv.tv_sec + tv.tv_usec / 1e6;
}

static double secs(int64_t from, int64_t to)
{
    return (to - from) / 1e9;
}

static int report(bench *b)
{
    struct shared *sh = b->sh;
    int64_t first = atomic_load(&sh->first_ns);
    char pct[128];
    int complete = 1;

    if (b->mode == M_PASSTHROUGH || b->mode == M_LATENCY || b->mode == M_ESCALATION) {
        long got = atomic_load(&sh->received);
        percentiles(b, pct, sizeof pct);
        complete = got == b->n;
        if (b->mode == M_PASSTHROUGH) {
            double s = secs(first, atomic_load(&sh->last_ns));
            figure(b, "passthrough n=%ld received=%ld inflight=%ld seconds=%.3f msgs_per_s=%.0f%s",
                   b->n, got, b->inflight, s, s > 0 ? got / s : 0.0, pct);
        } else if (b->mode == M_LATENCY) {
            /* The rate kept: received over first publish -> last state. */
            double s = secs(first, atomic_load(&sh->last_ns));
            figure(b, "latency rate=%ld n=%ld received=%ld seconds=%.3f msgs_per_s=%.0f%s", b->rate,
                   b->n, got, s, s > 0 ? got / s : 0.0, pct);
        } else {
            figure(b, "escalation n=%ld received=%ld%s", b->n, got, pct);
        }
    } else {
        const char *src = NULL;
        double applied_s = 0;
        int64_t stored_done = atomic_load(&sh->stored_done_ns);
        int64_t st_done = atomic_load(&sh->st_done_ns), inc_done = atomic_load(&sh->inc_done_ns);
        /* The daemon's ingest: events durable and applied, from the most
         * precise source this run has. */
        if (stored_done) {
            src = "store";
            applied_s = secs(first, stored_done);
        } else if (st_done) {
            src = "stats";
            applied_s = secs(first, st_done);
        } else if (inc_done && b->expected_incident == b->n) {
            src = "incidents";
            applied_s = secs(first, inc_done);
        }
        double ack_s = secs(first, b->last_ack_ns);
        if (b->mode == M_STORED) {
            complete = stored_done != 0;
            figure(b, "stored n=%ld received=%ld seconds=%.3f msgs_per_s=%.0f", b->n,
                   atomic_load(&sh->stored), applied_s, applied_s > 0 ? b->n / applied_s : 0.0);
            return complete ? 0 : 2;
        }
        figure(b,
               "ingest n=%ld sites=%ld devices=%ld locations=%ld inflight=%ld source=%s "
               "seconds=%.3f msgs_per_s=%.0f",
               b->n, b->sites, b->devices, b->locations, b->inflight, src ? src : "none", applied_s,
               applied_s > 0 ? b->n / applied_s : 0.0);
        figure(b, "ingest_puback acked=%ld failed=%ld seconds=%.3f msgs_per_s=%.0f", b->acked,
               b->failed, ack_s, ack_s > 0 ? b->acked / ack_s : 0.0);
        if (b->state)
            figure(b, "ingest_stored applied=%ld seconds=%.3f msgs_per_s=%.0f",
                   atomic_load(&sh->stored), stored_done ? secs(first, stored_done) : 0.0,
                   stored_done ? b->n / secs(first, stored_done) : 0.0);
        if (atomic_load(&sh->st_msgs)) {
            long base = atomic_load(&sh->st_base);
            /* seconds: the first sample with all N; after_seconds: the one before. */
            figure(b,
                   "ingest_stats received=%ld accepted=%ld rejected=%ld duplicates=%ld "
                   "incidents_opened=%ld base=%s%ld after_seconds=%.3f seconds=%.3f "
                   "msgs_per_s=%.0f",
                   atomic_load(&sh->st_received), atomic_load(&sh->st_accepted),
                   atomic_load(&sh->st_rejected), atomic_load(&sh->st_duplicates),
                   atomic_load(&sh->st_opened), base < 0 ? "assumed_" : "", base < 0 ? 0 : base,
                   st_done ? secs(first, atomic_load(&sh->st_after_ns)) : 0.0,
                   st_done ? secs(first, st_done) : 0.0,
                   st_done ? b->n / secs(first, st_done) : 0.0);
        }
        figure(b,
               "ingest_incidents incidents=%ld publications=%ld events=%ld expected=%ld "
               "seconds=%.3f events_per_s=%.0f msgs_per_s=%.0f",
               atomic_load(&sh->inc_ids), atomic_load(&sh->inc_pubs), atomic_load(&sh->inc_events),
               b->expected_incident, inc_done ? secs(first, inc_done) : 0.0,
               inc_done ? b->expected_incident / secs(first, inc_done) : 0.0,
               inc_done ? b->n / secs(first, inc_done) : 0.0);
        /* Against a peer that has no store and no stats (bench/run-peer.sh),
         * every incident state out is the whole measure. */
        complete = (src || inc_done) && b->acked == b->n;
    }
    if (b->dump) {
        FILE *f = fopen(b->dump, "w");
        for (long i = 0; f && i < b->n; i++) /* sequence, send time, latency (ms) */
            fprintf(f, "%ld %.3f %.3f\n", i, (b->sent_ns[i] - first) / 1e6,
                    b->lat_ns[i] ? (b->lat_ns[i] - 1) / 1e6 : -1.0);
        if (f)
            fclose(f);
    }
    return complete ? 0 : 2;
}

static int append_results(bench *b)
{
    char date[32], commit[64] = "unknown";
    time_t now = time(NULL);
    struct tm tm;
    FILE *f;

    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    if (b->commit) {
        snprintf(commit, sizeof commit, "%s", b->commit);
    } else if ((f = popen("git rev-parse --short HEAD 2>/dev/null", "r"))) {
        if (fgets(commit, sizeof commit, f))
            commit[strcspn(commit, "\n")] = 0;
        if (pclose(f) || !commit[0])
            snprintf(commit, sizeof commit, "unknown");
    }
    if (!(f = fopen(b->results, "a"))) {
        fprintf(stderr, "sw-bench: %s: %s\n", b->results, strerror(errno));
        return -1;
    }
    for (char *line = b->figures, *end; (end = strchr(line, '\n')); line = end + 1)
        fprintf(f, "%s commit=%s %.*s\n", date, commit, (int)(end - line), line);
    return fclose(f) ? -1 : 0;
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(
        stderr,
        "usage: sw-bench passthrough|ingest|stored|latency|escalation [options]\n"
        "  -b, --broker URL       broker (tcp://127.0.0.1:1883)\n"
        "  -p, --prefix P         topic prefix (siteward)\n"
        "  -n, -c, --count N      messages (100000; latency: rate x seconds)\n"
        "  -k, --inflight K       QoS 1 messages in flight at most (16)\n"
        "  -S, --sites S          sites B0..B{S-1} (20)\n"
        "  -D, --devices D        devices per site (1000)\n"
        "  -L, --locations L      ingest: places per site (50)\n"
        "  -u, --unique           ingest, stored: every event opens an incident of its own\n"
        "  -r, --rate R           messages/s, paced (latency 1000; others: flat out)\n"
        "  -s, --seconds T        latency: seconds of publishing (10)\n"
        "  -d, --state DIR        ingest, stored: the daemon's state directory\n"
        "  -w, --stats-wait S     ingest: how long to wait for the daemon's stats (11; 0: never)\n"
        "  -t, --timeout S        the whole run ends within S seconds (120, latency: T + 30 at "
        "least)\n"
        "  -o, --output FILE      per message: sequence, send time, latency (ms)\n"
        "  -R, --results FILE     append the figures with the date and the commit\n"
        "  -C, --commit C         the commit to write (git rev-parse --short HEAD)\n"
        "  -l, --label NAME       figures named NAME... instead of the subcommand's name\n");
    exit(64);
}

static long num(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v <= 0)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"broker", required_argument, NULL, 'b'},
                                             {"prefix", required_argument, NULL, 'p'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"inflight", required_argument, NULL, 'k'},
                                             {"sites", required_argument, NULL, 'S'},
                                             {"devices", required_argument, NULL, 'D'},
                                             {"locations", required_argument, NULL, 'L'},
                                             {"rate", required_argument, NULL, 'r'},
                                             {"seconds", required_argument, NULL, 's'},
                                             {"state", required_argument, NULL, 'd'},
                                             {"stats-wait", required_argument, NULL, 'w'},
                                             {"timeout", required_argument, NULL, 't'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"results", required_argument, NULL, 'R'},
                                             {"commit", required_argument, NULL, 'C'},
                                             {"label", required_argument, NULL, 'l'},
                                             {"unique", no_argument, NULL, 'u'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    bench b = {.broker = "tcp://127.0.0.1:1883",
               .prefix = "siteward",
               .n = 100000,
               .inflight = 16,
               .rate = 1000,
               .seconds = 10,
               .sites = 20,
               .devices = 1000,
               .locations = 50,
               .timeout_s = 120,
               .stats_wait_s = 11};
    char topic[256], payload[512];
    pthread_t watcher;
    int opt, watching = 0, timeout_given = 0, mi;

    if (argc < 2)
        usage();
    for (mi = 0; mi < 5 && strcmp(argv[1], mode_names[mi]); mi++)
        ;
    if (mi == 5)
        usage();
    b.mode = (enum mode)mi;
    optind = 2;
    while ((opt = getopt_long(argc, argv, "b:p:n:c:k:S:D:L:r:s:d:w:t:o:R:C:l:uh", longopts,
                              NULL)) != -1) {
        switch (opt) {
        case 'b':
            b.broker = optarg;
            break;
        case 'p':
            b.prefix = optarg;
            break;
        case 'n':
        case 'c':
            b.n = num(optarg);
            break;
        case 'k':
            b.inflight = num(optarg);
            break;
        case 'S':
            b.sites = num(optarg);
            break;
        case 'D':
            b.devices = num(optarg);
            break;
        case 'L':
            b.locations = num(optarg);
            break;
        case 'r':
            b.rate = num(optarg);
            b.paced = 1;
            break;
        case 's':
            b.seconds = num(optarg);
            break;
        case 'd':
            b.state = optarg;
            break;
        case 'w':
            b.stats_wait_s = strcmp(optarg, "0") ? num(optarg) : 0;
            break;
        case 't':
            b.timeout_s = num(optarg);
            timeout_given = 1;
            break;
        case 'o':
            b.dump = optarg;
            break;
        case 'R':
            b.results = optarg;
            break;
        case 'C':
            b.commit = optarg;
            break;
        case 'l':
            b.label = optarg;
            break;
        case 'u':
            b.unique = 1;
            break;
        default:
            usage();
        }
    }
    if (optind < argc || (b.mode == M_STORED && !b.state))
        usage();
    if (b.mode == M_LATENCY) {
        b.paced = 1;
        b.n = b.rate * b.seconds;
        /* Publishing alone takes T seconds: the default timeout makes room. */
        if (!timeout_given && b.timeout_s < b.seconds + 30)
            b.timeout_s = b.seconds + 30;
    }
    b.deadline_ns = now_ns() + b.timeout_s * (int64_t)1000000000;
    /* A mark of this run in every place: incidents of earlier runs (updated
     * by their timers while this one runs) are never taken for this run's. */
    snprintf(b.tag, sizeof b.tag, "r%" PRIx64,
             (mix64((uint64_t)wall_ms() ^ (uint64_t)getpid() << 40) & 0xffffff));
    snprintf(b.needle, sizeof b.needle, "\"building\":\"%s-", b.tag);
    for (long i = 0; b.mode == M_INGEST && i < b.n; i++)
        b.expected_incident += b.unique || ingest_type(i)->incident;

    pthread_mutex_init(&b.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b.cond, &ca);
    size_t bytes = sizeof *b.sh + 2 * sizeof(int64_t) * (size_t)b.n;
    char *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        perror("sw-bench: mmap");
        return 1;
    }
    b.sh = (struct shared *)mem;
    b.sent_ns = (int64_t *)(mem + sizeof *b.sh);
    b.lat_ns = b.sent_ns + b.n;
    atomic_store(&b.sh->st_base, -1);

    /* The receiver first (Paho's threads start with the first client, so
     * fork before any), subscribed before anything is published. */
    pid_t child = -1, parent = getpid();
    if (b.mode != M_STORED) {
        if ((child = fork()) < 0) {
            perror("sw-bench: fork");
            return 1;
        }
        if (child == 0)
            receiver(&b, parent);
        for (int i = 0; i < 2000 && !atomic_load(&b.sh->ready); i++) {
            if (waitpid(child, NULL, WNOHANG) == child) {
                fprintf(stderr, "sw-bench: the subscriber failed\n");
                return 1;
            }
            usleep(10000);
        }
    }
    if (b.state) {
        if (pthread_create(&watcher, NULL, store_watch, &b))
            return 1;
        watching = 1;
        while (!atomic_load(&b.watch_ready))
            usleep(1000);
    }
    b.pub = connect_client(&b, "pub", 0);
    if (b.inflight > atomic_load(&b.receive_max))
        b.inflight = atomic_load(&b.receive_max);
    /* The daemon's counters run from its start: a sample before the first
     * publish is the baseline. */
    int64_t until = now_ns() + b.stats_wait_s * (int64_t)1000000000;
    while (b.mode == M_INGEST && !atomic_load(&b.sh->st_msgs) && now_ns() < until)
        usleep(2000);

    /* Wake-ups on time: the default timer slack (50 us) is a quarter of
     * the interval at 5,000/s. */
    prctl(PR_SET_TIMERSLACK, 1UL);
    int64_t first = now_ns();
    /* latency always paces; passthrough and escalation when a rate is given. */
    int64_t interval =
        b.paced && b.mode != M_INGEST && b.mode != M_STORED ? 1000000000 / b.rate : 0;
    atomic_store(&b.sh->first_ns, first);
    for (long i = 0; i < b.n; i++) {
        if (interval) {
            /* Paced on the monotonic clock, not in bursts, and asleep until
             * then: spinning between sends at 5,000/s (an interval of
             * 200 us) took what CPU it could from what it measures, 0.4 of
             * a core on a loaded machine and a whole one on an idle one. */
            struct timespec at = deadline_ts(first + i * interval);
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
                ;
        }
        int64_t t = now_ns();
        if (b.mode == M_PASSTHROUGH)
            passthrough_message(i, t, topic, sizeof topic, payload, sizeof payload);
        else if ((b.mode == M_INGEST || b.mode == M_STORED) && !b.unique)
            ingest_event(&b, i, t, topic, sizeof topic, payload, sizeof payload);
        else
            unique_event(&b, i, t, topic, sizeof topic, payload, sizeof payload);
        b.sent_ns[i] = t;
        if (publish(&b, topic, payload))
            break;
    }
    /* Every PUBACK, then what the mode waits for. */
    wait_outstanding(&b, 0, 0);
    struct shared *sh = b.sh;
    for (;;) {
        int64_t t = now_ns();
        int done;
        if (t >= b.deadline_ns)
            break;
        switch (b.mode) {
        case M_INGEST:
            done = atomic_load(&sh->inc_events) >= b.expected_incident &&
                   (!b.state || atomic_load(&sh->stored_done_ns));
            if (done && !atomic_load(&sh->st_done_ns)) {
                /* The stats come every interval: wait for the one that
                 * counts all N, or for a first one only briefly. */
                int64_t since = t - atomic_load(&sh->inc_done_ns);
                int64_t wait = atomic_load(&sh->st_msgs) || b.stats_wait_s < 2 ? b.stats_wait_s : 2;
                done = since > wait * (int64_t)1000000000;
            }
            break;
        case M_STORED:
            done = atomic_load(&sh->stored_done_ns) != 0;
            break;
        default:
            done = atomic_load(&sh->received) >= b.n;
        }
        if (done)
            break;
        if (child > 0 && waitpid(child, NULL, WNOHANG) == child) {
            fprintf(stderr, "sw-bench: the subscriber ended early\n");
            child = -1;
            break;
        }
        usleep(2000);
    }
    atomic_store(&sh->stop, 1);
    if (watching)
        pthread_join(watcher, NULL);
    int rc = report(&b);
    MQTTAsync_disconnect(b.pub, NULL);
    for (int i = 0; child > 0 && i < 500; i++) {
        if (waitpid(child, NULL, WNOHANG) == child)
            child = -1;
        else
            usleep(10000);
    }
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    /* The load generator's own CPU time, publisher and (waited for)
     * receiver together: on a shared machine it comes out of what the
     * broker and the daemon could have had. */
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    double user = tv_s(self.ru_utime) + tv_s(kids.ru_utime);
    double sys = tv_s(self.ru_stime) + tv_s(kids.ru_stime);
    figure(&b, "%s_loadgen user_s=%.2f sys_s=%.2f cpu_s=%.2f cpu_us_per_event=%.1f",
           mode_names[b.mode], user, sys, user + sys, b.n ? (user + sys) / b.n * 1e6 : 0.0);
    if (b.results && append_results(&b))
        rc = 1;
    return rc;
}
