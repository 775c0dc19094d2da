/*
 * The incident record: what siteward knows of one incident, its stored
 * (internal) form and its published form (CONTRACT.md "Incident").
 */
#ifndef SW_INCIDENT_H
#define SW_INCIDENT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "policy.h"
#include "siteward/types.h"

#define SW_OBL_MAX 16

enum sw_state {
    SW_ST_OPEN = 0,
    SW_ST_ACKNOWLEDGED,
    SW_ST_ON_SITE,
    SW_ST_RESOLVED,
    SW_ST_CLOSED,
    SW_ST_REVIEWED,
    SW_ST_COUNT
};

enum sw_obl_status { SW_OBL_PENDING = 0, SW_OBL_MET, SW_OBL_MISSED, SW_OBL_CANCELLED };

typedef struct sw_obligation {
    char name[SW_OBL_NAME_MAX];
    char met_by[SW_OBL_NAME_MAX];
    int64_t due_ms;
    enum sw_obl_status status;
    int64_t met_ms;         /* when met, else 0 */
    int was_missed;         /* met after its due time */
    char by[SW_ID_MAX + 1]; /* who met it */
    int esc_step;           /* escalations sent for it */
    int64_t next_ms;        /* its next action: the due time, then each escalation */
} sw_obligation;

typedef struct sw_incident {
    char id[SW_ID_MAX + 1];
    char site[SW_SITE_MAX + 1];
    char cls[SW_OBL_NAME_MAX];
    char label[96];
    int level;
    char priority[16];
    enum sw_state state;
    int64_t opened_ms; /* the first alarm: obligations count from here */
    int64_t updated_ms;
    int64_t last_event_ms;
    cJSON *location; /* owned object or NULL */
    cJSON *sources;  /* owned array of "source/device" or "report/user" */
    cJSON *detail;   /* owned object or NULL: what an expected-event rule found (expect.h) */
    int events;
    sw_obligation obl[SW_OBL_MAX];
    int nobl;
    int esc_level;
    char esc_role[32];
    int review_required; /* the class wants a post-incident review */
    uint32_t tl_seq;     /* timeline entries written */
    char corr_key[SW_KEY_MAX];
    /* A planned work's record (planned.h): its kind ("" for any other
     * incident) and window. */
    char plan_kind[32];
    int64_t plan_start_ms, plan_end_ms;
} sw_incident;

const char *sw_state_name(enum sw_state s);
const char *sw_obl_status_name(enum sw_obl_status s);

/* Stored form: compact JSON with epoch-ms times. Caller frees with free(). */
char *sw_incident_encode(const sw_incident *inc);
/* Parse the stored form into *inc (zeroed first). 0 or SW_EINVAL. */
int sw_incident_decode(const char *buf, size_t len, sw_incident *inc);
/* The published form, times in RFC 3339 at `tz_offset_s`. NULL on ENOMEM. */
cJSON *sw_incident_public(const sw_incident *inc, int tz_offset_s);
/* "Fire alarm, building 3 floor 12" into buf. */
void sw_incident_summary(const sw_incident *inc, char *buf, size_t len);
/* Release the owned JSON parts. */
void sw_incident_free(sw_incident *inc);
/* Add `src` to the sources list if not there (at most 64 are listed). */
void sw_incident_add_source(sw_incident *inc, const char *src);
/* The obligation `name`, or NULL. */
sw_obligation *sw_incident_obligation(sw_incident *inc, const char *name);

#endif
