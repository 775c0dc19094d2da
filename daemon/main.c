/*
 * siteward: the daemon. Wires the configuration, policy, plugins, store,
 * inbox, engine and MQTT client to one libuv loop that owns all state.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <uv.h>

#include "config.h"
#include "engine.h"
#include "inbox.h"
#include "gauges.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "mqtt.h"
#include "notify.h"
#include "plugins.h"
#include "policy.h"
#include "store.h"
#include "timeutil.h"

/* sysexits.h */
#define SW_EX_USAGE     64
#define SW_EX_SOFTWARE  70
#define SW_EX_CANTCREAT 73
#define SW_EX_CONFIG    78

#define SW_BATCH_MAX      512 /* messages per write transaction */
#define SW_DRAIN_SLICE    8   /* batches per turn of the loop, so timers run between */
#define SW_TRIM_EVERY     256 /* applied messages between inbox trims */
#define SW_SYNC_MS        1000
#define SW_RETENTION_MS   10000 /* between retention steps */
#define SW_RETENTION_STEP 500   /* incidents examined per step */

#ifndef SW_DEFAULT_CONFIG
#define SW_DEFAULT_CONFIG "/etc/siteward/siteward.json"
#endif

typedef struct sw_daemon {
    uv_loop_t *loop;
    /* The configuration, policy and plugins in force. The engine borrows
     * them; a reload (sw__reload) swaps all three between batches, on this
     * thread, and frees the old ones at once: nothing else keeps pointers
     * into them across batches. */
    sw_config *cfg;
    sw_policy *policy;
    sw_plugins *plugins;
    /* The configuration read at start. The MQTT client reads its broker,
     * credentials, prefix and instance from its own threads, so it keeps
     * this one until exit; those settings need a restart to change. */
    sw_config boot_cfg;
    const char *config_path;
    sw_config_overrides ov;
    sw_metrics *metrics;
    sw_metrics_http http;
    sw_store store;
    sw_inbox inbox;
    sw_engine engine;
    sw_mqtt mqtt;
    int mqtt_started;
    int inbox_open;
    uv_timer_t stats_timer, sync_timer, watchdog_timer, retry_timer, deadline_timer,
        retention_timer;
    uv_signal_t sigterm, sigint, sighup;
    uv_idle_t drain_idle;          /* the next slice of a backlog */
    sw_inmsg *batch[SW_BATCH_MAX]; /* taken from the MQTT side, not yet applied */
    int nbatch;
    uint64_t trimmed_seq;
    int ready;
    int stopping;
    int syncing;
    uv_work_t sync_work;
    char stats_topic[192];
} sw_daemon;

static void sw__usage(FILE *f)
{
    fprintf(f, "usage: siteward [--config FILE] [--policy FILE] [--broker URL] [--state DIR]\n"
               "                [--prefix P] [--instance NAME] [--clock-scale F]\n");
}

static void sw__retry_cb(uv_timer_t *t);
static void sw__rearm(sw_daemon *d);

static int64_t sw__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sw__trim(sw_daemon *d, int force)
{
    uint64_t applied = d->engine.applied_seq;
    if (applied > d->trimmed_seq && (force || applied - d->trimmed_seq >= SW_TRIM_EVERY) &&
        !sw_inbox_trim(&d->inbox, applied))
        d->trimmed_seq = applied;
}

static void sw__drain(sw_daemon *d);

static void sw__drain_idle_cb(uv_idle_t *h)
{
    uv_idle_stop(h);
    sw__drain(h->data);
}

/* Hand over what is owed to the broker as far as the queue takes it. */
static void sw__pump(sw_daemon *d)
{
    int rc = sw_engine_pump(&d->engine);
    if (rc)
        sw_log(SW_LOG_WARNING, "outbox: %s; trying again with the next batch", sw_strerror(rc));
}

/* Apply what the MQTT side holds, SW_BATCH_MAX messages per transaction and
 * SW_DRAIN_SLICE transactions per turn of the loop; a backlog goes on in the
 * next turn, after timers and I/O. On a storage failure the batch stays
 * (its messages are in the inbox too) and a retry is scheduled. */
