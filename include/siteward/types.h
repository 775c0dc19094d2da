/*
 * Types shared by the siteward daemon and its plugins.
 */
#ifndef SITEWARD_TYPES_H
#define SITEWARD_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: always negative, described by sw_strerror(). */
#define SW_OK        0
#define SW_ENOMEM    (-12)
#define SW_EINVAL    (-22)
#define SW_ENOENT    (-2)
#define SW_EEXIST    (-17)
#define SW_EIO       (-5)
#define SW_ENOSPC    (-28)
#define SW_EAGAIN    (-11)   /* no room now; try again later */
#define SW_EVERSION  (-1001) /* plugin ABI version not supported */
#define SW_EREJECTED (-1002) /* message rejected to the dead-letter topic */
#define SW_EDUP      (-1003) /* message is a duplicate */
#define SW_ESTORE    (-1004) /* LMDB failure; details logged */
#define SW_EMQTT     (-1005) /* MQTT client failure; details logged */
#define SW_ECONFIG   (-1006) /* configuration or policy error; details logged */
#define SW_EMAPFULL  (-1007) /* the store's map is full: grow it and retry */

/* Log levels, syslog numbering (journald reads "<N>" prefixes). */
#define SW_LOG_ERR     3
#define SW_LOG_WARNING 4
#define SW_LOG_NOTICE  5
#define SW_LOG_INFO    6
#define SW_LOG_DEBUG   7

/* Identifier limits of the contract. */
#define SW_SITE_MAX   64
#define SW_ID_MAX     128
#define SW_CLASS_MAX  48
#define SW_KEY_MAX    512
#define SW_CODE_MAX   40
#define SW_REASON_MAX 256

enum sw_msg_kind {
    SW_MSG_EVENT = 1,   /* P/{site}/event/{source}/{device} */
    SW_MSG_REPORT = 2,  /* P/{site}/report/{user} */
    SW_MSG_COMMAND = 3, /* P/{site}/cmd/{user} */
};

/* Location of an event or report; each field NULL when absent. */
typedef struct sw_location {
    const char *building;
    const char *floor;
    const char *unit;
    const char *area;
} sw_location;

/*
 * One message on its way through the pipeline. The host fills the topic
 * part; SW_HOOK_DECODE fills the canonical part; SW_HOOK_CLASSIFY sets
 * `cls`; SW_HOOK_CORRELATE sets the keys. String pointers borrow from the
 * topic or from `json` and are valid for the message's pass only.
 */
typedef struct sw_msg {
    uint32_t size; /* sizeof(sw_msg) of the host */
    enum sw_msg_kind kind;

    /* From the topic, validated against the contract's alphabets. */
    const char *topic;
    const char *site;
    const char *source; /* events: sensor, gate, patrol, system */
    const char *device; /* events */
    const char *user;   /* reports and commands: the publisher's identity */
    const char *payload;
    size_t payload_len;
    int64_t received_ms; /* epoch ms when the daemon received it */

    /* Decoded payload; owned by the host once set (decode sets it). */
    cJSON *json;

    /* Events. */
    const char *type;
    const char *event_id; /* device's own id, or NULL */
    int64_t ts_ms;        /* event time, epoch ms */
    int normal;           /* state "normal": the condition cleared */
    int has_value;
    double value;
    sw_location location;
    const cJSON *data;

    /* Reports. */
    const char *report_id;
    const char *category; /* emergency, repair, complaint, inquiry, request */
    const char *urgency;  /* urgent, general */
    const char *channel;  /* online, offline */
    const char *text;
    const cJSON *contact; /* personal data: never logged or republished */

    /* Commands. */
    const char *op;
    const char *incident_id;
    const char *request_id;
    const char *note;

    /* Set by classify: the policy class, and an obligation this message
     * meets on the incident it joins (e.g. visitor_verified), or "". */
    char cls[SW_CLASS_MAX];
    char meets[SW_CLASS_MAX];

    /* Set by correlate. dedup_key "" means the message cannot be recognised
     * when sent again; corr_key "" means it always opens its own incident. */
    char dedup_key[SW_KEY_MAX];
    char corr_key[SW_KEY_MAX];
    int64_t corr_window_ms;

    /* Set through sw_host_api.msg_reject(). */
    char error_code[SW_CODE_MAX];
    char error_reason[SW_REASON_MAX];

    /* A message on a foreign device's topic (not under the prefix): the
     * entry of the configuration's "foreign" array whose topic filter it
     * matched, else NULL. Its decoder (plugins/map) fills the canonical
     * event fields, and `device` when the mapping takes it from the
     * payload. Taken from the reserved slots. */
    const cJSON *mapping;

    void *reserved[7];
} sw_msg;

#ifdef __cplusplus
}
#endif
#endif
