/* Policy loading: the shipped profiles and their limits, "extends", the
 * defaults of a minimal policy, and every kind of error naming its key. */
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

#include "policy.h"
#include "siteward/types.h"

#define POLICY_DIR SW_SOURCE_DIR "/config/policy"
#define MIN        60000LL
#define HOUR       3600000LL
#define DAY        (24 * HOUR)

static char dir[UNIT_DIR_MAX];

static int setup(void **state)
{
    (void)state;
    return unit_tmpdir(dir, sizeof dir);
}

static int teardown(void **state)
{
    (void)state;
    unit_rmtree(dir);
    return 0;
}

static void test_default_profile(void **state)
{
    (void)state;
    sw_policy p;
    assert_int_equal(sw_policy_load(&p, POLICY_DIR "/default.json"), 0);
    const sw_class *fire = sw_policy_class(&p, "fire");
    assert_non_null(fire);
    assert_int_equal(fire->level, 1);
    assert_string_equal(fire->priority, "urgent");
    assert_true(fire->has_review);
    assert_int_equal(fire->nnotify, 2);
    const sw_obl_rule *plan = sw_class_rule(fire, "plan_activated");
    assert_int_equal(plan->within.ms, 5 * 60000);
    assert_string_equal(plan->met_by, "plan_activated");
    assert_string_equal(plan->chain->name, "emergency");
    const sw_obl_rule *review = sw_class_rule(fire, "review");
    assert_int_equal(review->within.ms, 24 * 3600000LL);
    assert_int_equal(review->from, SW_FROM_CLOSED);
    assert_string_equal(review->chain->name, "review");

    const sw_class *water = sw_policy_class(&p, "water");
    assert_int_equal(water->level, 2);
    assert_int_equal(sw_class_rule(water, "site_plan")->within.ms, 30 * 60000);
    assert_true(water->resolve_on_normal);
    assert_false(fire->resolve_on_normal);

    const sw_class *repair = sw_policy_class(&p, "repair");
    assert_int_equal(repair->level, 0);
    assert_int_equal(sw_class_rule(repair, "responded")->within.ms, 15 * 60000);
    assert_int_equal(sw_class_rule(repair, "closed")->within.working_days, 3);
    assert_string_equal(sw_class_rule(repair, "closed")->chain->name, "default");

    const sw_class *complaint = sw_policy_class(&p, "complaint");
    const sw_obl_rule *cb = sw_class_rule(complaint, "callback");
    assert_true(cb->contact);
    assert_int_equal(cb->quiet_from, 21 * 60);
    assert_int_equal(cb->quiet_to, 8 * 60);
    assert_int_equal(sw_class_rule(complaint, "satisfaction")->from, SW_FROM_CLOSED);

    assert_int_equal(p.keep_ms, 365 * 24 * 3600000LL);
    assert_int_equal(p.review_grace_ms, 30 * 24 * 3600000LL);
    assert_false(sw_policy_class(&p, "telemetry")->incident);
    assert_null(sw_policy_class(&p, "unicorn"));
    sw_policy_free(&p);
}

/* Every time limit of DOMAIN.md's default set, as the default policy has it. */
static void test_default_profile_limits(void **state)
{
    (void)state;
    static const struct {
        const char *cls, *obl, *met_by;
        int64_t ms;
        int wd;
        enum sw_from from;
        int contact;
    } want[] = {
        {"fire", "plan_activated", "plan_activated", 5 * MIN, 0, SW_FROM_OPENED, 0},
        {"fire", "manager_on_site", "on_site", 10 * MIN, 0, SW_FROM_OPENED, 0},
        {"gas_leak", "plan_activated", "plan_activated", 5 * MIN, 0, SW_FROM_OPENED, 0},
        {"gas_leak", "manager_on_site", "on_site", 10 * MIN, 0, SW_FROM_OPENED, 0},
        {"elevator_entrapment", "plan_activated", "plan_activated", 5 * MIN, 0, SW_FROM_OPENED, 0},
        {"elevator_entrapment", "manager_on_site", "on_site", 10 * MIN, 0, SW_FROM_OPENED, 0},
        {"emergency_call", "plan_activated", "plan_activated", 5 * MIN, 0, SW_FROM_OPENED, 0},
        {"emergency_call", "manager_on_site", "on_site", 10 * MIN, 0, SW_FROM_OPENED, 0},
        {"water", "site_plan", "plan_activated", 30 * MIN, 0, SW_FROM_OPENED, 0},
        {"power_loss", "site_plan", "plan_activated", 30 * MIN, 0, SW_FROM_OPENED, 0},
        {"elevator_fault", "site_plan", "plan_activated", 30 * MIN, 0, SW_FROM_OPENED, 0},
        {"security", "handling_started", "ack", 5 * MIN, 0, SW_FROM_OPENED, 0},
        {"visitor", "responded", "ack", 1 * MIN, 0, SW_FROM_OPENED, 0},
        {"visitor", "verified", "verified", 3 * MIN, 0, SW_FROM_OPENED, 0},
        {"repair", "responded", "ack", 15 * MIN, 0, SW_FROM_OPENED, 0},
        {"repair", "progress", "progress", 24 * HOUR, 0, SW_FROM_OPENED, 0},
        {"repair", "closed", "close", 0, 3, SW_FROM_OPENED, 0},
        {"complaint", "callback", "callback_done", 1 * HOUR, 0, SW_FROM_OPENED, 1},
        {"complaint", "satisfaction", "satisfaction", 3 * DAY, 0, SW_FROM_CLOSED, 1},
        {"complaint_offline", "verified_on_site", "verified", 2 * HOUR, 0, SW_FROM_OPENED, 0},
        {"complaint_offline", "satisfaction", "satisfaction", 3 * DAY, 0, SW_FROM_CLOSED, 1},
        {"request_urgent", "recorded", "ack", 1 * HOUR, 0, SW_FROM_OPENED, 0},
        {"request_urgent", "handled", "resolve", 2 * HOUR, 0, SW_FROM_OPENED, 0},
        {"request_general", "recorded", "ack", 1 * HOUR, 0, SW_FROM_OPENED, 0},
        {"request_general", "handled", "resolve", 0, 1, SW_FROM_OPENED, 0},
        {"inquiry", "answered", "resolve", 5 * MIN, 0, SW_FROM_OPENED, 0},
    };
    sw_policy p;
    assert_int_equal(sw_policy_load(&p, POLICY_DIR "/default.json"), 0);
    assert_string_equal(p.name, "default");
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const sw_obl_rule *r = sw_class_rule(sw_policy_class(&p, want[i].cls), want[i].obl);
        if (!r)
            fail_msg("%s has no obligation %s", want[i].cls, want[i].obl);
        if (r->within.ms != want[i].ms || r->within.working_days != want[i].wd ||
            r->within.working_ms != 0 || strcmp(r->met_by, want[i].met_by) ||
            r->from != want[i].from || r->contact != want[i].contact)
            fail_msg("%s.%s: %lld ms, %d wd, met by %s, from %d, contact %d", want[i].cls,
                     want[i].obl, (long long)r->within.ms, r->within.working_days, r->met_by,
                     (int)r->from, r->contact);
        /* Quiet hours apply to resident contact only. */
        assert_int_equal(r->quiet_from, r->contact ? 21 * 60 : -1);
        assert_int_equal(r->quiet_to, r->contact ? 8 * 60 : -1);
    }
    /* Level I and II emergencies owe a review within 24 h; service requests do not. */
    static const char *reviewed[] = {"fire",  "gas_leak",   "elevator_entrapment", "emergency_call",
                                     "water", "power_loss", "elevator_fault"};
    for (size_t i = 0; i < sizeof reviewed / sizeof *reviewed; i++) {
        const sw_class *c = sw_policy_class(&p, reviewed[i]);
        const sw_obl_rule *r = sw_class_rule(c, "review");
        assert_int_equal(c->level, i < 4 ? 1 : 2);
        assert_string_equal(c->priority, "urgent");
        assert_true(c->has_review);
        assert_non_null(r);
        assert_int_equal(r->within.ms, 24 * HOUR);
        assert_string_equal(r->met_by, "review");
        assert_int_equal(r->from, SW_FROM_CLOSED);
        assert_string_equal(r->chain->name, "review");
        /* The review is the last rule of its class. */
        assert_ptr_equal(r, &c->obl[c->nobl - 1]);
    }
    static const char *plain[] = {
        "security",          "visitor",        "repair",          "complaint",
        "complaint_offline", "request_urgent", "request_general", "inquiry"};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
        const sw_class *c = sw_policy_class(&p, plain[i]);
        assert_int_equal(c->level, 0);
        assert_false(c->has_review);
        assert_null(sw_class_rule(c, "review"));
        assert_true(c->incident);
    }
    assert_false(sw_policy_class(&p, "patrol")->incident);
    assert_int_equal(sw_policy_class(&p, "patrol")->nobl, 0);
    assert_int_equal(p.nclasses, 27); /* with the expected-event and planned-work classes */
    sw_policy_free(&p);
}