static void sw__drain(sw_daemon *d)
{
    for (int slice = 0; slice < SW_DRAIN_SLICE; slice++) {
        if (!d->nbatch && !(d->nbatch = sw_mqtt_take(&d->mqtt, d->batch, SW_BATCH_MAX)))
            break;
        int was_faulty = d->engine.storage_fault;
        int rc = sw_engine_apply(&d->engine, d->batch, d->nbatch);
        if (rc) {
            /* The first failure, then once a minute (a full disk retries every second). */
            if (!was_faulty || d->engine.stats.storage_errors % 60 == 0)
                sw_log(SW_LOG_ERR,
                       "cannot apply %d messages: %s; they wait in the inbox, retrying every 1 s",
                       d->nbatch, sw_strerror(rc));
            uv_timer_start(&d->retry_timer, sw__retry_cb, 1000, 0);
            return;
        }
        if (was_faulty)
            sw_log(SW_LOG_NOTICE, "store: writing again after %llu failed attempts",
                   (unsigned long long)d->engine.stats.storage_errors);
        int full = d->nbatch == SW_BATCH_MAX;
        for (int i = 0; i < d->nbatch; i++)
            free(d->batch[i]);
        d->nbatch = 0;
        if (slice == SW_DRAIN_SLICE - 1 && full)
            uv_idle_start(&d->drain_idle, sw__drain_idle_cb);
    }
    sw__trim(d, 0);
    sw__pump(d);
    sw__rearm(d);
}

static void sw__deadline_cb(uv_timer_t *t);

/* One libuv timer, on the earliest deadline in the store. */
static void sw__arm_at(sw_daemon *d, int64_t next)
{
    if (!next || d->stopping) {
        uv_timer_stop(&d->deadline_timer);
        return;
    }
    int64_t delay = next - sw__now_ms();
    uv_timer_start(&d->deadline_timer, sw__deadline_cb, delay > 0 ? (uint64_t)delay : 0, 0);
}

static void sw__rearm(sw_daemon *d)
{
    int64_t next;
    if (!sw_engine_next_deadline(&d->engine, &next))
        sw__arm_at(d, next);
}

static void sw__deadline_cb(uv_timer_t *t)
{
    sw_daemon *d = t->data;
    int64_t next;
    int rc = sw_engine_tick(&d->engine, sw__now_ms(), &next);
    if (rc) {
        sw_log(SW_LOG_ERR, "deadlines: %s; retrying in 1 s", sw_strerror(rc));
        uv_timer_start(&d->deadline_timer, sw__deadline_cb, 1000, 0);
        return;
    }
    sw__arm_at(d, next);
}

static void sw__retry_cb(uv_timer_t *t)
{
    sw__drain(t->data);
}

static void sw__on_messages(void *ctx)
{
    sw_daemon *d = ctx;
    if (!uv_is_active((uv_handle_t *)&d->retry_timer) &&
        !uv_is_active((uv_handle_t *)&d->drain_idle))
        sw__drain(d);
}

static void sw__on_outbox(void *ctx)
{
    sw_daemon *d = ctx;
    uint64_t ids[256];
    size_t n;
    while ((n = sw_mqtt_take_acked(&d->mqtt, ids, 256)))
        sw_engine_outbox_acked(&d->engine, ids, n);
    while ((n = sw_mqtt_take_failed(&d->mqtt, ids, 256)))
        sw_engine_outbox_failed(&d->engine, ids, n);
    if (sw_mqtt_take_lost_states(&d->mqtt))
        sw_engine_states_lost(&d->engine);
    /* The next batch deletes the acknowledged entries in its own
     * transaction; with no messages waiting, the pump after it does. */
    sw__on_messages(d);
}

static void sw__on_subscribed(void *ctx)
{
    sw_daemon *d = ctx;
    sw_log(SW_LOG_INFO, "subscribed; online as %s", d->stats_topic);
    if (!d->ready) {
        d->ready = 1;
        sw_notify("READY=1\nSTATUS=subscribed and processing");
    }
}

static void sw__on_lost(void *ctx)
{
    (void)ctx;
    sw_notify("STATUS=broker connection lost; reconnecting");
}

static void sw__close_cb(uv_handle_t *h)
{
    (void)h;
}

static void sw__on_outbox(void *ctx);

