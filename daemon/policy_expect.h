/*
 * The policy of expected events (docs/policy.md, "Expected events"): patrol rounds,
 * inspection rounds, silent devices and telemetry thresholds, read from the
 * policy's "patrols", "inspections", "silent_devices" and "telemetry"
 * sections. Parsed by sw_policy_load(); owned by the policy and valid until
 * sw_policy_free().
 */
#ifndef SW_POLICY_EXPECT_H
#define SW_POLICY_EXPECT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "policy.h"
#include "siteward/types.h"

enum sw_round_kind { SW_ROUND_PATROL = 0, SW_ROUND_INSPECT };

/* How a round's periods are cut: patrol slots from the schedule's windows,
 * or local calendar days, weeks (from Monday) and months. */
enum sw_period { SW_PERIOD_SLOTS = 0, SW_PERIOD_DAY, SW_PERIOD_WEEK, SW_PERIOD_MONTH };

/* A window of the patrol schedule: slots of `every_ms` from local time
 * `from_min` up to `to_min` (minutes of the day; to < from wraps past
 * midnight; the last slot is cut at `to`). */
typedef struct sw_window {
    int from_min, to_min;
    int64_t every_ms;
} sw_window;

#define SW_ROUND_ITEMS_MAX 64

typedef struct sw_round {
    enum sw_round_kind kind;
    char site[SW_SITE_MAX + 1];
    char name[SW_OBL_NAME_MAX];
    char (*items)[SW_ID_MAX + 1]; /* check-in points or equipment */
    int nitems;
    enum sw_period period;
    sw_window windows[8];
    int nwindows;
    int64_t grace_ms;          /* late check-ins still count this long after a period */
    char cls[SW_OBL_NAME_MAX]; /* the class of the incident a miss opens */
} sw_round;

typedef struct sw_silent_rule {
    char type[SW_CLASS_MAX];
    int64_t after_ms;
} sw_silent_rule;

typedef struct sw_tele_rule {
    char name[SW_OBL_NAME_MAX];
    char type[SW_CLASS_MAX];
    int above;      /* 1: a value above `trigger` alarms; 0: below */
    double trigger; /* beyond it the condition holds */
    double clear;   /* back past it (hysteresis) the condition has cleared */
    int64_t for_ms; /* held this long before an incident opens */
    char cls[SW_OBL_NAME_MAX];
} sw_tele_rule;

typedef struct sw_expect_policy {
    sw_round *rounds;
    int nrounds;
    sw_silent_rule *silent;
    int nsilent;
    double silent_slack; /* a device's deadline is re-armed only when this share of its
                            interval has passed since it was armed */
    char silent_cls[SW_OBL_NAME_MAX];
    sw_tele_rule *tele;
    int ntele;
} sw_expect_policy;

/* Parse the four sections of p->root into p->expect; classes they name
 * must exist as incident classes. Errors name file and key (SW_ECONFIG). */
int sw_expect_policy_parse(const char *path, sw_policy *p);
void sw_expect_policy_free(sw_policy *p);

/* Lookups; NULL when there is none. */
const sw_round *sw_expect_round(const sw_policy *p, enum sw_round_kind kind, const char *site,
                                const char *name);
const sw_silent_rule *sw_expect_silent_rule(const sw_policy *p, const char *type);

#endif