static void test_default_chains(void **state)
{
    (void)state;
    sw_policy p;
    assert_int_equal(sw_policy_load(&p, POLICY_DIR "/default.json"), 0);
    assert_int_equal(p.nchains, 5);
    assert_int_equal(p.quiet_from_min, 21 * 60);
    assert_int_equal(p.quiet_to_min, 8 * 60);

    /* Butler, then department supervisor, then project manager, then the
     * special task force (three-level supervision). */
    const sw_chain *def = sw_class_rule(sw_policy_class(&p, "repair"), "closed")->chain;
    static const char *roles[] = {"butler", "supervisor", "manager", "task_force"};
    static const int64_t after[] = {0, 15 * MIN, 30 * MIN, 2 * HOUR};
    assert_string_equal(def->name, "default");
    assert_int_equal(def->nsteps, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(def->steps[i].role, roles[i]);
        assert_int_equal(def->steps[i].after.ms, after[i]);
    }
    assert_int_equal(def->repeat.ms, 30 * MIN);

    const sw_class *fire = sw_policy_class(&p, "fire");
    const sw_chain *em = sw_class_rule(fire, "manager_on_site")->chain;
    assert_string_equal(em->name, "emergency");
    assert_int_equal(em->nsteps, 3);
    assert_string_equal(em->steps[0].role, "supervisor");
    assert_string_equal(em->steps[2].role, "task_force");
    assert_int_equal(em->steps[2].after.ms, 10 * MIN);
    assert_int_equal(em->repeat.ms, 5 * MIN);
    const sw_chain *rev = sw_class_rule(fire, "review")->chain;
    assert_int_equal(rev->nsteps, 1);
    assert_string_equal(rev->steps[0].role, "manager");
    assert_int_equal(rev->repeat.ms, 4 * HOUR);
    assert_string_equal(fire->notify[0], "manager");
    assert_string_equal(fire->notify[1], "control_room");
    assert_string_equal(fire->label, "Fire alarm");
    assert_string_equal(sw_class_rule(fire, "manager_on_site")->label, "manager not on site");
    sw_policy_free(&p);
}

static void test_ops(void **state)
{
    (void)state;
    static const char *ops[] = {
        "ack",      "plan_activated", "on_site",    "progress", "resolve",
        "close",    "reopen",         "reclassify", "comment",  "callback_done",
        "verified", "satisfaction",   "review",     NULL};
    for (int i = 0; ops[i]; i++)
        if (!sw_op_known(ops[i]))
            fail_msg("op %s is not known", ops[i]);
    assert_false(sw_op_known(""));
    assert_false(sw_op_known("ACK"));
    assert_false(sw_op_known("acknowledge"));
    assert_false(sw_op_known("dance"));
    assert_false(sw_op_known("ack "));
}

