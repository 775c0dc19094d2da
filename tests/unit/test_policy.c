/* Policy loading: the shipped profiles, "extends", and every kind of error
 * naming its key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy.h"
#include "siteward/types.h"

static void test_default_profile(void **state)
{
    (void)state;
    sw_policy p;
    assert_int_equal(sw_policy_load(&p, SW_SOURCE_DIR "/config/policy/default.json"), 0);
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

static void test_alternative_profiles_extend_the_default(void **state)
{
    (void)state;
    sw_policy p;
    assert_int_equal(sw_policy_load(&p, SW_SOURCE_DIR "/config/policy/quality-plan.json"), 0);
    assert_string_equal(p.name, "quality-plan");
    assert_int_equal(sw_class_rule(sw_policy_class(&p, "repair"), "responded")->within.ms,
                     24 * 3600000LL);
    assert_int_equal(sw_class_rule(sw_policy_class(&p, "repair_major"), "fixed")->within.ms,
                     7 * 24 * 3600000LL);
    /* Untouched classes come from the default. */
    assert_int_equal(sw_policy_class(&p, "fire")->level, 1);
    sw_policy_free(&p);
    assert_int_equal(sw_policy_load(&p, SW_SOURCE_DIR "/config/policy/customer-handbook.json"), 0);
    assert_int_equal(sw_class_rule(sw_policy_class(&p, "complaint"), "solved")->within.ms,
                     48 * 3600000LL);
    sw_policy_free(&p);
}

static char dir[64];

static int load_text(const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/p.json", dir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    sw_policy p;
    int rc = sw_policy_load(&p, path);
    if (!rc)
        sw_policy_free(&p);
    return rc;
}

#define CLASS(body) "{\"classes\": {\"x\": " body "}}"

static void test_bad_policies(void **state)
{
    (void)state;
    const char *bad[] = {
        "[]",
        "{}",
        "{\"classes\": {}}",
        CLASS("{\"level\": 3}"),
        CLASS("{\"level\": \"1\"}"),
        CLASS("{\"priority\": \"soon\"}"),
        CLASS("{\"incident\": \"no\"}"),
        CLASS("{\"obligations\": {}}"),
        CLASS("{\"obligations\": [{\"within\": \"5m\", \"met_by\": \"ack\"}]}"),
        CLASS("{\"obligations\": [{\"name\": \"a\", \"within\": \"5 min\", \"met_by\": \"ack\"}]}"),
        CLASS("{\"obligations\": [{\"name\": \"a\", \"within\": \"5m\", \"met_by\": \"dance\"}]}"),
        CLASS("{\"obligations\": [{\"name\": \"a\", \"within\": \"5m\", \"met_by\": \"ack\", "
              "\"from\": \"later\"}]}"),
        CLASS("{\"obligations\": [{\"name\": \"a\", \"within\": \"5m\", \"met_by\": \"ack\"}, "
              "{\"name\": \"a\", \"within\": \"6m\", \"met_by\": \"ack\"}]}"),
        CLASS("{\"obligations\": [{\"name\": \"review\", \"within\": \"5m\", \"met_by\": "
              "\"ack\"}]}"),
        CLASS("{\"review\": {}}"),
        CLASS("{\"escalation\": \"nosuchchain\"}"),
        CLASS("{\"notify\": [\"a/b\"]}"),
        "{\"escalations\": {\"e\": {\"chain\": [], \"repeat\": \"5m\"}}, \"classes\": {\"x\": {}}}",
        "{\"escalations\": {\"e\": {\"chain\": [{\"role\": \"m\", \"after\": \"10m\"}, {\"role\": "
        "\"n\", \"after\": \"5m\"}], \"repeat\": \"5m\"}}, \"classes\": {\"x\": {}}}",
        "{\"escalations\": {\"e\": {\"chain\": [{\"role\": \"m\", \"after\": \"0m\"}], "
        "\"repeat\": \"0s\"}}, \"classes\": {\"x\": {}}}",
        "{\"quiet_hours\": {\"from\": \"21:00\"}, \"classes\": {\"x\": {}}}",
        "{\"quiet_hours\": {\"from\": \"25:00\", \"to\": \"08:00\"}, \"classes\": {\"x\": {}}}",
        "{\"extends\": \"nosuchfile.json\", \"classes\": {\"x\": {}}}",
        "{\"retention\": {\"keep\": \"1 year\"}, \"classes\": {\"x\": {}}}",
        "{\"retention\": {\"keep\": \"2wd\"}, \"classes\": {\"x\": {}}}",
        "{\"classes\": {\"x\": {}}",
        NULL,
    };
    for (int i = 0; bad[i]; i++) {
        if (load_text(bad[i]) != SW_ECONFIG)
            fail_msg("policy %d loaded: %s", i, bad[i]);
    }
    assert_int_equal(load_text(CLASS("{\"obligations\": [{\"name\": \"a\", \"within\": \"2wh\", "
                                     "\"met_by\": \"ack\", \"contact\": true}]}")),
                     0);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/sw-policy-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_profile),
        cmocka_unit_test(test_alternative_profiles_extend_the_default),
        cmocka_unit_test(test_bad_policies),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/p.json", dir);
    unlink(path);
    rmdir(dir);
    return rc;
}
