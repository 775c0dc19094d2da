/*
 * Sharding: which sites this instance owns, and so which messages it
 * subscribes to and keeps.
 *
 * A site's incidents never depend on another site's, so instances split the
 * sites between them ("shard" key). With {"sites": [...]} the list is the
 * instance's; with {"index": i, "count": n} an instance owns the sites whose
 * sw_shard_hash() mod n is i. The hash is FNV-1a, 32 bits, over the bytes
 * of the site id (offset basis 2166136261, prime 16777619), so any tool can
 * compute the owner of a site: in Python,
 *     h = 2166136261
 *     for b in site.encode(): h = ((h ^ b) * 16777619) % 2**32
 *
 * Messages reach an instance only through its subscriptions, but its
 * persistent session may still hold one from an earlier configuration
 * (sw_shard_stale() undoes the unsharded one, not earlier site lists), and
 * a hash shard over "*" (any site) has to subscribe to every site: the
 * arrival callback therefore asks sw_shard_takes() before storing anything.
 * A message it declines is acknowledged to the broker and forgotten: the
 * owner has its own subscription and its own copy.
 */
#ifndef SW_SHARD_H
#define SW_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

uint32_t sw_shard_hash(const char *site, size_t len);

/* 1 when this instance owns `site` (len bytes, a valid site id). Without a
 * "shard" key it owns every site. */
int sw_shard_owns(const sw_config *cfg, const char *site, size_t len);

/* 1 when the message on `topic` (len bytes) is this instance's to store:
 * its site is owned, or the topic has no valid site and this instance is
 * the one that dead-letters such messages (no shard, or hash shard 0; with
 * explicit site lists nobody subscribes to them). */
int sw_shard_takes(const sw_config *cfg, const char *topic, size_t len);

/* 1 when the instance subscribes to every site: no shard, or a hash shard
 * over "*" (MQTT cannot filter by hash). */
int sw_shard_any(const sw_config *cfg);

/* The topic filters to subscribe to, in *out (n of them): the three kinds
 * under "P/+/" when the instance takes any site, else three per owned site.
 * The caller frees each string and the array. Returns 0 or SW_ENOMEM; an
 * instance that owns no site gets n = 0. */
int sw_shard_filters(const sw_config *cfg, char ***out, int *n);

/* The filters to unsubscribe from on connecting: the "P/+/" ones, which an
 * instance that subscribes per site may have in its persistent session
 * from an unsharded past (n = 0 for one that takes any site). Freed and
 * returned like sw_shard_filters(). */
int sw_shard_stale(const sw_config *cfg, char ***out, int *n);

#endif
