#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonfile.h"
#include "log.h"
#include "timeutil.h"
#include "topic.h"

/* Resolve `rel` against the folder of the config file. */
static void sw__resolve(const char *cfgpath, const char *rel, char *out, size_t len)
{
    char dir[PATH_MAX];
    if (rel[0] == '/') {
        snprintf(out, len, "%s", rel);
        return;
    }
    snprintf(dir, sizeof dir, "%s", cfgpath);
    snprintf(out, len, "%s/%s", dirname(dir), rel);
}

static int sw__str(const char *path, const cJSON *root, const char *key, char *out, size_t len,
                   const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v) {
        snprintf(out, len, "%s", def);
        return 0;
    }
    if (!cJSON_IsString(v) || !*v->valuestring)
        return sw_json_error(path, key, "must be a non-empty string");
    if (strlen(v->valuestring) >= len)
        return sw_json_error(path, key, "is longer than %zu characters", len - 1);
    snprintf(out, len, "%s", v->valuestring);
    return 0;
}

/* The broker password: the first line of its own file, so that it is never
 * on a command line or in the main config. */
static int sw__read_secret(const char *cfgpath, const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    struct stat st;
    if (!f)
        return sw_json_error(cfgpath, "password_file", "cannot open %s: %s", path, strerror(errno));
    if (!fstat(fileno(f), &st) && (st.st_mode & S_IROTH))
        sw_log(SW_LOG_WARNING, "%s: key 'password_file': %s is readable by every user (chmod o-r)",
               cfgpath, path);
    if (!fgets(out, (int)len, f)) {
        fclose(f);
        return sw_json_error(cfgpath, "password_file", "%s is empty", path);
    }
    fclose(f);
    out[strcspn(out, "\r\n")] = 0;
    return 0;
}

/* "metrics": {"listen": "127.0.0.1:9464"} (or "[::1]:9464"); absent: off. */
static int sw__metrics(sw_config *cfg, const cJSON *m)
{
    const cJSON *it;
    char host[64];
    unsigned char addr[16];
    unsigned port;
    char tail;

    if (!m)
        return 0;
    if (!cJSON_IsObject(m))
        return sw_json_error(cfg->path, "metrics", "must be {\"listen\": \"ADDRESS:PORT\"}");
    cJSON_ArrayForEach(it, m)
    {
        if (strcmp(it->string, "listen") && it->string[0] != '_')
            return sw_json_error(cfg->path, "metrics", "unknown key '%s' (listen)", it->string);
    }
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "listen"));
    if (v && strlen(v) < sizeof cfg->metrics_listen)
        snprintf(cfg->metrics_listen, sizeof cfg->metrics_listen, "%s", v);
    const char *l = cfg->metrics_listen, *colon = strrchr(l, ':');
    size_t hlen = colon ? (size_t)(colon - l) : 0;
    if (hlen > 2 && l[0] == '[' && l[hlen - 1] == ']') {
        snprintf(host, sizeof host, "%.*s", (int)hlen - 2, l + 1);
        if (inet_pton(AF_INET6, host, addr) != 1)
            hlen = 0;
    } else {
        snprintf(host, sizeof host, "%.*s", (int)hlen, l);
        if (inet_pton(AF_INET, host, addr) != 1)
            hlen = 0;
    }
    if (!hlen || sscanf(colon + 1, "%u%c", &port, &tail) != 1 || port < 1 || port > 65535)
        return sw_json_error(cfg->path, "metrics.listen",
                             "must be an IP address and port such as \"127.0.0.1:9464\" or "
                             "\"[::1]:9464\"");
    return 0;
}

