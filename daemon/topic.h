/*
 * The contract's identifiers and topics. Nothing outside these alphabets is
 * ever used to build a topic, an LMDB key or a file name.
 */
#ifndef SW_TOPIC_H
#define SW_TOPIC_H

#include <stddef.h>

#include "siteward/types.h"

/* 1-64 of A-Z a-z 0-9 _ -, not starting with '_'. */
int sw_site_valid(const char *s, size_t len);
/* 1-128 of A-Z a-z 0-9 _ - . : */
int sw_id_valid(const char *s, size_t len);

typedef struct sw_topic {
    enum sw_msg_kind kind;
    char site[SW_SITE_MAX + 1]; /* "" when the site part is not valid */
    char source[16];            /* events */
    char device[SW_ID_MAX + 1]; /* events */
    char user[SW_ID_MAX + 1];   /* reports and commands */
} sw_topic;

/*
 * Parse `topic` (not NUL-terminated, `len` bytes) under `prefix`.
 * Returns 0, or SW_EINVAL with *code set to a stable error word
 * ("bad_topic", "bad_site", "bad_source", "bad_id"). out->site is filled
 * whenever the site part itself was valid, so dead letters can go to it.
 */
int sw_topic_parse(const char *prefix, const char *topic, size_t len, sw_topic *out,
                   const char **code);

#endif
