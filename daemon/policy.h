/*
 * The service-standards policy: classes of incident with their level,
 * priority and obligations (the JSON files in config/policy). The host owns the
 * "classes" section; plugins read and validate their own sections
 * ("event_types", "reports", "correlation") through the plugin API.
 */
#ifndef SW_POLICY_H
#define SW_POLICY_H

#include <limits.h>

#include <cjson/cJSON.h>

#include "timeutil.h"

#define SW_OBL_NAME_MAX 48

/* The incident states an obligation can count from; START and END are the
 * window of a planned work (planned.h). */
enum sw_from { SW_FROM_OPENED = 0, SW_FROM_RESOLVED, SW_FROM_CLOSED, SW_FROM_START, SW_FROM_END };

#define SW_ROLE_MAX 32

/* An escalation chain: who hears of a missed obligation, and when. Step i
 * goes out `after` past the due time; past the last step, the last role is
 * reminded every `repeat`. */
typedef struct sw_esc_step {
    char role[SW_ROLE_MAX];
    sw_duration after;
} sw_esc_step;

typedef struct sw_chain {
    char name[SW_OBL_NAME_MAX];
    sw_esc_step *steps;
    int nsteps;
    sw_duration repeat;
} sw_chain;

typedef struct sw_obl_rule {
    char name[SW_OBL_NAME_MAX];
    char label[96];               /* for people: "manager not on site" */
    sw_duration within;           /* with `before`: how long ahead of `from` it is due */
    int before;                   /* due `within` before its base time ("before" in the policy) */
    char met_by[SW_OBL_NAME_MAX]; /* the command op that meets it */
    enum sw_from from;
    int contact;              /* contacts a resident: quiet hours apply */
    int quiet_from, quiet_to; /* the policy's quiet hours, local minutes; -1: none */
    const sw_chain *chain;    /* NULL: a miss is recorded, nobody is told */
} sw_obl_rule;

typedef struct sw_class {
    char name[SW_OBL_NAME_MAX];
    char label[96];
    int level;             /* 1, 2, or 0 for not an emergency */
    char priority[16];     /* urgent, general */
    int incident;          /* 0: events are recorded but open no incident */
    int resolve_on_normal; /* a "normal" event resolves the incident */
    int apply_to_open;     /* a reload gives open incidents the new limits (reapply.c) */
    sw_obl_rule *obl;      /* the review, when required, is the obligation "review" */
    int nobl;
    int has_review;
    char notify[4][SW_ROLE_MAX]; /* roles told at once when it opens */
    int nnotify;
} sw_class;

struct sw_expect_policy;

typedef struct sw_policy {
    char path[PATH_MAX];
    char name[64];
    cJSON *root; /* merged document, after "extends" */
    sw_class *classes;
    int nclasses;
    sw_chain *chains;
    int nchains;
    int quiet_from_min, quiet_to_min; /* local minutes of day; -1: none */
    int64_t keep_ms;         /* closed incidents are kept this long after their last change */
    int64_t review_grace_ms; /* ...and an unsubmitted review this long past its due time */
    int64_t dedup_ms; /* dedup keys are kept at least this long after their message arrived */
    struct sw_expect_policy *expect; /* expected events (policy_expect.h); owned */
    struct sw_plan_policy *plan;     /* "planned_work" (policy_plan.h), or NULL */
} sw_policy;

/* Load and validate; errors are logged naming file and key (SW_ECONFIG). */
int sw_policy_load(sw_policy *p, const char *path);
void sw_policy_free(sw_policy *p);
/* NULL when the class is unknown. Valid until sw_policy_free(). */
const sw_class *sw_policy_class(const sw_policy *p, const char *name);
/* The rule of obligation `name` in `cls`, or NULL. */
const sw_obl_rule *sw_class_rule(const sw_class *cls, const char *name);
/* 1 if `op` is a command op of the contract. */
int sw_op_known(const char *op);

#endif