static void test_alternative_profiles_extend_the_default(void **state)
{
    (void)state;
    sw_policy p;
    assert_int_equal(sw_policy_load(&p, POLICY_DIR "/quality-plan.json"), 0);
    assert_string_equal(p.name, "quality-plan");
    assert_int_equal(sw_class_rule(sw_policy_class(&p, "repair"), "responded")->within.ms,
                     24 * 3600000LL);
    assert_int_equal(sw_class_rule(sw_policy_class(&p, "repair_major"), "fixed")->within.ms,
                     7 * 24 * 3600000LL);
    /* Untouched classes come from the default. */
    assert_int_equal(sw_policy_class(&p, "fire")->level, 1);
    sw_policy_free(&p);
    assert_int_equal(sw_policy_load(&p, POLICY_DIR "/customer-handbook.json"), 0);
    assert_int_equal(sw_class_rule(sw_policy_class(&p, "complaint"), "solved")->within.ms,
                     48 * 3600000LL);
    sw_policy_free(&p);
}

/* Quality-assurance plan: repairs answered <= 24 h, general faults fixed
 * <= 3 h, major faults <= 7 days. A class given by the profile replaces the
 * default's class whole; the rest is inherited. */
static void test_quality_plan(void **state)
{
    (void)state;
    sw_policy p;
    assert_int_equal(sw_policy_load(&p, POLICY_DIR "/quality-plan.json"), 0);
    const sw_class *repair = sw_policy_class(&p, "repair");
    assert_int_equal(repair->nobl, 2);
    assert_int_equal(sw_class_rule(repair, "responded")->within.ms, 24 * HOUR);
    assert_int_equal(sw_class_rule(repair, "fixed")->within.ms, 3 * HOUR);
    assert_string_equal(sw_class_rule(repair, "fixed")->met_by, "resolve");
    assert_null(sw_class_rule(repair, "closed")); /* the default's 3 wd is gone */
    assert_null(sw_class_rule(repair, "progress"));
    assert_string_equal(repair->label, "Repair request (general fault)");
    /* Without a label, an obligation is labelled by its name. */
    assert_string_equal(sw_class_rule(repair, "fixed")->label, "fixed");
    const sw_class *major = sw_policy_class(&p, "repair_major");
    assert_non_null(major);
    assert_string_equal(major->priority, "urgent");
    assert_int_equal(major->nobl, 2);
    assert_int_equal(sw_class_rule(major, "fixed")->within.ms, 7 * DAY);
    assert_string_equal(sw_class_rule(major, "fixed")->chain->name, "default");
    assert_int_equal(p.nclasses, 28); /* with the expected-event and planned-work classes */
    /* Inherited: emergencies, complaints, chains, quiet hours, retention. */
    assert_int_equal(sw_class_rule(sw_policy_class(&p, "fire"), "plan_activated")->within.ms,
                     5 * MIN);
    assert_int_equal(sw_class_rule(sw_policy_class(&p, "complaint"), "callback")->within.ms, HOUR);
    assert_int_equal(p.nchains, 5);
    assert_int_equal(p.quiet_from_min, 21 * 60);
    assert_int_equal(p.keep_ms, 365 * DAY);
    /* Top-level sections other than classes are replaced: the profile's own
     * report routing, which sends urgent repairs to repair_major. */
    const cJSON *reports = cJSON_GetObjectItemCaseSensitive(p.root, "reports");
    assert_int_equal(cJSON_GetArraySize(reports), 8);
    const cJSON *r1 = cJSON_GetArrayItem(reports, 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r1, "class")),
                        "repair_major");
    /* The default's other sections are kept for the plugins. */
    assert_non_null(cJSON_GetObjectItemCaseSensitive(p.root, "event_types"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(p.root, "correlation"));
    sw_policy_free(&p);
}

/* Customer handbook: complaints answered <= 24 h, solved <= 48 h. */
static void test_customer_handbook(void **state)
{
    (void)state;
    sw_policy p;
    assert_int_equal(sw_policy_load(&p, POLICY_DIR "/customer-handbook.json"), 0);
    assert_string_equal(p.name, "customer-handbook");
    assert_int_equal(p.nclasses, 27); /* with the expected-event and planned-work classes */
    static const char *classes[] = {"complaint", "complaint_offline"};
    for (int i = 0; i < 2; i++) {
        const sw_class *c = sw_policy_class(&p, classes[i]);
        assert_int_equal(c->nobl, 3);
        const sw_obl_rule *answered = sw_class_rule(c, "answered");
        assert_int_equal(answered->within.ms, 24 * HOUR);
        assert_true(answered->contact);
        assert_int_equal(answered->quiet_from, 21 * 60); /* the default's quiet hours */
        assert_string_equal(answered->met_by, i == 0 ? "callback_done" : "verified");
        const sw_obl_rule *solved = sw_class_rule(c, "solved");
        assert_int_equal(solved->within.ms, 48 * HOUR);
        assert_false(solved->contact);
        assert_int_equal(solved->quiet_from, -1);
        assert_int_equal(sw_class_rule(c, "satisfaction")->within.ms, 3 * DAY);
        assert_int_equal(sw_class_rule(c, "satisfaction")->from, SW_FROM_CLOSED);
        assert_null(sw_class_rule(c, "callback"));
        assert_null(sw_class_rule(c, "verified_on_site"));
    }
    /* Repairs keep the default's limits. */
    assert_int_equal(sw_class_rule(sw_policy_class(&p, "repair"), "closed")->within.working_days,
                     3);
    assert_null(sw_policy_class(&p, "repair_major"));
    sw_policy_free(&p);
}

static void write_file(const char *name, const char *text, char *path, size_t len)
{
    unit_write(dir, name, text, path, len);
}

#define BASE                                                                                       \
    "{\"name\": \"base\", \"quiet_hours\": {\"from\": \"22:00\", \"to\": \"07:00\"},"              \
    " \"escalations\": {\"default\": {\"chain\": [{\"role\": \"butler\", \"after\": \"0m\"}],"     \
    " \"repeat\": \"10m\"}},"                                                                      \
    " \"classes\": {"                                                                              \
    "  \"a\": {\"level\": 1, \"obligations\": [{\"name\": \"o1\", \"within\": \"5m\","             \
    " \"met_by\": \"ack\"}]},"                                                                     \
    "  \"b\": {\"obligations\": [{\"name\": \"o2\", \"within\": \"1h\", \"met_by\": \"resolve\","  \
    " \"contact\": true}]}}}"