static int sw__plugins(sw_config *cfg, const cJSON *arr)
{
    const char *path = cfg->path;
    char key[96];

    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        return sw_json_error(path, "plugins", "must be a non-empty array of {\"name\": ...}");
    cfg->nplugins = cJSON_GetArraySize(arr);
    cfg->plugins = calloc((size_t)cfg->nplugins, sizeof *cfg->plugins);
    if (!cfg->plugins)
        return SW_ENOMEM;
    for (int i = 0; i < cfg->nplugins; i++) {
        const cJSON *p = cJSON_GetArrayItem(arr, i), *it;
        sw_plugin_conf *pc = &cfg->plugins[i];
        snprintf(key, sizeof key, "plugins[%d]", i);
        if (!cJSON_IsObject(p))
            return sw_json_error(path, key, "must be an object");
        cJSON_ArrayForEach(it, p)
        {
            if (strcmp(it->string, "name") && strcmp(it->string, "path") &&
                strcmp(it->string, "config") && it->string[0] != '_')
                return sw_json_error(path, key, "unknown key '%s' (name, path, config)",
                                     it->string);
        }
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name"));
        if (!name || !sw_site_valid(name, strlen(name)) || strlen(name) >= sizeof pc->name)
            return sw_json_error(path, key, "\"name\" must be 1-63 of A-Z a-z 0-9 _ -");
        snprintf(pc->name, sizeof pc->name, "%s", name);
        const cJSON *pp = cJSON_GetObjectItemCaseSensitive(p, "path");
        if (pp) {
            if (!cJSON_IsString(pp))
                return sw_json_error(path, key, "\"path\" must be a string");
            sw__resolve(path, pp->valuestring, pc->path, sizeof pc->path);
        }
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(p, "config");
        if (c && !cJSON_IsObject(c))
            return sw_json_error(path, key, "\"config\" must be an object");
        if (c && !(pc->config = cJSON_Duplicate(c, 1)))
            return SW_ENOMEM;
    }
    return 0;
}

static int sw__sites(sw_config *cfg, const cJSON *obj)
{
    const char *path = cfg->path;
    const cJSON *s;
    char key[160];
    int i = 0;

    if (!cJSON_IsObject(obj) || !obj->child)
        return sw_json_error(path, "sites",
                             "must map site ids (or \"*\" for any site) to "
                             "{\"timezone\", \"calendar\"}");
    cfg->nsites = cJSON_GetArraySize(obj);
    cfg->sites = calloc((size_t)cfg->nsites, sizeof *cfg->sites);
    if (!cfg->sites)
        return SW_ENOMEM;
    cJSON_ArrayForEach(s, obj)
    {
        sw_site_conf *sc = &cfg->sites[i++];
        if (strcmp(s->string, "*") && !sw_site_valid(s->string, strlen(s->string)))
            return sw_json_error(path, "sites", "'%.64s' is not a valid site id", s->string);
        snprintf(sc->name, sizeof sc->name, "%s", s->string);
        snprintf(key, sizeof key, "sites.%s.timezone", sc->name);
        const char *tz = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "timezone"));
        if (!tz || sw_tz_parse(tz, &sc->tz_offset_s))
            return sw_json_error(path, key, "must be a UTC offset such as \"+08:00\"");
        snprintf(key, sizeof key, "sites.%s.calendar", sc->name);
        const char *cal = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "calendar"));
        if (!cal)
            return sw_json_error(path, key, "must name a calendar file");
        sw__resolve(path, cal, sc->calendar_path, sizeof sc->calendar_path);
        if (sw_calendar_load(&sc->calendar, sc->calendar_path))
            return sw_json_error(path, key, "calendar %s could not be loaded", sc->calendar_path);
    }
    return 0;
}

/* A PEM file the daemon can read, so that a wrong path or permission is a
 * configuration error at start and not a TLS failure later. */
static int sw__pem(const char *path, const cJSON *tls, const char *name, char *out, size_t len)
{
    char key[32], line[256];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(tls, name);
    FILE *f;
    int pem = 0;

    snprintf(key, sizeof key, "tls.%s", name);
    if (!v)
        return 0;
    if (!cJSON_IsString(v) || !*v->valuestring)
        return sw_json_error(path, key, "must be a non-empty string (a PEM file)");
    sw__resolve(path, v->valuestring, out, len);
    if (!(f = fopen(out, "r")))
        return sw_json_error(path, key, "cannot read %s: %s", out, strerror(errno));
    while (!pem && fgets(line, sizeof line, f))
        pem = !strncmp(line, "-----BEGIN ", 11);
    fclose(f);
    if (!pem)
        return sw_json_error(path, key, "%s is not a PEM file (no -----BEGIN line)", out);
    return 0;
}

