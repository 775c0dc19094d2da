/*
 * The "planned_work" section of the policy: for each kind of planned work
 * (water_cut, power_cut, pest_control, community_event, or any the policy
 * adds) the class of its record (whose "before"/"from": "start"
 * obligations are the notice lead times), the event types an alarm of
 * which the work explains inside its window, and the weekdays it may not
 * take place on.
 *
 * The "silences" section: {"max": DURATION}, the longest silence allowed
 * (default 24h).
 */
#ifndef SW_POLICY_PLAN_H
#define SW_POLICY_PLAN_H

#include "policy.h"

#define SW_PLAN_KIND_MAX     32
#define SW_PLAN_EXPLAINS_MAX 16

typedef struct sw_plan_kind {
    char name[SW_PLAN_KIND_MAX];
    const sw_class *cls; /* the record's class; borrowed from the policy */
    char explains[SW_PLAN_EXPLAINS_MAX][SW_OBL_NAME_MAX];
    int nexplains;
    unsigned not_on; /* bit d set: weekday d (0 = Monday .. 6 = Sunday, site time) refused */
} sw_plan_kind;

typedef struct sw_plan_policy {
    sw_plan_kind *kinds;
    int nkinds;
    int64_t silence_max_ms; /* "silences": {"max"}: the longest silence an operator may set */
} sw_plan_policy;

/* Parse p->root's "planned_work" and "silences" into p->plan.
 * Errors name the policy file and key; returns 0 or SW_ECONFIG. Called by
 * sw_policy_load() once the classes are parsed. */
int sw_plan_policy_load(sw_policy *p);
void sw_plan_policy_free(sw_policy *p);
/* The kind `name`, or NULL. Valid until sw_policy_free(). */
const sw_plan_kind *sw_plan_kind_find(const sw_policy *p, const char *name);
/* 1 if an alarm of event type `type` is explained by work of kind `k`. */
int sw_plan_kind_explains(const sw_plan_kind *k, const char *type);
/* "Saturday" for weekday 5 (0 = Monday). */
const char *sw_weekday_name(int wd);

#endif