static void test_extends(void **state)
{
    (void)state;
    char path[PATH_MAX], sub[PATH_MAX], text[PATH_MAX + 256];
    sw_policy p;

    write_file("base.json", BASE, path, sizeof path);
    write_file("child.json",
               "{\"name\": \"child\", \"extends\": \"base.json\", \"classes\": {"
               " \"b\": {\"priority\": \"urgent\"},"
               " \"c\": {\"obligations\": [{\"name\": \"o3\", \"within\": \"2wd\","
               " \"met_by\": \"close\"}]}}}",
               path, sizeof path);
    assert_int_equal(sw_policy_load(&p, path), 0);
    assert_string_equal(p.name, "child");
    assert_string_equal(p.path, path);
    assert_int_equal(p.nclasses, 3);
    const sw_class *a = sw_policy_class(&p, "a");
    assert_int_equal(a->level, 1);
    assert_int_equal(sw_class_rule(a, "o1")->within.ms, 5 * MIN);
    assert_string_equal(sw_class_rule(a, "o1")->chain->name, "default");
    /* "b" is replaced, not merged: its obligation is gone. */
    const sw_class *b = sw_policy_class(&p, "b");
    assert_string_equal(b->priority, "urgent");
    assert_int_equal(b->nobl, 0);
    assert_int_equal(sw_class_rule(sw_policy_class(&p, "c"), "o3")->within.working_days, 2);
    assert_int_equal(p.quiet_from_min, 22 * 60);
    assert_int_equal(p.quiet_to_min, 7 * 60);
    /* "extends" itself is not carried into the merged document. */
    assert_null(cJSON_GetObjectItemCaseSensitive(p.root, "extends"));
    sw_policy_free(&p);

    /* Two levels, the second from a subfolder: "extends" is relative to the
     * file that says it. No name of its own: the nearest one is inherited. */
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file("sub/grandchild.json",
               "{\"extends\": \"../child.json\","
               " \"quiet_hours\": {\"from\": \"23:00\", \"to\": \"06:00\"},"
               " \"escalations\": {\"default\": {\"chain\": [{\"role\": \"butler\", \"after\":"
               " \"0m\"}, {\"role\": \"manager\", \"after\": \"20m\"}], \"repeat\": \"1h\"}},"
               " \"classes\": {\"a\": {\"level\": 2, \"obligations\": [{\"name\": \"o1\","
               " \"within\": \"7m\", \"met_by\": \"ack\", \"contact\": true}]}}}",
               path, sizeof path);
    assert_int_equal(sw_policy_load(&p, path), 0);
    assert_string_equal(p.name, "child");
    assert_int_equal(p.nclasses, 3);
    a = sw_policy_class(&p, "a");
    assert_int_equal(a->level, 2);
    const sw_obl_rule *o1 = sw_class_rule(a, "o1");
    assert_int_equal(o1->within.ms, 7 * MIN);
    assert_int_equal(o1->chain->nsteps, 2);
    assert_int_equal(o1->chain->repeat.ms, HOUR);
    assert_int_equal(o1->quiet_from, 23 * 60);
    assert_int_equal(o1->quiet_to, 6 * 60);
    assert_string_equal(sw_policy_class(&p, "b")->priority, "urgent");
    assert_non_null(sw_policy_class(&p, "c"));
    sw_policy_free(&p);

    /* An absolute path. */
    snprintf(text, sizeof text,
             "{\"extends\": \"%s/base.json\", \"classes\": {\"d\": {\"incident\": false}}}", dir);
    write_file("sub/absolute.json", text, path, sizeof path);
    assert_int_equal(sw_policy_load(&p, path), 0);
    assert_string_equal(p.name, "base");
    assert_int_equal(p.nclasses, 3);
    assert_false(sw_policy_class(&p, "d")->incident);
    assert_int_equal(sw_class_rule(sw_policy_class(&p, "b"), "o2")->quiet_from, 22 * 60);
    sw_policy_free(&p);

    /* The shipped default as a base, from elsewhere on disk. */
    snprintf(text, sizeof text,
             "{\"name\": \"site-7\", \"extends\": \"%s/default.json\", \"classes\": {\"inquiry\":"
             " {\"obligations\": [{\"name\": \"answered\", \"within\": \"10m\", \"met_by\":"
             " \"resolve\"}]}}}",
             POLICY_DIR);
    write_file("site7.json", text, path, sizeof path);
    assert_int_equal(sw_policy_load(&p, path), 0);
    assert_string_equal(p.name, "site-7");
    assert_int_equal(p.nclasses, 27); /* with the expected-event and planned-work classes */
    assert_int_equal(sw_class_rule(sw_policy_class(&p, "inquiry"), "answered")->within.ms,
                     10 * MIN);
    assert_int_equal(sw_class_rule(sw_policy_class(&p, "fire"), "manager_on_site")->within.ms,
                     10 * MIN);
    sw_policy_free(&p);
}