static int sw__tls(sw_config *cfg, const cJSON *tls)
{
    const char *path = cfg->path;
    const cJSON *it;

    cfg->tls.verify = 1;
    if (!tls)
        return 0;
    if (!cJSON_IsObject(tls))
        return sw_json_error(path, "tls",
                             "must be an object {\"ca_file\", \"cert_file\", \"key_file\", "
                             "\"verify\"}");
    cJSON_ArrayForEach(it, tls)
    {
        if (strcmp(it->string, "ca_file") && strcmp(it->string, "cert_file") &&
            strcmp(it->string, "key_file") && strcmp(it->string, "verify") && it->string[0] != '_')
            return sw_json_error(
                path, "tls", "unknown key '%s' (ca_file, cert_file, key_file, verify)", it->string);
    }
    if (sw__pem(path, tls, "ca_file", cfg->tls.ca_file, sizeof cfg->tls.ca_file) ||
        sw__pem(path, tls, "cert_file", cfg->tls.cert_file, sizeof cfg->tls.cert_file) ||
        sw__pem(path, tls, "key_file", cfg->tls.key_file, sizeof cfg->tls.key_file))
        return SW_ECONFIG;
    if (cfg->tls.key_file[0] && !cfg->tls.cert_file[0])
        return sw_json_error(path, "tls.key_file", "is set without tls.cert_file");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(tls, "verify");
    if (v && !cJSON_IsBool(v))
        return sw_json_error(path, "tls.verify", "must be true or false");
    if (v)
        cfg->tls.verify = cJSON_IsTrue(v);
    return 0;
}

/* After the command line: the scheme may come from --broker. */
static int sw__tls_check(sw_config *cfg, int given)
{
    const char *b = cfg->broker;
    cfg->tls.enabled =
        !strncmp(b, "ssl://", 6) || !strncmp(b, "mqtts://", 8) || !strncmp(b, "wss://", 6);
    if (given && !cfg->tls.enabled)
        return sw_json_error(cfg->path, "tls",
                             "is set but the broker %s is not ssl://, mqtts:// or wss://", b);
    if (cfg->tls.enabled && !cfg->tls.verify)
        sw_log(SW_LOG_WARNING,
               "%s: key 'tls.verify': false: the broker's certificate is not checked, so "
               "anyone on the path can pose as the broker",
               cfg->path);
    return 0;
}

static int sw__shard(sw_config *cfg, const cJSON *sh)
{
    const char *path = cfg->path;
    const cJSON *it, *sites, *index, *count;
    char key[32];
    int i = 0;

    if (!sh)
        return 0;
    if (!cJSON_IsObject(sh))
        return sw_json_error(path, "shard",
                             "must be {\"sites\": [...]} or {\"index\": i, \"count\": n}");
    cJSON_ArrayForEach(it, sh)
    {
        if (strcmp(it->string, "sites") && strcmp(it->string, "index") &&
            strcmp(it->string, "count") && it->string[0] != '_')
            return sw_json_error(path, "shard", "unknown key '%s' (sites, or index and count)",
                                 it->string);
    }
    sites = cJSON_GetObjectItemCaseSensitive(sh, "sites");
    index = cJSON_GetObjectItemCaseSensitive(sh, "index");
    count = cJSON_GetObjectItemCaseSensitive(sh, "count");
    if (sites && (index || count))
        return sw_json_error(path, "shard", "takes either \"sites\" or \"index\" and \"count\"");
    if (!sites) {
        if (!cJSON_IsNumber(count) || count->valuedouble != (int)count->valuedouble ||
            count->valueint < 1 || count->valueint > 4096)
            return sw_json_error(path, "shard.count", "must be a whole number from 1 to 4096");
        if (!cJSON_IsNumber(index) || index->valuedouble != (int)index->valuedouble ||
            index->valueint < 0 || index->valueint >= count->valueint)
            return sw_json_error(path, "shard.index", "must be a whole number from 0 to %d",
                                 count->valueint - 1);
        cfg->shard.mode = SW_SHARD_HASH;
        cfg->shard.index = (uint32_t)index->valueint;
        cfg->shard.count = (uint32_t)count->valueint;
        return 0;
    }
    if (!cJSON_IsArray(sites) || cJSON_GetArraySize(sites) == 0)
        return sw_json_error(path, "shard.sites", "must be a non-empty array of site ids");
    cfg->shard.mode = SW_SHARD_SITES;
    cfg->shard.nsites = cJSON_GetArraySize(sites);
    if (!(cfg->shard.sites = calloc((size_t)cfg->shard.nsites, sizeof *cfg->shard.sites)))
        return SW_ENOMEM;
    cJSON_ArrayForEach(it, sites)
    {
        snprintf(key, sizeof key, "shard.sites[%d]", i);
        const char *s = cJSON_GetStringValue(it);
        if (!s || !sw_site_valid(s, strlen(s)))
            return sw_json_error(path, key, "must be a site id (1-64 of A-Z a-z 0-9 _ -)");
        for (int j = 0; j < i; j++)
            if (!strcmp(cfg->shard.sites[j], s))
                return sw_json_error(path, key, "site %s is listed twice", s);
        if (!sw_config_site(cfg, s))
            return sw_json_error(path, key,
                                 "site %s is not in \"sites\" (name it there, or add \"*\")", s);
        snprintf(cfg->shard.sites[i++], sizeof *cfg->shard.sites, "%s", s);
    }
    return 0;
}

