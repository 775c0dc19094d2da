/*
 * Silences: an operator mutes a class, a device or an area for a while
 * (`silence` on P/{site}/cmd/{user}, no incident needed), with a reason;
 * `unsilence` or the expiry ends it. A muted event opens or joins no
 * incident and pages nobody: it is kept in the records database with the
 * silence that muted it, and the silence counts it.
 *
 * Store (meta database):
 *   sil/SITE/ID   -> {"id","site","match":{...},"from","until","by","reason",
 *                     "muted","ended","ended_by"} while active
 *   sild/SITE/ID  -> the same once ended, kept for the record
 *   seq/SITE/silence -> be32 last silence number of the site
 *   (ID is SITE-silence-N)
 * Deadlines: be64(until) "@silence:ID/end".
 */
#ifndef SW_SILENCE_H
#define SW_SILENCE_H

#include "batch.h"

/* 1 for the ops this module answers: "silence" and "unsilence". */
int sw_silence_is_op(const char *op);

/* Apply a silence or unsilence command and queue its reply (with the
 * silence, or an error: bad_command, unknown_class, unknown_silence,
 * illegal_transition). Returns 0 or a negative store error. */
int sw_silence_command(sw_batch *b, sw_msg *m, const sw_inmsg *in);

/* If an active silence of m's site mutes event `m`, keep the event as a
 * record (key sequence `seq`), count it on the silence and set *muted. */
int sw_silence_mute(sw_batch *b, sw_msg *m, uint64_t seq, int *muted);

/* The '@silence:' deadline of silence `id`: it expires. */
int sw_silence_fire(sw_batch *b, const char *id, const char *name, int64_t now);

/* The published form of a stored silence (times at `tz_offset_s`); NULL
 * on ENOMEM. Also used by sitewardctl. */
cJSON *sw_silence_public(const cJSON *stored, int tz_offset_s);

#endif