/* A minimal policy: what each field is when left out. */
static void test_defaults(void **state)
{
    (void)state;
    char path[PATH_MAX];
    sw_policy p;
    write_file("minimal.json",
               "{\"classes\": {\"bare\": {}, \"rev\": {\"review\": {\"within\": \"24h\"}},"
               " \"o\": {\"obligations\": ["
               "  {\"name\": \"x\", \"within\": \"2h\", \"met_by\": \"resolve\", \"from\":"
               " \"resolved\", \"contact\": true},"
               "  {\"name\": \"y\", \"within\": \"8wh\", \"met_by\": \"progress\", \"from\":"
               " \"opened\", \"contact\": false}]}}}",
               path, sizeof path);
    assert_int_equal(sw_policy_load(&p, path), 0);
    assert_string_equal(p.name, "unnamed");
    assert_int_equal(p.nchains, 0);
    assert_int_equal(p.quiet_from_min, -1);
    assert_int_equal(p.quiet_to_min, -1);
    assert_int_equal(p.keep_ms, 365 * DAY);
    assert_int_equal(p.review_grace_ms, 30 * DAY);

    const sw_class *bare = sw_policy_class(&p, "bare");
    assert_string_equal(bare->label, "bare");
    assert_int_equal(bare->level, 0);
    assert_string_equal(bare->priority, "general");
    assert_true(bare->incident);
    assert_false(bare->resolve_on_normal);
    assert_int_equal(bare->nobl, 0);
    assert_false(bare->has_review);
    assert_int_equal(bare->nnotify, 0);
    assert_null(sw_class_rule(bare, "review"));

    const sw_class *rev = sw_policy_class(&p, "rev");
    assert_true(rev->has_review);
    assert_int_equal(rev->nobl, 1);
    const sw_obl_rule *r = sw_class_rule(rev, "review");
    assert_int_equal(r->within.ms, 24 * HOUR);
    assert_string_equal(r->met_by, "review");
    assert_int_equal(r->from, SW_FROM_CLOSED);
    assert_null(r->chain); /* no chains: a miss is recorded, nobody is told */
    assert_int_equal(r->quiet_from, -1);

    const sw_class *o = sw_policy_class(&p, "o");
    const sw_obl_rule *x = sw_class_rule(o, "x");
    assert_int_equal(x->from, SW_FROM_RESOLVED);
    assert_true(x->contact);
    assert_int_equal(x->quiet_from, -1); /* contact, but the policy has no quiet hours */
    assert_string_equal(x->label, "x");
    assert_null(x->chain);
    const sw_obl_rule *y = sw_class_rule(o, "y");
    assert_int_equal(y->from, SW_FROM_OPENED);
    assert_false(y->contact);
    assert_int_equal(y->within.working_ms, 8 * HOUR);
    assert_int_equal(y->within.ms, 0);
    assert_null(sw_class_rule(o, "z"));
    assert_null(sw_class_rule(NULL, "x"));
    sw_policy_free(&p);
}

/* Which chain an obligation escalates along: its own, else its class's,
 * else "default". Quiet hours and retention as written. */
static void test_chains_quiet_hours_retention(void **state)
{
    (void)state;
    char path[PATH_MAX];
    sw_policy p;
    write_file(
        "chains.json",
        "{\"quiet_hours\": {\"from\": \"23:30\", \"to\": \"06:00\"},"
        " \"retention\": {\"keep\": \"90d\", \"review_grace\": \"7d\"},"
        " \"escalations\": {"
        "  \"default\": {\"chain\": [{\"role\": \"butler\", \"after\": \"0m\"}],"
        " \"repeat\": \"1s\"},"
        "  \"other\": {\"chain\": [{\"role\": \"a\", \"after\": \"0s\"}, {\"role\": \"b\","
        " \"after\": \"1wd\"}, {\"role\": \"c\", \"after\": \"25h\"}], \"repeat\": \"2wh\"}},"
        " \"classes\": {"
        "  \"k\": {\"escalation\": \"other\", \"notify\": [\"a\", \"b\", \"c\","
        " \"control_room\"], \"obligations\": ["
        "   {\"name\": \"a\", \"within\": \"1m\", \"met_by\": \"ack\", \"contact\": true},"
        "   {\"name\": \"b\", \"within\": \"1m\", \"met_by\": \"ack\", \"escalation\":"
        " \"default\"}],"
        "   \"review\": {\"within\": \"1d\"}},"
        "  \"l\": {\"obligations\": [{\"name\": \"a\", \"within\": \"1m\", \"met_by\":"
        " \"ack\"}], \"review\": {\"within\": \"1d\", \"escalation\": \"other\"}}}}",
        path, sizeof path);
    assert_int_equal(sw_policy_load(&p, path), 0);
    assert_int_equal(p.quiet_from_min, 23 * 60 + 30);
    assert_int_equal(p.quiet_to_min, 6 * 60);
    assert_int_equal(p.keep_ms, 90 * DAY);
    assert_int_equal(p.review_grace_ms, 7 * DAY);
    const sw_class *k = sw_policy_class(&p, "k");
    assert_int_equal(k->nnotify, 4);
    assert_string_equal(k->notify[3], "control_room");
    assert_string_equal(sw_class_rule(k, "a")->chain->name, "other");
    assert_int_equal(sw_class_rule(k, "a")->quiet_from, 23 * 60 + 30);
    assert_string_equal(sw_class_rule(k, "b")->chain->name, "default");
    assert_string_equal(sw_class_rule(k, "review")->chain->name, "other");
    const sw_class *l = sw_policy_class(&p, "l");
    assert_string_equal(sw_class_rule(l, "a")->chain->name, "default");
    assert_string_equal(sw_class_rule(l, "review")->chain->name, "other");
    const sw_chain *other = sw_class_rule(k, "a")->chain;
    assert_int_equal(other->nsteps, 3);
    assert_int_equal(other->steps[1].after.working_days, 1);
    assert_int_equal(other->steps[2].after.ms, 25 * HOUR);
    assert_int_equal(other->repeat.working_ms, 2 * HOUR);
    sw_policy_free(&p);

    /* Only one retention key: the other keeps its default. */
    write_file("keep.json", "{\"retention\": {\"keep\": \"30d\"}, \"classes\": {\"x\": {}}}", path,
               sizeof path);
    assert_int_equal(sw_policy_load(&p, path), 0);
    assert_int_equal(p.keep_ms, 30 * DAY);
    assert_int_equal(p.review_grace_ms, 30 * DAY);
    assert_int_equal(p.dedup_ms, 30 * DAY);
    sw_policy_free(&p);
    write_file("dedup.json", "{\"retention\": {\"dedup\": \"7d\"}, \"classes\": {\"x\": {}}}", path,
               sizeof path);
    assert_int_equal(sw_policy_load(&p, path), 0);
    assert_int_equal(p.dedup_ms, 7 * DAY);
    assert_int_equal(p.keep_ms, 365 * DAY);
    sw_policy_free(&p);
}