int sw_config_load(sw_config *cfg, const char *path, const sw_config_overrides *ov)
{
    static const char *known[] = {
        "broker",     "prefix",   "instance",        "state_dir", "policy",
        "durability", "plugins",  "plugin_dir",      "sites",     "stats_interval",
        "log_level",  "username", "password_file",   "tls",       "shard",
        "metrics",    "foreign",  "memory_queue_mb", NULL};
    cJSON *root;
    const cJSON *it;
    char buf[PATH_MAX];
    int rc = SW_ECONFIG;

    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    cfg->clock_scale = 1.0;
    if (sw_json_load(path, &root))
        return SW_ECONFIG;

    cJSON_ArrayForEach(it, root)
    {
        int ok = it->string[0] == '_';
        for (int i = 0; known[i] && !ok; i++)
            ok = !strcmp(it->string, known[i]);
        if (!ok) {
            sw_json_error(path, it->string, "unknown key");
            goto out;
        }
    }
    if (sw__str(path, root, "broker", cfg->broker, sizeof cfg->broker, "tcp://127.0.0.1:1883") ||
        sw__str(path, root, "prefix", cfg->prefix, sizeof cfg->prefix, "siteward") ||
        sw__str(path, root, "instance", cfg->instance, sizeof cfg->instance, "main") ||
        sw__str(path, root, "state_dir", cfg->state_dir, sizeof cfg->state_dir,
                "/var/lib/siteward") ||
        sw__str(path, root, "policy", buf, sizeof buf, "policy/default.json"))
        goto out;
    sw__resolve(path, buf, cfg->policy_path, sizeof cfg->policy_path);
    snprintf(buf, sizeof buf, "%s", cfg->state_dir);
    sw__resolve(path, buf, cfg->state_dir, sizeof cfg->state_dir);
    if (sw__str(path, root, "username", cfg->username, sizeof cfg->username, "") ||
        sw__str(path, root, "password_file", buf, sizeof buf, ""))
        goto out;
    if (*buf) {
        char pwpath[PATH_MAX];
        sw__resolve(path, buf, pwpath, sizeof pwpath);
        if (sw__read_secret(path, pwpath, cfg->password, sizeof cfg->password))
            goto out;
    }
    if (sw__str(path, root, "plugin_dir", buf, sizeof buf, ""))
        goto out;
    if (*buf)
        sw__resolve(path, buf, cfg->plugin_dir, sizeof cfg->plugin_dir);

    if (sw__str(path, root, "durability", buf, sizeof buf, "process"))
        goto out;
    if (!strcmp(buf, "process"))
        cfg->durability = SW_DURABLE_PROCESS;
    else if (!strcmp(buf, "power"))
        cfg->durability = SW_DURABLE_POWER;
    else {
        sw_json_error(path, "durability", "must be \"process\" or \"power\"");
        goto out;
    }
    if (sw__str(path, root, "stats_interval", buf, sizeof buf, "10s"))
        goto out;
    if (sw_duration_parse_ms(buf, &cfg->stats_interval_ms) || cfg->stats_interval_ms < 1000) {
        sw_json_error(path, "stats_interval", "must be a duration of at least \"1s\"");
        goto out;
    }
    const cJSON *mq = cJSON_GetObjectItemCaseSensitive(root, "memory_queue_mb");
    cfg->queue_limit = (size_t)16 << 20;
    if (mq) {
        if (!cJSON_IsNumber(mq) || mq->valuedouble != (int)mq->valuedouble || mq->valueint < 1 ||
            mq->valueint > 4096) {
            sw_json_error(path, "memory_queue_mb", "must be a whole number of MiB from 1 to 4096");
            goto out;
        }
        cfg->queue_limit = (size_t)mq->valueint << 20;
    }
    if (sw__str(path, root, "log_level", buf, sizeof buf, "info"))
        goto out;
    if (!strcmp(buf, "debug"))
        sw_log_set_level(SW_LOG_DEBUG);
    else if (!strcmp(buf, "info"))
        sw_log_set_level(SW_LOG_INFO);
    else if (!strcmp(buf, "notice"))
        sw_log_set_level(SW_LOG_NOTICE);
    else if (!strcmp(buf, "warning"))
        sw_log_set_level(SW_LOG_WARNING);
    else {
        sw_json_error(path, "log_level", "must be debug, info, notice or warning");
        goto out;
    }
    if (sw__metrics(cfg, cJSON_GetObjectItemCaseSensitive(root, "metrics")) ||
        sw__plugins(cfg, cJSON_GetObjectItemCaseSensitive(root, "plugins")) ||
        sw__sites(cfg, cJSON_GetObjectItemCaseSensitive(root, "sites")) ||
        sw__tls(cfg, cJSON_GetObjectItemCaseSensitive(root, "tls")) ||
        sw__shard(cfg, cJSON_GetObjectItemCaseSensitive(root, "shard")))
        goto out;

    if (ov) {
        if (ov->policy)
            snprintf(cfg->policy_path, sizeof cfg->policy_path, "%s", ov->policy);
        if (ov->broker)
            snprintf(cfg->broker, sizeof cfg->broker, "%s", ov->broker);
        if (ov->state_dir)
            snprintf(cfg->state_dir, sizeof cfg->state_dir, "%s", ov->state_dir);
        if (ov->prefix)
            snprintf(cfg->prefix, sizeof cfg->prefix, "%s", ov->prefix);
        if (ov->instance)
            snprintf(cfg->instance, sizeof cfg->instance, "%s", ov->instance);
        if (ov->clock_scale > 0)
            cfg->clock_scale = ov->clock_scale;
    }
    if (sw__tls_check(cfg, cJSON_GetObjectItemCaseSensitive(root, "tls") != NULL))
        goto out;
    if (!sw_site_valid(cfg->instance, strlen(cfg->instance))) {
        sw_json_error(path, "instance", "must be 1-64 of A-Z a-z 0-9 _ - (not starting with _)");
        goto out;
    }
    if (!*cfg->prefix || strpbrk(cfg->prefix, "+#") ||
        cfg->prefix[strlen(cfg->prefix) - 1] == '/') {
        sw_json_error(path, "prefix", "must not contain '+' or '#' or end with '/'");
        goto out;
    }
    if (sw_foreign_load(cfg, cJSON_GetObjectItemCaseSensitive(root, "foreign")))
        goto out;
    rc = 0;
out:
    cJSON_Delete(root);
    if (rc)
        sw_config_free(cfg);
    return rc;
}

void sw_config_free(sw_config *cfg)
{
    memset(cfg->password, 0, sizeof cfg->password);
    sw_foreign_free(cfg);
    for (int i = 0; i < cfg->nplugins; i++)
        cJSON_Delete(cfg->plugins[i].config);
    for (int i = 0; i < cfg->nsites; i++)
        sw_calendar_free(&cfg->sites[i].calendar);
    free(cfg->plugins);
    free(cfg->sites);
    free(cfg->shard.sites);
    cfg->plugins = NULL;
    cfg->sites = NULL;
    cfg->shard.sites = NULL;
    cfg->nplugins = cfg->nsites = 0;
}

const sw_site_conf *sw_config_site(const sw_config *cfg, const char *site)
{
    const sw_site_conf *def = NULL;
    for (int i = 0; i < cfg->nsites; i++) {
        if (!strcmp(cfg->sites[i].name, site))
            return &cfg->sites[i];
        if (!strcmp(cfg->sites[i].name, "*"))
            def = &cfg->sites[i];
    }
    return def;
}
