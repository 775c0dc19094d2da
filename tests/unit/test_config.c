/* The daemon's configuration file: the shipped config/siteward.json, defaults,
 * paths relative to the file, command-line overrides, and every error naming
 * the file and the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"

#include "config.h"
#include "log.h"
#include "policy.h"
#include "shard.h"
#include "siteward/types.h"

#define CONFIG_DIR SW_SOURCE_DIR "/config"

#define PLUGINS "\"plugins\": [{\"name\": \"decode\"}]"
#define SITES   "\"sites\": {\"A\": {\"timezone\": \"+08:00\", \"calendar\": \"cal.json\"}}"
/* A valid config with `extra` keys in front (each followed by a comma). */
#define WITH(extra) "{" extra PLUGINS ", " SITES "}"

#define SMALL_CAL                                                                                  \
    "{\"name\": \"small\", \"covers\": {\"from\": \"2026-01-01\", \"to\": \"2026-12-31\"},"        \
    " \"weekend\": [\"sat\", \"sun\"]}"

static char dir[UNIT_DIR_MAX];

static int setup(void **state)
{
    (void)state;
    char path[PATH_MAX];
    FILE *f;
    if (unit_tmpdir(dir, sizeof dir))
        return -1;
    static const struct {
        const char *name, *text;
    } files[] = {
        {"cal.json", SMALL_CAL},
        {"badcal.json", "{\"covers\": {}, \"weekend\": []}"},
        {"empty.txt", ""},
        {"secret.txt", "s3cret pass\r\nsecond line\n"},
        {"ca.pem", "subject=CN = test CA\n-----BEGIN CERTIFICATE-----\nMIIB\n"},
        {"client.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n"},
        {"client.key", "-----BEGIN PRIVATE KEY-----\nMIGH\n"},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        if (!(f = fopen(path, "w")) || fputs(files[i].text, f) < 0 || fclose(f))
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unit_rmtree(dir);
    sw_log_set_level(SW_LOG_INFO);
    return 0;
}

/* Write `text` as DIR/c.json and load it; what was logged goes to `log`. */
static int load_text(const char *text, const sw_config_overrides *ov, sw_config *cfg, char *path,
                     size_t plen, char *log, size_t llen)
{
    unit_capture cap;
    unit_write(dir, "c.json", text, path, plen);
    unit_capture_start(&cap, dir);
    int rc = sw_config_load(cfg, path, ov);
    unit_capture_stop(&cap, log, llen);
    return rc;
}

static void load_ok(const char *text, const sw_config_overrides *ov, sw_config *cfg)
{
    char path[PATH_MAX], log[4096];
    int rc = load_text(text, ov, cfg, path, sizeof path, log, sizeof log);
    if (rc)
        fail_msg("config refused (rc %d): %s\n%s", rc, text, log);
}

static void test_shipped_config(void **state)
{
    (void)state;
    sw_config cfg;
    assert_int_equal(sw_config_load(&cfg, CONFIG_DIR "/siteward.json", NULL), 0);
    assert_string_equal(cfg.path, CONFIG_DIR "/siteward.json");
    assert_string_equal(cfg.broker, "tcp://127.0.0.1:1883");
    assert_string_equal(cfg.prefix, "siteward");
    assert_string_equal(cfg.instance, "main");
    assert_string_equal(cfg.state_dir, "/var/lib/siteward");
    assert_string_equal(cfg.policy_path, CONFIG_DIR "/policy/default.json");
    assert_string_equal(cfg.plugin_dir, "");
    assert_string_equal(cfg.username, "");
    assert_string_equal(cfg.password, "");
    assert_int_equal(cfg.durability, SW_DURABLE_PROCESS);
    assert_int_equal(cfg.stats_interval_ms, 10000);
    assert_int_equal(cfg.queue_limit, (size_t)16 << 20);
    assert_true(cfg.clock_scale == 1.0);

    /* map decodes foreign devices' messages before decode sees them. */
    assert_int_equal(cfg.nplugins, 4);
    assert_string_equal(cfg.plugins[0].name, "map");
    assert_string_equal(cfg.plugins[1].name, "decode");
    assert_string_equal(cfg.plugins[2].name, "classify");
    assert_string_equal(cfg.plugins[3].name, "correlate");
    for (int i = 0; i < 4; i++)
        assert_string_equal(cfg.plugins[i].path, "");
    assert_int_equal(cfg.nforeign, 0);
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(cfg.plugins[1].config, "max_data");
    assert_true(cJSON_IsNumber(max));
    assert_int_equal(max->valueint, 4096); /* the contract's 4 KiB */
    assert_null(cfg.plugins[2].config);

    /* One default site: China's offset and the 2026 national calendar. */
    assert_int_equal(cfg.nsites, 1);
    const sw_site_conf *s = sw_config_site(&cfg, "A");
    assert_ptr_equal(s, &cfg.sites[0]);
    assert_ptr_equal(sw_config_site(&cfg, "any-site"), s);
    assert_string_equal(s->name, "*");
    assert_int_equal(s->tz_offset_s, 8 * 3600);
    assert_string_equal(s->calendar_path, CONFIG_DIR "/calendars/cn-2026.json");
    assert_string_equal(s->calendar.name, "cn-2026");
    assert_int_equal(s->calendar.nholidays, 33);
    assert_int_equal(s->calendar.nworkdays, 6);

    /* The policy it names loads. */
    sw_policy p;
    assert_int_equal(sw_policy_load(&p, cfg.policy_path), 0);
    assert_string_equal(p.name, "default");
    sw_policy_free(&p);
    sw_config_free(&cfg);
    assert_int_equal(cfg.nsites, 0);
    assert_null(cfg.sites);
    assert_null(cfg.plugins);
}

static void test_overrides(void **state)
{
    (void)state;
    sw_config cfg;
    sw_config_overrides ov = {
        .policy = "relative/policy.json",
        .broker = "tcp://10.0.0.1:1884",
        .state_dir = "/srv/siteward",
        .prefix = "acme/east",
        .instance = "node-2",
        .clock_scale = 60,
    };
    assert_int_equal(sw_config_load(&cfg, CONFIG_DIR "/siteward.json", &ov), 0);
    /* A path from the command line is the user's, not relative to the file. */
    assert_string_equal(cfg.policy_path, "relative/policy.json");
    assert_string_equal(cfg.broker, "tcp://10.0.0.1:1884");
    assert_string_equal(cfg.state_dir, "/srv/siteward");
    assert_string_equal(cfg.prefix, "acme/east");
    assert_string_equal(cfg.instance, "node-2");
    assert_true(cfg.clock_scale == 60.0);
    /* What no flag overrides stays as the file says. */
    assert_int_equal(cfg.stats_interval_ms, 10000);
    assert_int_equal(cfg.nplugins, 4);
    assert_int_equal(cfg.sites[0].tz_offset_s, 8 * 3600);
    sw_config_free(&cfg);

    /* Nothing given: the file's values; a scale of 0 or below is "not given". */
    sw_config_overrides none = {.clock_scale = -2};
    assert_int_equal(sw_config_load(&cfg, CONFIG_DIR "/siteward.json", &none), 0);
    assert_string_equal(cfg.broker, "tcp://127.0.0.1:1883");
    assert_string_equal(cfg.policy_path, CONFIG_DIR "/policy/default.json");
    assert_true(cfg.clock_scale == 1.0);
    sw_config_free(&cfg);
    sw_config_overrides slow = {.clock_scale = 0.5};
    assert_int_equal(sw_config_load(&cfg, CONFIG_DIR "/siteward.json", &slow), 0);
    assert_true(cfg.clock_scale == 0.5);
    sw_config_free(&cfg);
}

/* Overrides are checked like the file's values. */
static void test_bad_overrides(void **state)
{
    (void)state;
    static const struct {
        const char *prefix, *instance, *key;
    } bad[] = {
        {NULL, "_x", "instance"},      {NULL, "a b", "instance"}, {NULL, "a/b", "instance"},
        {NULL, "", "instance"},        {"a/+", NULL, "prefix"},   {"a/#", NULL, "prefix"},
        {"siteward/", NULL, "prefix"}, {"+", NULL, "prefix"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char log[4096], want[64];
        sw_config cfg;
        unit_capture cap;
        sw_config_overrides ov = {.prefix = bad[i].prefix, .instance = bad[i].instance};
        unit_capture_start(&cap, dir);
        int rc = sw_config_load(&cfg, CONFIG_DIR "/siteward.json", &ov);
        unit_capture_stop(&cap, log, sizeof log);
        if (rc != SW_ECONFIG)
            fail_msg("override %zu accepted", i);
        snprintf(want, sizeof want, "key '%s'", bad[i].key);
        if (!strstr(log, want))
            fail_msg("override %zu: the error does not name %s: %s", i, want, log);
    }
}

static void test_minimal_config(void **state)
{
    (void)state;
    char want[PATH_MAX];
    sw_config cfg;
    load_ok(WITH(""), NULL, &cfg);
    assert_string_equal(cfg.broker, "tcp://127.0.0.1:1883");
    assert_string_equal(cfg.prefix, "siteward");
    assert_string_equal(cfg.instance, "main");
    assert_string_equal(cfg.state_dir, "/var/lib/siteward");
    snprintf(want, sizeof want, "%s/policy/default.json", dir);
    assert_string_equal(cfg.policy_path, want);
    assert_string_equal(cfg.plugin_dir, "");
    assert_string_equal(cfg.username, "");
    assert_string_equal(cfg.password, "");
    assert_int_equal(cfg.durability, SW_DURABLE_PROCESS);
    assert_int_equal(cfg.stats_interval_ms, 10000);
    assert_true(cfg.clock_scale == 1.0);
    assert_int_equal(cfg.nplugins, 1);
    assert_null(cfg.plugins[0].config);
    assert_int_equal(cfg.nsites, 1);
    snprintf(want, sizeof want, "%s/cal.json", dir);
    assert_string_equal(cfg.sites[0].calendar_path, want);
    assert_string_equal(cfg.sites[0].calendar.name, "small");
    assert_ptr_equal(sw_config_site(&cfg, "A"), &cfg.sites[0]);
    /* No "*": other sites have no configuration. */
    assert_null(sw_config_site(&cfg, "B"));
    assert_null(sw_config_site(&cfg, "a"));
    sw_config_free(&cfg);
}

static void test_sites(void **state)
{
    (void)state;
    char text[2 * PATH_MAX], want[PATH_MAX];
    sw_config cfg;
    snprintf(text, sizeof text,
             "{" PLUGINS ", \"sites\": {"
             " \"A\": {\"timezone\": \"+08:00\", \"calendar\": \"cal.json\"},"
             " \"ny-1\": {\"timezone\": \"-05:30\", \"calendar\": \"%s/cal.json\"},"
             " \"*\": {\"timezone\": \"Z\", \"calendar\": \"%s/calendars/cn-2026.json\"},"
             " \"B_2\": {\"timezone\": \"UTC\", \"calendar\": \"./cal.json\"}}}",
             dir, CONFIG_DIR);
    load_ok(text, NULL, &cfg);
    assert_int_equal(cfg.nsites, 4);
    const sw_site_conf *a = sw_config_site(&cfg, "A");
    const sw_site_conf *ny = sw_config_site(&cfg, "ny-1");
    const sw_site_conf *any = sw_config_site(&cfg, "C");
    const sw_site_conf *b = sw_config_site(&cfg, "B_2");
    assert_string_equal(a->name, "A");
    assert_int_equal(a->tz_offset_s, 8 * 3600);
    assert_string_equal(ny->name, "ny-1");
    assert_int_equal(ny->tz_offset_s, -(5 * 3600 + 30 * 60));
    snprintf(want, sizeof want, "%s/cal.json", dir);
    assert_string_equal(ny->calendar_path, want); /* absolute, as given */
    assert_string_equal(any->name, "*");
    assert_int_equal(any->tz_offset_s, 0);
    assert_string_equal(any->calendar.name, "cn-2026");
    assert_string_equal(b->name, "B_2");
    assert_string_equal(b->calendar.name, "small");
    /* Exact names win over "*", wherever "*" stands. */
    assert_ptr_equal(sw_config_site(&cfg, "B_2"), &cfg.sites[3]);
    assert_ptr_equal(sw_config_site(&cfg, "*"), &cfg.sites[2]);
    sw_config_free(&cfg);
}

static void test_options(void **state)
{
    (void)state;
    char want[PATH_MAX], text[PATH_MAX + 1024];
    sw_config cfg;
    load_ok(WITH("\"_comment\": \"ignored\", \"_note\": 5, \"durability\": \"power\","
                 " \"stats_interval\": \"1s\", \"username\": \"siteward\","
                 " \"memory_queue_mb\": 3,"
                 " \"password_file\": \"secret.txt\", \"plugin_dir\": \"lib/plugins\","
                 " \"broker\": \"ssl://broker.example:8883\", \"instance\": \"i-1\","
                 " \"prefix\": \"acme/east/sw\", \"state_dir\": \"/srv/sw-state\","
                 " \"policy\": \"/etc/siteward/policy/quality-plan.json\","),
            NULL, &cfg);
    assert_int_equal(cfg.durability, SW_DURABLE_POWER);
    assert_int_equal(cfg.stats_interval_ms, 1000);
    assert_int_equal(cfg.queue_limit, (size_t)3 << 20);
    assert_string_equal(cfg.username, "siteward");
    /* The first line of the file, without its line end. */
    assert_string_equal(cfg.password, "s3cret pass");
    snprintf(want, sizeof want, "%s/lib/plugins", dir);
    assert_string_equal(cfg.plugin_dir, want);
    assert_string_equal(cfg.broker, "ssl://broker.example:8883");
    assert_string_equal(cfg.instance, "i-1");
    assert_string_equal(cfg.prefix, "acme/east/sw");
    assert_string_equal(cfg.state_dir, "/srv/sw-state");
    assert_string_equal(cfg.policy_path, "/etc/siteward/policy/quality-plan.json");
    sw_config_free(&cfg);
    /* The password does not outlive the config. */
    assert_string_equal(cfg.password, "");

    /* Plugins: path relative to the file or absolute, config copied. */
    snprintf(text, sizeof text,
             "{\"plugins\": [{\"name\": \"decode\", \"_comment\": \"first\"},"
             " {\"name\": \"sms-gw\", \"path\": \"plugins/sms.so\", \"config\": {\"to\": [\"a\"]}},"
             " {\"name\": \"x_1\", \"path\": \"%s/x.so\", \"config\": {}}], " SITES "}",
             dir);
    load_ok(text, NULL, &cfg);
    assert_int_equal(cfg.nplugins, 3);
    assert_string_equal(cfg.plugins[0].path, "");
    snprintf(want, sizeof want, "%s/plugins/sms.so", dir);
    assert_string_equal(cfg.plugins[1].name, "sms-gw");
    assert_string_equal(cfg.plugins[1].path, want);
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(cfg.plugins[1].config, "to");
    assert_int_equal(cJSON_GetArraySize(to), 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(to, 0)), "a");
    snprintf(want, sizeof want, "%s/x.so", dir);
    assert_string_equal(cfg.plugins[2].path, want);
    assert_true(cJSON_IsObject(cfg.plugins[2].config));
    sw_config_free(&cfg);

    /* Every log level, and durations in other units. */
    static const char *levels[] = {"debug", "notice", "warning", "info"};
    for (int i = 0; i < 4; i++) {
        snprintf(text, sizeof text, WITH("\"log_level\": \"%s\", \"stats_interval\": \"2m\","),
                 levels[i]);
        load_ok(text, NULL, &cfg);
        assert_int_equal(cfg.stats_interval_ms, 120000);
        sw_config_free(&cfg);
    }
    load_ok(WITH("\"durability\": \"process\", \"stats_interval\": \"1h\","), NULL, &cfg);
    assert_int_equal(cfg.durability, SW_DURABLE_PROCESS);
    assert_int_equal(cfg.stats_interval_ms, 3600000);
    sw_config_free(&cfg);
}

/* A config named by a relative path resolves against its own folder. */
static void test_relative_config_path(void **state)
{
    (void)state;
    char cwd[PATH_MAX], path[PATH_MAX];
    sw_config cfg;
    unit_write(dir, "rel.json", WITH("\"policy\": \"p/x.json\","), path, sizeof path);
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    int rc = sw_config_load(&cfg, "rel.json", NULL);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    assert_string_equal(cfg.policy_path, "./p/x.json");
    assert_string_equal(cfg.sites[0].calendar_path, "./cal.json");
    assert_string_equal(cfg.sites[0].calendar.name, "small");
    sw_config_free(&cfg);
}

#define LONG300                                                                                    \
    "tcp://"                                                                                       \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"     \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aa"                                                                                           \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aa"                                                                                           \
    "aaaaaaaaaaaaaaaaaaaaaaaa"
#define NAME64          "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"
#define NAME65          NAME64 "m"
#define SITE_WITH(body) "{" PLUGINS ", \"sites\": {\"A\": " body "}}"

static void test_bad_configs(void **state)
{
    (void)state;
    static const struct {
        const char *text, *key;
    } bad[] = {
        {WITH("\"brokr\": \"tcp://x:1883\","), "brokr"},
        {WITH("\"Broker\": \"tcp://x:1883\","), "Broker"},
        {WITH("\"clock_scale\": 60,"), "clock_scale"},
        {WITH("\"password\": \"hunter2\","), "password"},
        {WITH("\"broker\": 1883,"), "broker"},
        {WITH("\"broker\": \"\","), "broker"},
        {WITH("\"broker\": null,"), "broker"},
        {WITH("\"broker\": \"" LONG300 "\","), "broker"},
        {WITH("\"prefix\": \"a/+\","), "prefix"},
        {WITH("\"prefix\": \"a#\","), "prefix"},
        {WITH("\"prefix\": \"siteward/\","), "prefix"},
        {WITH("\"prefix\": \"\","), "prefix"},
        {WITH("\"instance\": \"_daemon\","), "instance"},
        {WITH("\"instance\": \"a b\","), "instance"},
        {WITH("\"instance\": \"a/b\","), "instance"},
        {WITH("\"instance\": \"" NAME65 "\","), "instance"},
        {WITH("\"state_dir\": \"\","), "state_dir"},
        {WITH("\"state_dir\": [\"/var\"],"), "state_dir"},
        {WITH("\"policy\": \"\","), "policy"},
        {WITH("\"policy\": {},"), "policy"},
        {WITH("\"durability\": \"disk\","), "durability"},
        {WITH("\"durability\": \"Power\","), "durability"},
        {WITH("\"durability\": 1,"), "durability"},
        {WITH("\"stats_interval\": \"0s\","), "stats_interval"},
        {WITH("\"stats_interval\": \"999\","), "stats_interval"},
        {WITH("\"stats_interval\": \"1wd\","), "stats_interval"},
        {WITH("\"stats_interval\": \"8wh\","), "stats_interval"},
        {WITH("\"stats_interval\": 10,"), "stats_interval"},
        {WITH("\"memory_queue_mb\": 0,"), "memory_queue_mb"},
        {WITH("\"memory_queue_mb\": 4097,"), "memory_queue_mb"},
        {WITH("\"memory_queue_mb\": 1.5,"), "memory_queue_mb"},
        {WITH("\"memory_queue_mb\": \"16\","), "memory_queue_mb"},
        {WITH("\"log_level\": \"verbose\","), "log_level"},
        {WITH("\"log_level\": \"error\","), "log_level"},
        {WITH("\"log_level\": \"INFO\","), "log_level"},
        {WITH("\"username\": 5,"), "username"},
        {WITH("\"password_file\": \"missing.txt\","), "password_file"},
        {WITH("\"password_file\": \"empty.txt\","), "password_file"},
        {WITH("\"password_file\": \"\","), "password_file"},
        {WITH("\"plugin_dir\": 5,"), "plugin_dir"},
        {"{" SITES "}", "plugins"},
        {"{\"plugins\": [], " SITES "}", "plugins"},
        {"{\"plugins\": {\"name\": \"decode\"}, " SITES "}", "plugins"},
        {"{\"plugins\": \"decode\", " SITES "}", "plugins"},
        {"{\"plugins\": [5], " SITES "}", "plugins[0]"},
        {"{\"plugins\": [{}], " SITES "}", "plugins[0]"},
        {"{\"plugins\": [{\"name\": \"\"}], " SITES "}", "plugins[0]"},
        {"{\"plugins\": [{\"name\": \"a/b\"}], " SITES "}", "plugins[0]"},
        {"{\"plugins\": [{\"name\": \"_x\"}], " SITES "}", "plugins[0]"},
        {"{\"plugins\": [{\"name\": \"../evil\"}], " SITES "}", "plugins[0]"},
        {"{\"plugins\": [{\"name\": \"" NAME64 "\"}], " SITES "}", "plugins[0]"},
        {"{\"plugins\": [{\"name\": 5}], " SITES "}", "plugins[0]"},
        {"{\"plugins\": [{\"name\": \"decode\", \"cfg\": {}}], " SITES "}", "plugins[0]"},
        {"{\"plugins\": [{\"name\": \"decode\", \"path\": 5}], " SITES "}", "plugins[0]"},
        {"{\"plugins\": [{\"name\": \"decode\", \"config\": []}], " SITES "}", "plugins[0]"},
        {"{\"plugins\": [{\"name\": \"decode\", \"config\": \"x\"}], " SITES "}", "plugins[0]"},
        {"{\"plugins\": [{\"name\": \"decode\", \"config\": {\"a\": 1}}, {\"name\": \"\"}], " SITES
         "}",
         "plugins[1]"},
        {"{" PLUGINS "}", "sites"},
        {"{" PLUGINS ", \"sites\": {}}", "sites"},
        {"{" PLUGINS ", \"sites\": []}", "sites"},
        {"{" PLUGINS ", \"sites\": \"A\"}", "sites"},
        {"{" PLUGINS ", \"sites\": {\"_x\": {\"timezone\": \"+08:00\", \"calendar\": "
         "\"cal.json\"}}}",
         "sites"},
        {"{" PLUGINS ", \"sites\": {\"a b\": {\"timezone\": \"+08:00\", \"calendar\": "
         "\"cal.json\"}}}",
         "sites"},
        {"{" PLUGINS ", \"sites\": {\"" NAME65 "\": {\"timezone\": \"+08:00\", \"calendar\": "
         "\"cal.json\"}}}",
         "sites"},
        {"{" PLUGINS ", \"sites\": {\"\": {\"timezone\": \"+08:00\", \"calendar\": "
         "\"cal.json\"}}}",
         "sites"},
        {SITE_WITH("5"), "sites.A.timezone"},
        {SITE_WITH("{\"calendar\": \"cal.json\"}"), "sites.A.timezone"},
        {SITE_WITH("{\"timezone\": \"Asia/Shanghai\", \"calendar\": \"cal.json\"}"),
         "sites.A.timezone"},
        {SITE_WITH("{\"timezone\": \"+8\", \"calendar\": \"cal.json\"}"), "sites.A.timezone"},
        {SITE_WITH("{\"timezone\": \"+15:00\", \"calendar\": \"cal.json\"}"), "sites.A.timezone"},
        {SITE_WITH("{\"timezone\": \"+0800\", \"calendar\": \"cal.json\"}"), "sites.A.timezone"},
        {SITE_WITH("{\"timezone\": 8, \"calendar\": \"cal.json\"}"), "sites.A.timezone"},
        {SITE_WITH("{\"timezone\": \"+08:00\"}"), "sites.A.calendar"},
        {SITE_WITH("{\"timezone\": \"+08:00\", \"calendar\": 2026}"), "sites.A.calendar"},
        {SITE_WITH("{\"timezone\": \"+08:00\", \"calendar\": \"nosuch.json\"}"),
         "sites.A.calendar"},
        {SITE_WITH("{\"timezone\": \"+08:00\", \"calendar\": \"badcal.json\"}"),
         "sites.A.calendar"},
        /* A bad site after a good one: its calendar is freed. */
        {"{" PLUGINS ", \"sites\": {\"A\": {\"timezone\": \"+08:00\", \"calendar\": \"cal.json\"},"
         " \"B\": {\"timezone\": \"+08:00\", \"calendar\": \"nosuch.json\"}}}",
         "sites.B.calendar"},
#define TLS_WITH(body) WITH("\"broker\": \"ssl://b:8883\", \"tls\": " body ",")
        {TLS_WITH("true"), "tls"},
        {TLS_WITH("{\"cafile\": \"ca.pem\"}"), "tls"},
        {TLS_WITH("{\"ca_file\": 5}"), "tls.ca_file"},
        {TLS_WITH("{\"ca_file\": \"\"}"), "tls.ca_file"},
        {TLS_WITH("{\"ca_file\": \"nosuch.pem\"}"), "tls.ca_file"},
        {TLS_WITH("{\"ca_file\": \"empty.txt\"}"), "tls.ca_file"},
        {TLS_WITH("{\"ca_file\": \"secret.txt\"}"), "tls.ca_file"},
        {TLS_WITH("{\"cert_file\": \"nosuch.pem\"}"), "tls.cert_file"},
        {TLS_WITH("{\"key_file\": \"cal.json\"}"), "tls.key_file"},
        {TLS_WITH("{\"key_file\": \"client.key\"}"), "tls.key_file"},
        {TLS_WITH("{\"verify\": \"yes\"}"), "tls.verify"},
        {TLS_WITH("{\"verify\": 1}"), "tls.verify"},
        {WITH("\"tls\": {\"ca_file\": \"ca.pem\"},"), "tls"}, /* tcp:// broker */
        {WITH("\"broker\": \"tcp://b:1883\", \"tls\": {},"), "tls"},
        {WITH("\"shard\": [\"A\"],"), "shard"},
        {WITH("\"shard\": {},"), "shard.count"},
        {WITH("\"shard\": {\"site\": [\"A\"]},"), "shard"},
        {WITH("\"shard\": {\"sites\": [\"A\"], \"index\": 0, \"count\": 2},"), "shard"},
        {WITH("\"shard\": {\"index\": 0, \"count\": 0},"), "shard.count"},
        {WITH("\"shard\": {\"index\": 0, \"count\": 1.5},"), "shard.count"},
        {WITH("\"shard\": {\"index\": 0, \"count\": \"3\"},"), "shard.count"},
        {WITH("\"shard\": {\"index\": 0, \"count\": 5000},"), "shard.count"},
        {WITH("\"shard\": {\"count\": 3},"), "shard.index"},
        {WITH("\"shard\": {\"index\": 3, \"count\": 3},"), "shard.index"},
        {WITH("\"shard\": {\"index\": -1, \"count\": 3},"), "shard.index"},
        {WITH("\"shard\": {\"index\": 0.5, \"count\": 3},"), "shard.index"},
        {WITH("\"shard\": {\"sites\": []},"), "shard.sites"},
        {WITH("\"shard\": {\"sites\": \"A\"},"), "shard.sites"},
        {WITH("\"shard\": {\"sites\": [\"A\", \"a b\"]},"), "shard.sites[1]"},
        {WITH("\"shard\": {\"sites\": [\"A\", 5]},"), "shard.sites[1]"},
        {WITH("\"shard\": {\"sites\": [\"A\", \"A\"]},"), "shard.sites[1]"},
        /* Only A is configured, and there is no "*". */
        {WITH("\"shard\": {\"sites\": [\"A\", \"B\"]},"), "shard.sites[1]"},
        /* A bad key after plugins were read: their configs are freed. */
        {"{\"plugins\": [{\"name\": \"decode\", \"config\": {\"max_data\": 1}}],"
         " \"sites\": {\"A\": {\"timezone\": \"+08:00\", \"calendar\": \"cal.json\"},"
         " \"B\": {\"timezone\": \"8\", \"calendar\": \"cal.json\"}}}",
         "sites.B.timezone"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char path[PATH_MAX], log[8192], want[96];
        sw_config cfg;
        int rc = load_text(bad[i].text, NULL, &cfg, path, sizeof path, log, sizeof log);
        if (rc != SW_ECONFIG)
            fail_msg("config %zu loaded (rc %d): %s", i, rc, bad[i].text);
        snprintf(want, sizeof want, "key '%s'", bad[i].key);
        if (!strstr(log, path) || !strstr(log, want))
            fail_msg("config %zu: the error does not name %s and %s: %s", i, path, want, log);
        /* Nothing is left to free. */
        assert_null(cfg.sites);
        assert_null(cfg.plugins);
        assert_null(cfg.shard.sites);
    }
    /* A bad calendar is reported in its own words too. */
    char path[PATH_MAX], log[8192], cal[PATH_MAX];
    sw_config cfg;
    assert_int_equal(
        load_text(SITE_WITH("{\"timezone\": \"+08:00\", \"calendar\": \"badcal.json\"}"), NULL,
                  &cfg, path, sizeof path, log, sizeof log),
        SW_ECONFIG);
    snprintf(cal, sizeof cal, "%s/badcal.json: key 'covers'", dir);
    assert_non_null(strstr(log, cal));
}

static void test_tls(void **state)
{
    (void)state;
    char want[PATH_MAX], log[4096], path[PATH_MAX];
    sw_config cfg;

    /* Paths relative to the file; verification on unless turned off. */
    load_ok(WITH("\"broker\": \"ssl://broker.example:8883\", \"tls\": {\"ca_file\": \"ca.pem\","
                 " \"cert_file\": \"client.pem\", \"key_file\": \"./client.key\", \"_c\": 1},"),
            NULL, &cfg);
    assert_int_equal(cfg.tls.enabled, 1);
    assert_int_equal(cfg.tls.verify, 1);
    snprintf(want, sizeof want, "%s/ca.pem", dir);
    assert_string_equal(cfg.tls.ca_file, want);
    snprintf(want, sizeof want, "%s/client.pem", dir);
    assert_string_equal(cfg.tls.cert_file, want);
    snprintf(want, sizeof want, "%s/./client.key", dir);
    assert_string_equal(cfg.tls.key_file, want);
    sw_config_free(&cfg);

    /* mqtts:// without a "tls" key: the system's trust store, verified. */
    load_ok(WITH("\"broker\": \"mqtts://broker.example:8883\","), NULL, &cfg);
    assert_int_equal(cfg.tls.enabled, 1);
    assert_int_equal(cfg.tls.verify, 1);
    assert_string_equal(cfg.tls.ca_file, "");
    assert_string_equal(cfg.tls.cert_file, "");
    sw_config_free(&cfg);

    /* verify false is allowed, and warned about. */
    int rc = load_text(WITH("\"broker\": \"ssl://b:8883\", \"tls\": {\"verify\": false},"), NULL,
                       &cfg, path, sizeof path, log, sizeof log);
    assert_int_equal(rc, 0);
    assert_int_equal(cfg.tls.verify, 0);
    assert_non_null(strstr(log, "tls.verify"));
    sw_config_free(&cfg);

    /* Plain TCP: no TLS. */
    load_ok(WITH(""), NULL, &cfg);
    assert_int_equal(cfg.tls.enabled, 0);
    sw_config_free(&cfg);

    /* The scheme is checked after --broker: a TLS URL from the command line
     * makes a "tls" key valid, a plain one makes it an error. */
    sw_config_overrides tls_url = {.broker = "ssl://127.0.0.1:8883"};
    load_ok(WITH("\"tls\": {\"ca_file\": \"ca.pem\"},"), &tls_url, &cfg);
    assert_int_equal(cfg.tls.enabled, 1);
    sw_config_free(&cfg);
    sw_config_overrides tcp_url = {.broker = "tcp://127.0.0.1:1883"};
    rc = load_text(WITH("\"broker\": \"ssl://b:8883\", \"tls\": {\"ca_file\": \"ca.pem\"},"),
                   &tcp_url, &cfg, path, sizeof path, log, sizeof log);
    assert_int_equal(rc, SW_ECONFIG);
    assert_non_null(strstr(log, "key 'tls'"));
    assert_non_null(strstr(log, "tcp://127.0.0.1:1883"));
}

#define SHARD_SITES(extra)                                                                         \
    "{" PLUGINS ", " extra " \"sites\": {"                                                         \
    " \"A\": {\"timezone\": \"+08:00\", \"calendar\": \"cal.json\"},"                              \
    " \"B\": {\"timezone\": \"+08:00\", \"calendar\": \"cal.json\"},"                              \
    " \"site-3\": {\"timezone\": \"+08:00\", \"calendar\": \"cal.json\"}}}"
#define SHARD_ANY(extra)                                                                           \
    "{" PLUGINS ", " extra " \"sites\": {"                                                         \
    " \"*\": {\"timezone\": \"+08:00\", \"calendar\": \"cal.json\"}}}"

static int takes(const sw_config *cfg, const char *topic)
{
    return sw_shard_takes(cfg, topic, strlen(topic));
}

static void free_filters(char **f, int n)
{
    for (int i = 0; i < n; i++)
        free(f[i]);
    free(f);
}

static void test_shard(void **state)
{
    (void)state;
    sw_config cfg;
    char **f;
    int n;

    /* FNV-1a 32-bit: the published test vectors, so other tools agree. */
    assert_int_equal(sw_shard_hash("", 0), 0x811c9dc5u);
    assert_int_equal(sw_shard_hash("a", 1), 0xe40c292cu);
    assert_int_equal(sw_shard_hash("foobar", 6), 0xbf9cf968u);

    /* No shard: every site, strays too, three wildcard filters. */
    load_ok(SHARD_ANY(""), NULL, &cfg);
    assert_int_equal(cfg.shard.mode, SW_SHARD_NONE);
    assert_true(takes(&cfg, "siteward/X/event/sensor/d1"));
    assert_true(takes(&cfg, "siteward/_bad/event/sensor/d1"));
    assert_true(takes(&cfg, "siteward/X"));
    assert_int_equal(sw_shard_filters(&cfg, &f, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(f[0], "siteward/+/event/+/+");
    assert_string_equal(f[1], "siteward/+/report/+");
    assert_string_equal(f[2], "siteward/+/cmd/+");
    free_filters(f, n);
    assert_int_equal(sw_shard_stale(&cfg, &f, &n), 0);
    assert_int_equal(n, 0);
    sw_config_free(&cfg);

    /* A list: those sites only, one filter per site and kind, no strays. */
    load_ok(SHARD_SITES("\"prefix\": \"acme/sw\", \"shard\": {\"sites\": [\"B\", \"A\"]},"), NULL,
            &cfg);
    assert_int_equal(cfg.shard.mode, SW_SHARD_SITES);
    assert_true(takes(&cfg, "acme/sw/A/event/sensor/d1"));
    assert_true(takes(&cfg, "acme/sw/B/cmd/li.wei"));
    assert_true(takes(&cfg, "acme/sw/B/nonsense")); /* B's to dead-letter */
    assert_false(takes(&cfg, "acme/sw/site-3/event/sensor/d1"));
    assert_false(takes(&cfg, "acme/sw/AB/event/sensor/d1"));
    assert_false(takes(&cfg, "acme/sw/_x/event/sensor/d1"));
    assert_false(takes(&cfg, "other/A/event/sensor/d1"));
    assert_int_equal(sw_shard_filters(&cfg, &f, &n), 0);
    assert_int_equal(n, 6);
    assert_string_equal(f[0], "acme/sw/B/event/+/+");
    assert_string_equal(f[1], "acme/sw/B/report/+");
    assert_string_equal(f[2], "acme/sw/B/cmd/+");
    assert_string_equal(f[3], "acme/sw/A/event/+/+");
    assert_string_equal(f[5], "acme/sw/A/cmd/+");
    free_filters(f, n);
    /* What an unsharded run may have left in the session. */
    assert_int_equal(sw_shard_stale(&cfg, &f, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(f[0], "acme/sw/+/event/+/+");
    assert_string_equal(f[2], "acme/sw/+/cmd/+");
    free_filters(f, n);
    sw_config_free(&cfg);

    /* By hash: every site belongs to exactly one of the instances, strays
     * to shard 0; with the sites listed, each subscribes to its own. */
    static const char *sites[] = {"A", "B", "site-3"};
    int owners[3] = {0, 0, 0}, filters = 0;
    for (int i = 0; i < 3; i++) {
        char text[1024];
        snprintf(text, sizeof text, SHARD_SITES("\"shard\": {\"index\": %d, \"count\": 3},"), i);
        load_ok(text, NULL, &cfg);
        assert_int_equal(cfg.shard.mode, SW_SHARD_HASH);
        for (int s = 0; s < 3; s++) {
            char topic[64];
            snprintf(topic, sizeof topic, "siteward/%s/report/u1", sites[s]);
            int own = takes(&cfg, topic);
            assert_int_equal(own, sw_shard_hash(sites[s], strlen(sites[s])) % 3 == (uint32_t)i);
            owners[s] += own;
        }
        assert_int_equal(takes(&cfg, "siteward/a b/report/u1"), i == 0);
        assert_int_equal(sw_shard_filters(&cfg, &f, &n), 0);
        for (int k = 0; k < n; k++) {
            char site[65];
            assert_int_equal(sscanf(f[k], "siteward/%64[^/]/", site), 1);
            assert_true(sw_shard_owns(&cfg, site, strlen(site)));
        }
        filters += n;
        free_filters(f, n);
        sw_config_free(&cfg);
    }
    for (int s = 0; s < 3; s++)
        assert_int_equal(owners[s], 1);
    assert_int_equal(filters, 9);

    /* By hash over any site: MQTT cannot filter by hash, so a wildcard. */
    load_ok(SHARD_ANY("\"shard\": {\"index\": 1, \"count\": 2},"), NULL, &cfg);
    assert_int_equal(sw_shard_filters(&cfg, &f, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(f[0], "siteward/+/event/+/+");
    free_filters(f, n);
    assert_int_equal(sw_shard_stale(&cfg, &f, &n), 0);
    assert_int_equal(n, 0);
    assert_false(takes(&cfg, "siteward/_bad/event/sensor/d1"));
    sw_config_free(&cfg);
}

static void test_unreadable_configs(void **state)
{
    (void)state;
    static const char *bad[] = {"", "[]", "{\"broker\": ", "# siteward\n{}", "{}}", "42"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char path[PATH_MAX], log[4096];
        sw_config cfg;
        int rc = load_text(bad[i], NULL, &cfg, path, sizeof path, log, sizeof log);
        if (rc != SW_ECONFIG || !strstr(log, path))
            fail_msg("config '%s': rc %d, log %s", bad[i], rc, log);
    }
    char path[PATH_MAX], log[4096];
    sw_config cfg;
    unit_capture cap;
    snprintf(path, sizeof path, "%s/no-such-config.json", dir);
    unit_capture_start(&cap, dir);
    int rc = sw_config_load(&cfg, path, NULL);
    unit_capture_stop(&cap, log, sizeof log);
    assert_int_equal(rc, SW_ECONFIG);
    assert_non_null(strstr(log, path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_config),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_bad_overrides),
        cmocka_unit_test(test_minimal_config),
        cmocka_unit_test(test_sites),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_relative_config_path),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_unreadable_configs),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_shard),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
