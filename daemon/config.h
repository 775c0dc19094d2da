/*
 * The daemon's configuration file (config/siteward.json) and the command
 * line that overrides it. All strings are owned by sw_config and freed by
 * sw_config_free().
 */
#ifndef SW_CONFIG_H
#define SW_CONFIG_H

#include <limits.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "calendar.h"
#include "foreign.h"
#include "siteward/types.h"

enum sw_durability {
    SW_DURABLE_PROCESS = 0, /* survives kill -9: NOSYNC commits, env synced every second */
    SW_DURABLE_POWER = 1,   /* survives power loss: fsync per commit */
};

typedef struct sw_site_conf {
    char name[65]; /* "*" is the default for sites not listed */
    int tz_offset_s;
    char calendar_path[PATH_MAX];
    sw_calendar calendar;
} sw_site_conf;

typedef struct sw_plugin_conf {
    char name[64];
    char path[PATH_MAX]; /* "" to search the plugin directory */
    cJSON *config;       /* the plugin's "config" object, or NULL; owned */
} sw_plugin_conf;

/* TLS to the broker ("tls" key); used when the broker URL is ssl://,
 * mqtts:// or wss://. Paths are absolute once loaded. */
typedef struct sw_tls_conf {
    int enabled;              /* the broker URL asks for TLS */
    char ca_file[PATH_MAX];   /* "" : the system's trust store */
    char cert_file[PATH_MAX]; /* "" : no client certificate */
    char key_file[PATH_MAX];  /* "" : the key is in cert_file */
    int verify;               /* check the broker's chain and host name (default 1) */
} sw_tls_conf;

enum sw_shard_mode {
    SW_SHARD_NONE = 0, /* one instance takes every site */
    SW_SHARD_SITES,    /* "shard": {"sites": [...]} */
    SW_SHARD_HASH,     /* "shard": {"index", "count"}: FNV-1a 32 of the site id mod count */
};

/* Which sites this instance owns ("shard" key); see shard.h. */
typedef struct sw_shard_conf {
    enum sw_shard_mode mode;
    char (*sites)[SW_SITE_MAX + 1]; /* SW_SHARD_SITES: the list; owned */
    int nsites;
    uint32_t index, count; /* SW_SHARD_HASH */
} sw_shard_conf;

typedef struct sw_config {
    char path[PATH_MAX];
    char broker[256];
    char username[128]; /* "" for none */
    char password[256]; /* read from password_file, never from this file */
    char prefix[64];
    char instance[65];
    char state_dir[PATH_MAX];
    char policy_path[PATH_MAX];
    char plugin_dir[PATH_MAX];
    enum sw_durability durability;
    int64_t stats_interval_ms;
    size_t queue_limit;      /* bytes each in-memory queue may hold (memory_queue_mb) */
    char metrics_listen[64]; /* "ADDR:PORT" of the /metrics endpoint; "" for none */
    double clock_scale;
    sw_plugin_conf *plugins;
    int nplugins;
    sw_site_conf *sites;
    int nsites;
    sw_tls_conf tls;
    sw_shard_conf shard;
    cJSON *foreign_doc;  /* "foreign" entries, completed (foreign.h); owned */
    sw_foreign *foreign; /* one per entry of foreign_doc */
    int nforeign;
} sw_config;

/* Command-line overrides; NULL or 0 means "not given". */
typedef struct sw_config_overrides {
    const char *policy;
    const char *broker;
    const char *state_dir;
    const char *prefix;
    const char *instance;
    double clock_scale;
} sw_config_overrides;

/* Load `path` and apply `ov`. Every error names the file, key and problem
 * and returns SW_ECONFIG. */
int sw_config_load(sw_config *cfg, const char *path, const sw_config_overrides *ov);
void sw_config_free(sw_config *cfg);
/* The configuration of `site`, or of "*", or NULL when neither exists. */
const sw_site_conf *sw_config_site(const sw_config *cfg, const char *site);

#endif
