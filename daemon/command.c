#include "command.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

#include "obligations.h"

/* Which states each op may be given in (bit per enum sw_state) and the
 * state it leads to (-1: unchanged). */
#define S(x)   (1u << (x))
#define ACTIVE (S(SW_ST_OPEN) | S(SW_ST_ACKNOWLEDGED) | S(SW_ST_ON_SITE))
#define ANY    (ACTIVE | S(SW_ST_RESOLVED) | S(SW_ST_CLOSED) | S(SW_ST_REVIEWED))

static const struct {
    const char *op;
    unsigned from;
    int to;
} sw__ops[] = {
    {"ack", ACTIVE, SW_ST_ACKNOWLEDGED},
    {"plan_activated", ACTIVE, -1},
    {"on_site", ACTIVE, SW_ST_ON_SITE},
    {"progress", ACTIVE | S(SW_ST_RESOLVED), -1},
    {"resolve", ACTIVE, SW_ST_RESOLVED},
    {"close", ACTIVE | S(SW_ST_RESOLVED), SW_ST_CLOSED},
    {"reopen", S(SW_ST_RESOLVED) | S(SW_ST_CLOSED), SW_ST_OPEN},
    {"reclassify", ACTIVE, -1},
    {"comment", ANY, -1},
    {"callback_done", ANY, -1},
    {"verified", ACTIVE | S(SW_ST_RESOLVED), -1},
    {"satisfaction", S(SW_ST_RESOLVED) | S(SW_ST_CLOSED) | S(SW_ST_REVIEWED), -1},
    {"review", S(SW_ST_CLOSED), SW_ST_REVIEWED},
    /* planned work (planned.h): the notices it owes */
    {"customer_service_notified", ACTIVE | S(SW_ST_RESOLVED), -1},
    {"residents_notified", ACTIVE | S(SW_ST_RESOLVED), -1},
};

static int sw__fail(const char **code, const char *c, char *why, size_t len, const char *msg,
                    const char *a, const char *b2)
{
    *code = c;
    snprintf(why, len, msg, a, b2);
    return 0;
}

static const char *sw__str(const sw_msg *m, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m->json, key);
    return cJSON_IsString(v) && *v->valuestring ? v->valuestring : NULL;
}

/* Fields an op needs beyond op/incident; copied into the timeline entry. */
static int sw__fields(const sw_msg *m, cJSON *entry, const char **code, char *why, size_t len)
{
    if (!strcmp(m->op, "satisfaction")) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(m->json, "score");
        if (!cJSON_IsNumber(s) || s->valuedouble != s->valueint || s->valueint < 1 ||
            s->valueint > 5)
            return sw__fail(code, "bad_command", why, len, "\"score\" must be 1-5%s%s", "", "");
        sw_json_add_int(entry, "score", s->valueint);
    } else if (!strcmp(m->op, "reclassify")) {
        if (!sw__str(m, "class"))
            return sw__fail(code, "bad_command", why, len, "\"class\" is required%s%s", "", "");
        cJSON_AddStringToObject(entry, "class", sw__str(m, "class"));
    } else if (!strcmp(m->op, "review")) {
        static const char *const keys[] = {"problem", "rectification", "optimization"};
        for (int i = 0; i < 3; i++) {
            if (!sw__str(m, keys[i]))
                return sw__fail(code, "bad_command", why, len, "\"%s\" is required%s", keys[i], "");
            cJSON_AddStringToObject(entry, keys[i], sw__str(m, keys[i]));
        }
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(m->json, "participants"), *it;
        if (!cJSON_IsArray(p) || !cJSON_GetArraySize(p))
            return sw__fail(code, "bad_command", why, len,
                            "\"participants\" must be a non-empty array of names%s%s", "", "");
        cJSON_ArrayForEach(it, p)
        {
            if (!cJSON_IsString(it))
                return sw__fail(code, "bad_command", why, len,
                                "\"participants\" must be a non-empty array of names%s%s", "", "");
        }
        cJSON_AddItemToObject(entry, "participants", cJSON_Duplicate(p, 1));
    }
    return 0;
}

static int sw__reclassify(sw_batch *b, sw_dirty *d, const sw_msg *m, const char **code, char *why,
                          size_t len)
{
    const sw_class *cls = sw_policy_class(b->e->policy, sw__str(m, "class"));
    const sw_site_conf *site = sw_config_site(b->e->cfg, d->inc.site);
    sw_incident *inc = &d->inc;
    int uncovered = 0;

    if (!cls || !cls->incident)
        return sw__fail(code, "unknown_class", why, len,
                        "class \"%s\" is not an incident class of the policy%s",
                        sw__str(m, "class"), "");
    /* Obligations of the old class that the new one lacks are cancelled;
     * the new class's count from the first alarm: elapsed time stays. */
    sw_obl_cancel(inc, cls, m->received_ms);
    sw_obl_arm(inc, cls, SW_FROM_OPENED, inc->opened_ms, site, b->e->cfg->clock_scale, &uncovered);
    if (uncovered)
        sw_batch_calendar_uncovered(b, site);
    snprintf(inc->cls, sizeof inc->cls, "%s", cls->name);
    snprintf(inc->label, sizeof inc->label, "%s", cls->label);
    snprintf(inc->priority, sizeof inc->priority, "%s", cls->priority);
    inc->level = cls->level;
    inc->review_required = cls->has_review;
    return 0;
}