/* Load `text` from a file; on failure, put what was logged in `log`. */
static int load_text(const char *text, char *path, size_t plen, char *log, size_t llen)
{
    sw_policy p;
    unit_capture cap;
    write_file("p.json", text, path, plen);
    unit_capture_start(&cap, dir);
    int rc = sw_policy_load(&p, path);
    unit_capture_stop(&cap, log, llen);
    if (!rc)
        sw_policy_free(&p);
    return rc;
}

#define CLASS(body) "{\"classes\": {\"x\": " body "}}"
#define OBL(body)   CLASS("{\"obligations\": [" body "]}")
#define CHAIN(body) "{\"escalations\": {\"e\": " body "}, \"classes\": {\"x\": {}}}"
#define OK_OBL      "{\"name\": \"a\", \"within\": \"5m\", \"met_by\": \"ack\"}"
#define NAME48      "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv"
#define ROLE32      "abcdefghijklmnopqrstuvwxyzabcdef"

/* A reload reaches open incidents only where the policy says so. */
static void test_apply_to_open(void **state)
{
    char path[PATH_MAX];
    sw_policy p;
    (void)state;
    write_file("p.json", "{\"classes\": {\"a\": {}, \"b\": {\"apply_to_open\": true}}}", path,
               sizeof path);
    assert_int_equal(sw_policy_load(&p, path), 0);
    assert_false(sw_policy_class(&p, "a")->apply_to_open);
    assert_true(sw_policy_class(&p, "b")->apply_to_open);
    sw_policy_free(&p);
    write_file("p.json",
               "{\"apply_to_open\": true, \"classes\": {\"a\": {}, \"b\": {\"apply_to_open\": "
               "false}}}",
               path, sizeof path);
    assert_int_equal(sw_policy_load(&p, path), 0);
    assert_true(sw_policy_class(&p, "a")->apply_to_open);
    assert_false(sw_policy_class(&p, "b")->apply_to_open);
    sw_policy_free(&p);
}