static void sw__on_stopped(void *ctx)
{
    sw_daemon *d = ctx;
    /* Acknowledged entries deleted now are not sent again after the start. */
    sw__on_outbox(d);
    uv_close((uv_handle_t *)&d->stats_timer, sw__close_cb);
    uv_close((uv_handle_t *)&d->sync_timer, sw__close_cb);
    uv_close((uv_handle_t *)&d->watchdog_timer, sw__close_cb);
    uv_close((uv_handle_t *)&d->retry_timer, sw__close_cb);
    uv_close((uv_handle_t *)&d->deadline_timer, sw__close_cb);
    uv_close((uv_handle_t *)&d->retention_timer, sw__close_cb);
    uv_close((uv_handle_t *)&d->drain_idle, sw__close_cb);
    uv_close((uv_handle_t *)&d->sigterm, sw__close_cb);
    uv_close((uv_handle_t *)&d->sigint, sw__close_cb);
    uv_close((uv_handle_t *)&d->sighup, sw__close_cb);
    sw_metrics_http_close(&d->http);
    sw_mqtt_close(&d->mqtt);
}

static void sw__on_signal(uv_signal_t *s, int signum)
{
    sw_daemon *d = s->data;
    if (d->stopping)
        return;
    d->stopping = 1;
    sw_log(SW_LOG_NOTICE, "signal %d: stopping", signum);
    sw_notify("STOPPING=1");
    sw_mqtt_stop(&d->mqtt);
}

/* Stored by the receive thread and not yet applied by the loop. */
static uint64_t sw__backlog(sw_daemon *d)
{
    uint64_t last = sw_inbox_last(&d->inbox);
    return last > d->engine.applied_seq ? last - d->engine.applied_seq : 0;
}

static void sw__stats_cb(uv_timer_t *t)
{
    sw_daemon *d = t->data;
    char *json =
        sw_engine_stats_json(&d->engine, sw__backlog(d), atomic_load(&d->mqtt.store_errors),
                             atomic_load(&d->mqtt.inbox_fault));
    if (json) {
        /* Periodic: one that finds no room is simply skipped. */
        sw_publication p = {.topic = d->stats_topic, .payload = json, .len = strlen(json)};
        sw_mqtt_publish(&d->mqtt, &p, 0);
        free(json);
    }
}

/* Process durability: commits are not flushed one by one; the page cache
 * already survives kill -9, and this bounds what an OS crash loses. */
static void sw__sync_work(uv_work_t *w)
{
    sw_daemon *d = w->data;
    /* fdatasync needs no LMDB lock: it may run while the loop commits. */
    sw_store_sync(&d->store);
    sw_inbox_sync(&d->inbox);
}

static void sw__sync_done(uv_work_t *w, int status)
{
    sw_daemon *d = w->data;
    (void)status;
    d->syncing = 0;
}

static void sw__sync_cb(uv_timer_t *t)
{
    sw_daemon *d = t->data;
    sw__trim(d, 1);
    /* Everything committed so far has been published and acknowledged. */
    if (sw_mqtt_idle(&d->mqtt))
        sw_engine_published(&d->engine);
    sw_store_check_readers(&d->store);
    sw_log_flush();
    /* A flush can take hundreds of milliseconds on a busy disk: never on
     * the loop thread, and never two at once. */
    if (!d->syncing && !d->stopping) {
        d->syncing = 1;
        d->sync_work.data = d;
        if (uv_queue_work(d->loop, &d->sync_work, sw__sync_work, sw__sync_done))
            d->syncing = 0;
    }
}

/* Retention in small steps, so a large purge never holds up messages. */
static void sw__retention_cb(uv_timer_t *t)
{
    sw_daemon *d = t->data;
    int purged;
    if (sw_engine_purge(&d->engine, sw__now_ms(), SW_RETENTION_STEP, &purged))
        sw_log(SW_LOG_WARNING, "retention: a step failed; trying again later");
    else if (purged)
        sw__pump(d);
}

/* Sent from the loop, so a stuck loop stops it and systemd restarts us. */
static void sw__watchdog_cb(uv_timer_t *t)
{
    (void)t;
    sw_notify("WATCHDOG=1");
}

