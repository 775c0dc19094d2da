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

/* The incident states an obligation can count from. */
enum sw_from { SW_FROM_OPENED = 0, SW_FROM_RESOLVED, SW_FROM_CLOSED };

typedef struct sw_obl_rule {
    char name[SW_OBL_NAME_MAX];
    sw_duration within;
    char met_by[SW_OBL_NAME_MAX]; /* the command op that meets it */
    enum sw_from from;
} sw_obl_rule;

typedef struct sw_class {
    char name[SW_OBL_NAME_MAX];
    char label[96];
    int level;         /* 1, 2, or 0 for not an emergency */
    char priority[16]; /* urgent, general */
    int incident;      /* 0: events are recorded but open no incident */
    sw_obl_rule *obl;
    int nobl;
    int has_review;
    sw_duration review_within;
} sw_class;

typedef struct sw_policy {
    char path[PATH_MAX];
    char name[64];
    cJSON *root; /* merged document, after "extends" */
    sw_class *classes;
    int nclasses;
} sw_policy;

/* Load and validate; errors are logged naming file and key (SW_ECONFIG). */
int sw_policy_load(sw_policy *p, const char *path);
void sw_policy_free(sw_policy *p);
/* NULL when the class is unknown. Valid until sw_policy_free(). */
const sw_class *sw_policy_class(const sw_policy *p, const char *name);
/* 1 if `op` is a command op of the contract. */
int sw_op_known(const char *op);

#endif