static void test_bad_policies(void **state)
{
    (void)state;
    /* Each is refused, and the message names the file and the key. */
    static const struct {
        const char *text, *key;
    } bad[] = {
        {"{}", "classes"},
        {"{\"classes\": {}}", "classes"},
        {"{\"classes\": []}", "classes"},
        {"{\"classes\": \"x\"}", "classes"},
        {"{\"classes\": {\"\": {}}}", "classes"},
        {"{\"classes\": {\"" NAME48 "\": {}}}", "classes"},
        {CLASS("5"), "classes.x"},
        {CLASS("[]"), "classes.x"},
        {CLASS("{\"level\": 3}"), "classes.x.level"},
        {CLASS("{\"level\": 0}"), "classes.x.level"},
        {CLASS("{\"level\": 1.5}"), "classes.x.level"},
        {CLASS("{\"level\": \"1\"}"), "classes.x.level"},
        {CLASS("{\"level\": null}"), "classes.x.level"},
        {CLASS("{\"priority\": \"soon\"}"), "classes.x.priority"},
        {CLASS("{\"priority\": \"Urgent\"}"), "classes.x.priority"},
        {CLASS("{\"priority\": 1}"), "classes.x.priority"},
        {CLASS("{\"incident\": \"no\"}"), "classes.x.incident"},
        {CLASS("{\"incident\": 0}"), "classes.x.incident"},
        {CLASS("{\"resolve_on_normal\": \"yes\"}"), "classes.x.resolve_on_normal"},
        {CLASS("{\"apply_to_open\": \"yes\"}"), "classes.x.apply_to_open"},
        {"{\"apply_to_open\": 1, \"classes\": {\"x\": {}}}", "apply_to_open"},
        {CLASS("{\"notify\": [\"a/b\"]}"), "classes.x.notify"},
        {CLASS("{\"notify\": \"manager\"}"), "classes.x.notify"},
        {CLASS("{\"notify\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}"), "classes.x.notify"},
        {CLASS("{\"notify\": [\"" ROLE32 "\"]}"), "classes.x.notify"},
        {CLASS("{\"notify\": [\"_x\"]}"), "classes.x.notify"},
        {CLASS("{\"notify\": [\"\"]}"), "classes.x.notify"},
        {CLASS("{\"notify\": [1]}"), "classes.x.notify"},
        {CLASS("{\"escalation\": \"nosuchchain\"}"), "classes.x"},
        {CLASS("{\"escalation\": 5}"), "classes.x"},
        {CLASS("{\"obligations\": {}}"), "classes.x.obligations"},
        {CLASS("{\"obligations\": \"a\"}"), "classes.x.obligations"},
        {OBL("\"a\""), "classes.x.obligations[0]"},
        {OBL("{\"within\": \"5m\", \"met_by\": \"ack\"}"), "classes.x.obligations[0]"},
        {OBL("{\"name\": \"\", \"within\": \"5m\", \"met_by\": \"ack\"}"),
         "classes.x.obligations[0]"},
        {OBL("{\"name\": 7, \"within\": \"5m\", \"met_by\": \"ack\"}"), "classes.x.obligations[0]"},
        {OBL("{\"name\": \"" NAME48 "\", \"within\": \"5m\", \"met_by\": \"ack\"}"),
         "classes.x.obligations[0]"},
        {OBL("{\"name\": \"review\", \"within\": \"5m\", \"met_by\": \"ack\"}"),
         "classes.x.obligations[0]"},
        {OBL("{\"name\": \"a\", \"met_by\": \"ack\"}"), "classes.x.obligations[0]"},
        {OBL("{\"name\": \"a\", \"within\": \"5 min\", \"met_by\": \"ack\"}"),
         "classes.x.obligations[0]"},
        {OBL("{\"name\": \"a\", \"within\": \"0wd\", \"met_by\": \"ack\"}"),
         "classes.x.obligations[0]"},
        {OBL("{\"name\": \"a\", \"within\": 300, \"met_by\": \"ack\"}"),
         "classes.x.obligations[0]"},
        {OBL("{\"name\": \"a\", \"within\": \"5m\"}"), "classes.x.obligations[0]"},
        {OBL("{\"name\": \"a\", \"within\": \"5m\", \"met_by\": \"dance\"}"),
         "classes.x.obligations[0]"},
        {OBL("{\"name\": \"a\", \"within\": \"5m\", \"met_by\": \"ACK\"}"),
         "classes.x.obligations[0]"},
        {OBL("{\"name\": \"a\", \"within\": \"5m\", \"met_by\": \"ack\", \"from\": \"later\"}"),
         "classes.x.obligations[0]"},
        {OBL("{\"name\": \"a\", \"within\": \"5m\", \"met_by\": \"ack\", \"contact\": \"yes\"}"),
         "classes.x.obligations[0]"},
        {OBL("{\"name\": \"a\", \"within\": \"5m\", \"met_by\": \"ack\", \"escalation\": "
             "\"nosuch\"}"),
         "classes.x.obligations[0]"},
        {OBL(OK_OBL ", {\"name\": \"a\", \"within\": \"6m\", \"met_by\": \"ack\"}"),
         "classes.x.obligations[1]"},
        {OBL(OK_OBL ", {\"name\": \"b\", \"within\": \"6m\", \"met_by\": \"nap\"}"),
         "classes.x.obligations[1]"},
        {CLASS("{\"review\": {}}"), "classes.x.review"},
        {CLASS("{\"review\": \"24h\"}"), "classes.x.review"},
        {CLASS("{\"review\": {\"within\": \"soon\"}}"), "classes.x.review"},
        {CLASS("{\"review\": {\"within\": \"24h\", \"escalation\": \"nosuch\"}}"),
         "classes.x.review"},
        {"{\"escalations\": [], \"classes\": {\"x\": {}}}", "escalations"},
        {"{\"escalations\": \"default\", \"classes\": {\"x\": {}}}", "escalations"},
        {CHAIN("{\"chain\": [], \"repeat\": \"5m\"}"), "escalations.e.chain"},
        {CHAIN("{\"chain\": {}, \"repeat\": \"5m\"}"), "escalations.e.chain"},
        {CHAIN("{\"repeat\": \"5m\"}"), "escalations.e.chain"},
        {CHAIN("{\"chain\": [{\"role\": \"m\", \"after\": \"10m\"}, {\"role\": \"n\", \"after\": "
               "\"5m\"}], \"repeat\": \"5m\"}"),
         "escalations.e.chain[1]"},
        {CHAIN("{\"chain\": [{\"role\": \"a/b\", \"after\": \"0m\"}], \"repeat\": \"5m\"}"),
         "escalations.e.chain[0]"},
        {CHAIN("{\"chain\": [{\"role\": \"" ROLE32 "\", \"after\": \"0m\"}], \"repeat\": "
               "\"5m\"}"),
         "escalations.e.chain[0]"},
        {CHAIN("{\"chain\": [{\"after\": \"0m\"}], \"repeat\": \"5m\"}"), "escalations.e.chain[0]"},
        {CHAIN("{\"chain\": [{\"role\": \"m\"}], \"repeat\": \"5m\"}"), "escalations.e.chain[0]"},
        {CHAIN("{\"chain\": [{\"role\": \"m\", \"after\": \"later\"}], \"repeat\": \"5m\"}"),
         "escalations.e.chain[0]"},
        {CHAIN("{\"chain\": [\"m\"], \"repeat\": \"5m\"}"), "escalations.e.chain[0]"},
        {CHAIN("{\"chain\": [{\"role\": \"m\", \"after\": \"0m\"}], \"repeat\": \"0s\"}"),
         "escalations.e.repeat"},
        {CHAIN("{\"chain\": [{\"role\": \"m\", \"after\": \"0m\"}]}"), "escalations.e.repeat"},
        {CHAIN("{\"chain\": [{\"role\": \"m\", \"after\": \"0m\"}], \"repeat\": \"5\"}"),
         "escalations.e.repeat"},
        {"{\"quiet_hours\": {\"from\": \"21:00\"}, \"classes\": {\"x\": {}}}", "quiet_hours"},
        {"{\"quiet_hours\": {\"from\": \"25:00\", \"to\": \"08:00\"}, \"classes\": {\"x\": {}}}",
         "quiet_hours"},
        {"{\"quiet_hours\": {\"from\": \"21:00\", \"to\": \"21:00\"}, \"classes\": {\"x\": {}}}",
         "quiet_hours"},
        {"{\"quiet_hours\": {\"from\": \"9:00\", \"to\": \"08:00\"}, \"classes\": {\"x\": {}}}",
         "quiet_hours"},
        {"{\"quiet_hours\": {\"from\": \"21:00:00\", \"to\": \"08:00\"}, \"classes\": {\"x\": "
         "{}}}",
         "quiet_hours"},
        {"{\"quiet_hours\": {\"from\": \"21:00\", \"to\": \"08:60\"}, \"classes\": {\"x\": {}}}",
         "quiet_hours"},
        {"{\"quiet_hours\": \"21:00-08:00\", \"classes\": {\"x\": {}}}", "quiet_hours"},
        {"{\"extends\": \"nosuchfile.json\", \"classes\": {\"x\": {}}}", "extends"},
        {"{\"extends\": 5, \"classes\": {\"x\": {}}}", "extends"},
        {"{\"extends\": [\"default.json\"], \"classes\": {\"x\": {}}}", "extends"},
        {"{\"extends\": \"p.json\", \"classes\": {\"x\": {}}}", "extends"}, /* itself */
        {"{\"retention\": {\"keep\": \"1 year\"}, \"classes\": {\"x\": {}}}", "retention"},
        {"{\"retention\": {\"keep\": \"2wd\"}, \"classes\": {\"x\": {}}}", "retention"},
        {"{\"retention\": {\"review_grace\": \"8wh\"}, \"classes\": {\"x\": {}}}", "retention"},
        {"{\"retention\": \"365d\", \"classes\": {\"x\": {}}}", "retention"},
        {"{\"retention\": {\"dedup\": \"30s\"}, \"classes\": {\"x\": {}}}", "retention"},
        {"{\"retention\": {\"dedup\": \"often\"}, \"classes\": {\"x\": {}}}", "retention"},
        /* A bad class after good ones: what was built for them is freed. */
        {"{\"escalations\": {\"default\": {\"chain\": [{\"role\": \"m\", \"after\": \"0m\"}],"
         " \"repeat\": \"5m\"}}, \"classes\": {\"a\": {\"obligations\": [" OK_OBL "],"
         " \"review\": {\"within\": \"1d\"}}, \"b\": {\"level\": 7}}}",
         "classes.b.level"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char path[PATH_MAX], log[4096], want[96];
        int rc = load_text(bad[i].text, path, sizeof path, log, sizeof log);
        if (rc != SW_ECONFIG)
            fail_msg("policy %zu loaded (rc %d): %s", i, rc, bad[i].text);
        snprintf(want, sizeof want, "key '%s'", bad[i].key);
        if (!strstr(log, path) || !strstr(log, want))
            fail_msg("policy %zu: the error does not name %s and %s: %s", i, path, want, log);
    }
}

/* The edges of what is accepted, next to the errors above. */
static void test_edges_accepted(void **state)
{
    (void)state;
    static const char *good[] = {
        CLASS("{\"level\": 2}"),
        CLASS("{\"level\": 1, \"priority\": \"general\"}"),
        CLASS("{\"notify\": []}"),
        CLASS("{\"notify\": [\"a\", \"b\", \"c\", \"d\"]}"),
        CLASS("{\"notify\": [\"abcdefghijklmnopqrstuvwxyzabcde\"]}"), /* 31 */
        CLASS("{\"obligations\": []}"),
        CLASS("{\"_comment\": \"ignored\", \"correlation\": false}"),
        OBL("{\"name\": \"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstu\", \"within\": "
            "\"5m\", \"met_by\": \"ack\"}"), /* 47 */
        OBL("{\"name\": \"a\", \"within\": \"0s\", \"met_by\": \"ack\"}"),
        OBL("{\"name\": \"a\", \"within\": \"2wh\", \"met_by\": \"ack\", \"contact\": true}"),
        "{\"quiet_hours\": {\"from\": \"00:00\", \"to\": \"23:59\"}, \"classes\": {\"x\": {}}}",
        CHAIN("{\"chain\": [{\"role\": \"m\", \"after\": \"5m\"}, {\"role\": \"n\", \"after\": "
              "\"5m\"}], \"repeat\": \"1s\"}"),
        NULL,
    };
    for (int i = 0; good[i]; i++) {
        char path[PATH_MAX], log[4096];
        int rc = load_text(good[i], path, sizeof path, log, sizeof log);
        if (rc)
            fail_msg("policy %d refused (rc %d): %s\n%s", i, rc, good[i], log);
    }
}

static void test_unreadable_policies(void **state)
{
    (void)state;
    static const char *bad[] = {"", "[]", "{\"classes\": {\"x\": {}}", "null", "{} []"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char path[PATH_MAX], log[4096];
        int rc = load_text(bad[i], path, sizeof path, log, sizeof log);
        if (rc != SW_ECONFIG || !strstr(log, path))
            fail_msg("policy '%s': rc %d, log %s", bad[i], rc, log);
    }
    char log[4096];
    sw_policy p;
    unit_capture cap;
    unit_capture_start(&cap, dir);
    int rc = sw_policy_load(&p, "/nonexistent/siteward/policy.json");
    unit_capture_stop(&cap, log, sizeof log);
    assert_int_equal(rc, SW_ECONFIG);
    assert_non_null(strstr(log, "/nonexistent/siteward/policy.json"));
}

/* A loop of "extends" ends in an error, not in a hang or a crash. */
static void test_extends_loops(void **state)
{
    (void)state;
    char a[PATH_MAX], b[PATH_MAX], log[4096];
    sw_policy p;
    unit_capture cap;
    write_file("loop-a.json", "{\"extends\": \"loop-b.json\", \"classes\": {\"x\": {}}}", a,
               sizeof a);
    write_file("loop-b.json", "{\"extends\": \"loop-a.json\", \"classes\": {\"y\": {}}}", b,
               sizeof b);
    unit_capture_start(&cap, dir);
    int rc = sw_policy_load(&p, a);
    unit_capture_stop(&cap, log, sizeof log);
    assert_int_equal(rc, SW_ECONFIG);
    assert_non_null(strstr(log, "key 'extends'"));

    /* A base that is not valid JSON: the child names it. */
    write_file("broken-base.json", "{\"classes\": ", b, sizeof b);
    write_file("broken-child.json", "{\"extends\": \"broken-base.json\"}", a, sizeof a);
    unit_capture_start(&cap, dir);
    rc = sw_policy_load(&p, a);
    unit_capture_stop(&cap, log, sizeof log);
    assert_int_equal(rc, SW_ECONFIG);
    assert_non_null(strstr(log, a));
    assert_non_null(strstr(log, b));

    /* A chain of four is fine. */
    write_file("chain-3.json", BASE, a, sizeof a);
    write_file("chain-2.json", "{\"extends\": \"chain-3.json\"}", a, sizeof a);
    write_file("chain-1.json", "{\"extends\": \"chain-2.json\"}", a, sizeof a);
    write_file("chain-0.json", "{\"extends\": \"chain-1.json\", \"name\": \"top\"}", a, sizeof a);
    assert_int_equal(sw_policy_load(&p, a), 0);
    assert_string_equal(p.name, "top");
    assert_int_equal(p.nclasses, 2);
    sw_policy_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_profile),
        cmocka_unit_test(test_default_profile_limits),
        cmocka_unit_test(test_default_chains),
        cmocka_unit_test(test_ops),
        cmocka_unit_test(test_alternative_profiles_extend_the_default),
        cmocka_unit_test(test_quality_plan),
        cmocka_unit_test(test_customer_handbook),
        cmocka_unit_test(test_extends),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_chains_quiet_hours_retention),
        cmocka_unit_test(test_apply_to_open),
        cmocka_unit_test(test_bad_policies),
        cmocka_unit_test(test_edges_accepted),
        cmocka_unit_test(test_unreadable_policies),
        cmocka_unit_test(test_extends_loops),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