/* Entering a state arms the obligations that count from it. */
static void sw__entered(sw_batch *b, sw_dirty *d, enum sw_state to, int64_t now)
{
    const sw_class *cls = sw_policy_class(b->e->policy, d->inc.cls);
    const sw_site_conf *site = sw_config_site(b->e->cfg, d->inc.site);
    sw_incident *inc = &d->inc;
    int uncovered = 0;

    if (!cls)
        return;
    if (to == SW_ST_RESOLVED)
        sw_obl_arm(inc, cls, SW_FROM_RESOLVED, now, site, b->e->cfg->clock_scale, &uncovered);
    if (to == SW_ST_CLOSED) {
        /* Closing ends what was still open; what counts from closing (the
         * review, the satisfaction callback) starts. */
        sw_obl_cancel(inc, NULL, now);
        sw_obl_arm(inc, cls, SW_FROM_CLOSED, now, site, b->e->cfg->clock_scale, &uncovered);
    }
    if (to == SW_ST_OPEN) /* reopened: the after-closing obligations no longer apply */
        sw_obl_cancel(inc, NULL, now);
    if (uncovered)
        sw_batch_calendar_uncovered(b, site);
}

int sw_command_transition(sw_batch *b, sw_dirty *d, enum sw_state to, int64_t now, const char *by)
{
    enum sw_state from = d->inc.state;
    d->inc.state = to;
    d->inc.updated_ms = now;
    d->changed = 1;
    sw__entered(b, d, to, now);
    return sw_batch_timeline_state(b, d, now, by, from, to);
}

int sw_command_apply(sw_batch *b, sw_dirty *d, const sw_msg *m, const char **code, char *why,
                     size_t whylen)
{
    sw_incident *inc = &d->inc;
    const int64_t now = m->received_ms;
    size_t i = 0;
    int rc;

    while (i < sizeof sw__ops / sizeof *sw__ops && strcmp(sw__ops[i].op, m->op))
        i++;
    if (i == sizeof sw__ops / sizeof *sw__ops)
        return sw__fail(code, "unknown_op", why, whylen, "op \"%s\" is unknown%s", m->op, "");
    if (!(sw__ops[i].from & S(inc->state)))
        return sw__fail(code, "illegal_transition", why, whylen, "cannot %s an incident that is %s",
                        m->op, sw_state_name(inc->state));
    const sw_obligation *rv = sw_incident_obligation(inc, "review");
    if (!strcmp(m->op, "review") &&
        !(rv && (rv->status == SW_OBL_PENDING || rv->status == SW_OBL_MISSED)))
        return sw__fail(code, "illegal_transition", why, whylen, "incident %s needs no review%s",
                        inc->id, "");

    cJSON *entry = cJSON_CreateObject();
    if (!entry)
        return SW_ENOMEM;
    cJSON_AddStringToObject(entry, "kind", "command");
    cJSON_AddStringToObject(entry, "op", m->op);
    if (m->request_id)
        cJSON_AddStringToObject(entry, "request_id", m->request_id);
    if (m->note)
        cJSON_AddStringToObject(entry, "note", m->note);
    /* Both set *code (and return 0) when the command cannot apply. */
    sw__fields(m, entry, code, why, whylen);
    if (!*code && !strcmp(m->op, "reclassify"))
        sw__reclassify(b, d, m, code, why, whylen);
    if (*code) {
        cJSON_Delete(entry);
        return 0;
    }
    if ((rc = sw_batch_timeline(b, d, now, m->user, entry)))
        return rc;

    if (sw_obl_meet(inc, m->op, now, m->user) &&
        (rc = sw_batch_timeline_obligation(b, d, now, m->user, m->op)))
        return rc;
    /* States only move forward (an ack after on_site changes nothing), except
     * by reopen. */
    if (sw__ops[i].to >= 0 &&
        ((enum sw_state)sw__ops[i].to > inc->state || sw__ops[i].to == SW_ST_OPEN) &&
        (rc = sw_command_transition(b, d, (enum sw_state)sw__ops[i].to, now, m->user)))
        return rc;
    inc->updated_ms = now;
    d->changed = 1;
    return 0;
}