static void sw__warn_calendars(const sw_config *cfg)
{
    int64_t today = (int64_t)time(NULL) * 1000;
    for (int i = 0; i < cfg->nsites; i++) {
        const sw_site_conf *s = &cfg->sites[i];
        int64_t local = today + (int64_t)s->tz_offset_s * 1000;
        if (!sw_calendar_covers(&s->calendar, local / SW_MS_PER_DAY))
            sw_log(SW_LOG_WARNING,
                   "site %s: calendar %s (%s) does not cover today; working-day limits fall "
                   "back to weekends only until a calendar for this year is added",
                   s->name, s->calendar.name, s->calendar_path);
    }
}

static int sw__parse_args(int argc, char **argv, const char **config, sw_config_overrides *ov)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"policy", required_argument, NULL, 'p'},
                                         {"broker", required_argument, NULL, 'b'},
                                         {"state", required_argument, NULL, 's'},
                                         {"prefix", required_argument, NULL, 'P'},
                                         {"instance", required_argument, NULL, 'i'},
                                         {"clock-scale", required_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    char *end;

    while ((c = getopt_long(argc, argv, "c:p:b:s:P:i:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            *config = optarg;
            break;
        case 'p':
            ov->policy = optarg;
            break;
        case 'b':
            ov->broker = optarg;
            break;
        case 's':
            ov->state_dir = optarg;
            break;
        case 'P':
            ov->prefix = optarg;
            break;
        case 'i':
            ov->instance = optarg;
            break;
        case 'k':
            errno = 0;
            ov->clock_scale = strtod(optarg, &end);
            if (errno || *end || !(ov->clock_scale > 0 && ov->clock_scale <= 1e6)) {
                fprintf(stderr, "siteward: --clock-scale: '%s' is not a number in (0, 1e6]\n",
                        optarg);
                return SW_EX_USAGE;
            }
            break;
        case 'h':
            sw__usage(stdout);
            exit(0);
        default:
            sw__usage(stderr);
            return SW_EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "siteward: unexpected argument '%s'\n", argv[optind]);
        sw__usage(stderr);
        return SW_EX_USAGE;
    }
    return 0;
}

/* How each durability mode writes the inbox (docs/storage.md, Durability):
 * the shared map keeps an append at about 1 us of CPU instead of 9
 * (sw-bench-inbox), at the price of a file an OS crash may leave unreadable
 * in process mode (sw_inbox_open() then sets it aside). */
static int sw__inbox_flags(const sw_config *cfg)
{
    return cfg->durability == SW_DURABLE_PROCESS ? SW_INBOX_NOSYNC | SW_INBOX_WRITEMAP
                                                 : SW_INBOX_WRITEMAP;
}

static int sw__open_state(sw_daemon *d)
{
    int nosync = d->cfg->durability == SW_DURABLE_PROCESS;
    if (mkdir(d->cfg->state_dir, 0750) && errno != EEXIST) {
        sw_log(SW_LOG_ERR, "state directory %s: %s", d->cfg->state_dir, strerror(errno));
        return SW_ESTORE;
    }
    if (sw_store_open(&d->store, d->cfg->state_dir, 0, nosync))
        return SW_ESTORE;
    return 0;
}

static char *sw__metrics_render(void *ctx, size_t *len)
{
    sw_daemon *d = ctx;
    const sw_stats *s = &d->engine.stats;
    sw_metrics_now now = {
        .received = s->received,
        .accepted = s->accepted,
        .duplicates = s->duplicates,
        .opened = s->opened,
        .escalations = s->escalations,
        .purged = s->purged,
        .calendar_uncovered = s->calendar_uncovered,
        .map_used = sw_store_used(&d->store),
        .map_size = d->store.mapsize,
        .inbox_backlog = sw__backlog(d),
    };
    MDB_txn *txn;
    if (!sw_store_begin(&d->store, 0, &txn)) {
        now.timers_armed = sw_store_count(&d->store, txn, SW_DB_DEADLINES);
        mdb_txn_abort(txn);
    }
    return sw_metrics_render(d->metrics, &now, len);
}

/* A setting a reload cannot change: the running value is kept and the
 * change reported. Returns 1 if it differed. */
static int sw__keep_str(const char *path, const char *key, char *now, size_t len, const char *was)
{
    if (!strcmp(now, was))
        return 0;
    sw_log(SW_LOG_WARNING, "%s: key '%s': changed to \"%s\"; needs restart, keeping \"%s\"", path,
           key, now, was);
    snprintf(now, len, "%s", was);
    return 1;
}

static int sw__restart_only(sw_config *n, const sw_config *o)
{
    int k = 0;
    k += sw__keep_str(n->path, "broker", n->broker, sizeof n->broker, o->broker);
    k += sw__keep_str(n->path, "username", n->username, sizeof n->username, o->username);
    k += sw__keep_str(n->path, "prefix", n->prefix, sizeof n->prefix, o->prefix);
    k += sw__keep_str(n->path, "instance", n->instance, sizeof n->instance, o->instance);
    k += sw__keep_str(n->path, "state_dir", n->state_dir, sizeof n->state_dir, o->state_dir);
    k += sw__keep_str(n->path, "metrics.listen", n->metrics_listen, sizeof n->metrics_listen,
                      o->metrics_listen);
    if (strcmp(n->password, o->password)) {
        sw_log(SW_LOG_WARNING, "%s: key 'password_file': the password changed; needs restart",
               n->path);
        memcpy(n->password, o->password, sizeof n->password);
        k++;
    }
    if (n->queue_limit != o->queue_limit) {
        sw_log(SW_LOG_WARNING, "%s: key 'memory_queue_mb': changed; needs restart, keeping %zu",
               n->path, o->queue_limit >> 20);
        n->queue_limit = o->queue_limit;
        k++;
    }
    if (n->durability != o->durability) {
        sw_log(SW_LOG_WARNING, "%s: key 'durability': changed; needs restart, keeping \"%s\"",
               n->path, o->durability == SW_DURABLE_POWER ? "power" : "process");
        n->durability = o->durability;
        k++;
    }
    return k;
}

static void sw__notify_reloading(void)
{
    struct timespec ts;
    char msg[80];
    clock_gettime(CLOCK_MONOTONIC, &ts);
    /* systemd >= 253 wants the time with RELOADING=1; older ones ignore it. */
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
    sw_notify(msg);
}

/*
 * SIGHUP: read the configuration and the policy again, load the plugins
 * with them, and only when all of that succeeded swap them in. This runs
 * on the loop thread between batches, so no batch holds a pointer into the
 * old ones; the broker connection, the inbox and the deadlines in the
 * store are untouched. A bad file is refused (its loader has logged file,
 * key and problem) and the old configuration stays in force.
 */
static void sw__reload(sw_daemon *d)
{
    sw_config *cfg = calloc(1, sizeof *cfg);
    sw_policy *pol = calloc(1, sizeof *pol);
    sw_plugins *pl = NULL;
    const char *bad = NULL;
    int level = sw_log_get_level(), kept, changed;

    sw__notify_reloading();
    sw_log(SW_LOG_NOTICE, "reload: reading %s", d->config_path);
    if (!cfg || !pol)
        bad = "memory";
    else if (sw_config_load(cfg, d->config_path, &d->ov))
        bad = "the configuration";
    else if (sw_policy_load(pol, cfg->policy_path))
        bad = "the policy";
    else if (sw_plugins_load(&pl, cfg, pol))
        bad = "the plugins' configuration";
    if (bad) {
        sw_log_set_level(level);
        if (pol)
            sw_policy_free(pol);
        if (cfg)
            sw_config_free(cfg);
        free(pol);
        free(cfg);
        sw_metrics_reloaded(d->metrics, 0);
        sw_log(SW_LOG_ERR,
               "reload refused: %s has an error (logged above); the configuration, policy %s "
               "and plugins in force are unchanged",
               bad, d->policy->name);
        sw_notify("READY=1\nSTATUS=reload refused; the previous configuration is in force");
        return;
    }
    kept = sw__restart_only(cfg, d->cfg);

    sw_config *old_cfg = d->cfg;
    sw_policy *old_pol = d->policy;
    sw_plugins *old_pl = d->plugins;
    int64_t old_stats = old_cfg->stats_interval_ms;
    d->cfg = cfg;
    d->engine.cfg = cfg;
    d->policy = pol;
    d->engine.policy = pol;
    d->plugins = d->engine.plugins = pl;
    /* The old plugins borrow the old policy and config: unload them first. */
    sw_plugins_unload(old_pl);
    sw_policy_free(old_pol);
    free(old_pol);
    if (old_cfg != &d->boot_cfg) {
        sw_config_free(old_cfg);
        free(old_cfg);
    }
    if (cfg->stats_interval_ms != old_stats)
        uv_timer_start(&d->stats_timer, sw__stats_cb, (uint64_t)cfg->stats_interval_ms,
                       (uint64_t)cfg->stats_interval_ms);
    sw__warn_calendars(cfg);
    if (sw_engine_reapply(&d->engine, &changed))
        changed = -1;
    sw__rearm(d);
    sw_metrics_reloaded(d->metrics, 1);
    sw_log(SW_LOG_NOTICE,
           "reloaded: policy %s (%s); %d setting(s) need a restart; %d open incident(s) given "
           "the new limits",
           pol->name, cfg->policy_path, kept, changed);
    sw_notify("READY=1\nSTATUS=reloaded; subscribed and processing");
}

static void sw__on_sighup(uv_signal_t *s, int signum)
{
    sw_daemon *d = s->data;
    (void)signum;
    if (!d->stopping)
        sw__reload(d);
}

static void sw__free_conf(sw_daemon *d)
{
    sw_plugins_unload(d->plugins);
    d->plugins = NULL;
    if (d->policy)
        sw_policy_free(d->policy);
    free(d->policy);
    d->policy = NULL;
    if (d->cfg != &d->boot_cfg) {
        sw_config_free(d->cfg);
        free(d->cfg);
    }
    sw_config_free(&d->boot_cfg);
    sw_metrics_free(d->metrics);
}

int main(int argc, char **argv)
{
    static sw_daemon daemon;
    sw_daemon *d = &daemon;
    int rc;

    d->config_path = SW_DEFAULT_CONFIG;
    if ((rc = sw__parse_args(argc, argv, &d->config_path, &d->ov)))
        return rc;
    signal(SIGPIPE, SIG_IGN);
    /* Until the loop handles it, a reload request must not end the process
     * (the configuration is being read anyway). */
    signal(SIGHUP, SIG_IGN);
    d->cfg = &d->boot_cfg;
    if (!(d->policy = calloc(1, sizeof *d->policy)) || !(d->metrics = sw_metrics_new())) {
        sw_log(SW_LOG_ERR, "out of memory");
        sw__free_conf(d);
        return SW_EX_SOFTWARE;
    }
    if (sw_config_load(d->cfg, d->config_path, &d->ov) ||
        sw_policy_load(d->policy, d->cfg->policy_path) ||
        sw_plugins_load(&d->plugins, d->cfg, d->policy)) {
        sw__free_conf(d);
        return SW_EX_CONFIG;
    }
    sw__warn_calendars(d->cfg);
    if (sw__open_state(d)) {
        sw__free_conf(d);
        return SW_EX_CANTCREAT;
    }
    sw_log(SW_LOG_INFO, "siteward %s: instance %s, policy %s (%s), state %s, durability %s%s",
           SW_VERSION, d->cfg->instance, d->policy->name, d->cfg->policy_path, d->cfg->state_dir,
           d->cfg->durability == SW_DURABLE_POWER ? "power" : "process",
           d->cfg->clock_scale != 1.0 ? ", clock scaled" : "");

    d->loop = uv_default_loop();
    /* Prefix and instance are bounded by the config (63 and 64 bytes). */
    if (snprintf(d->stats_topic, sizeof d->stats_topic, "%s/_daemon/%s/stats", d->cfg->prefix,
                 d->cfg->instance) >= (int)sizeof d->stats_topic) {
        rc = SW_EX_CONFIG;
        goto out;
    }
    sw_publisher pub = {sw_mqtt_publish, &d->mqtt};
    if (sw_engine_init(&d->engine, d->cfg, d->policy, &d->store, d->plugins, pub)) {
        rc = SW_EX_SOFTWARE;
        goto out;
    }
    /* Numbered above the store's mark (inbox.h). */
    if (sw_inbox_open(&d->inbox, d->cfg->state_dir, sw__inbox_flags(d->cfg),
                      d->engine.applied_seq)) {
        rc = SW_EX_CANTCREAT;
        goto out;
    }
    d->inbox_open = 1;
    d->trimmed_seq = d->engine.applied_seq;
    /* Read before the first batch, then changed by each batch. */
    if (!sw_gauges_load(d->metrics, &d->store))
        d->engine.metrics = d->metrics;
    if (d->cfg->metrics_listen[0] &&
        sw_metrics_http_start(&d->http, d->loop, d->cfg->metrics_listen, d->cfg->path,
                              sw__metrics_render, d)) {
        rc = SW_EX_CONFIG;
        goto out;
    }

    uv_timer_init(d->loop, &d->retry_timer);
    d->retry_timer.data = d;
    uv_idle_init(d->loop, &d->drain_idle);
    d->drain_idle.data = d;
    uv_timer_init(d->loop, &d->deadline_timer);
    d->deadline_timer.data = d;
    uv_timer_init(d->loop, &d->retention_timer);
    d->retention_timer.data = d;
    uv_timer_init(d->loop, &d->stats_timer);
    d->stats_timer.data = d;
    uv_timer_init(d->loop, &d->sync_timer);
    d->sync_timer.data = d;
    uv_timer_init(d->loop, &d->watchdog_timer);
    d->watchdog_timer.data = d;
    uv_signal_init(d->loop, &d->sigterm);
    d->sigterm.data = d;
    uv_signal_init(d->loop, &d->sigint);
    d->sigint.data = d;
    uv_signal_init(d->loop, &d->sighup);
    d->sighup.data = d;

    sw_mqtt_handlers h = {sw__on_messages, sw__on_outbox,  sw__on_subscribed,
                          sw__on_lost,     sw__on_stopped, d};
    uint64_t backlog = sw__backlog(d);
    if (backlog)
        sw_log(SW_LOG_NOTICE, "inbox: %llu messages received before the restart come first",
               (unsigned long long)backlog);
    /* What the inbox holds past the store's mark comes first, read back in
     * order (mqtt.h); what arrives meanwhile waits behind it. */
    if (sw_mqtt_start(&d->mqtt, d->loop, &d->boot_cfg, &d->inbox, d->engine.applied_seq, h)) {
        rc = SW_EX_CONFIG;
        goto out;
    }
    d->mqtt_started = 1;
    /* Applies the backlog and hands over everything owed to the broker
     * (escalations, replies, states a crash may have cut off). */
    sw__drain(d);
    /* The first tick runs at once: it arms the rounds of expected events. */
    uv_timer_start(&d->deadline_timer, sw__deadline_cb, 0, 0);

    uv_timer_start(&d->stats_timer, sw__stats_cb, (uint64_t)d->cfg->stats_interval_ms,
                   (uint64_t)d->cfg->stats_interval_ms);
    uv_timer_start(&d->sync_timer, sw__sync_cb, SW_SYNC_MS, SW_SYNC_MS);
    uv_timer_start(&d->retention_timer, sw__retention_cb, SW_RETENTION_MS, SW_RETENTION_MS);
    uint64_t wd = sw_notify_watchdog_ms();
    if (wd)
        uv_timer_start(&d->watchdog_timer, sw__watchdog_cb, wd / 2, wd / 2);
    uv_signal_start(&d->sigterm, sw__on_signal, SIGTERM);
    uv_signal_start(&d->sigint, sw__on_signal, SIGINT);
    uv_signal_start(&d->sighup, sw__on_sighup, SIGHUP);

    uv_run(d->loop, UV_RUN_DEFAULT);
    rc = sw_mqtt_refused(&d->mqtt) ? SW_EX_CONFIG : 0;
out:
    if (!d->mqtt_started)
        sw_metrics_http_close(&d->http);
    uv_run(d->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(d->loop))
        sw_log(SW_LOG_WARNING, "loop closed with handles still open");
    for (int i = 0; i < d->nbatch; i++)
        free(d->batch[i]);
    if (d->inbox_open) {
        sw__trim(d, 1);
        sw_inbox_close(&d->inbox);
    }
    sw_engine_free(&d->engine);
    sw_store_close(&d->store);
    sw__free_conf(d);
    if (!rc)
        sw_log(SW_LOG_NOTICE, "stopped");
    return rc;
}
