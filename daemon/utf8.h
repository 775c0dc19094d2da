/*
 * UTF-8 well-formedness, shared by the daemon and the decode plugin (which
 * compiles this file in: plugins link nothing of the daemon).
 */
#ifndef SW_UTF8_H
#define SW_UTF8_H

#include <stddef.h>

/* The length of the longest prefix of `s` that is well-formed UTF-8
 * (len when all of it is). JSON is UTF-8 (RFC 8259), and cJSON passes any
 * bytes through, so what siteward publishes is checked with this. */
size_t sw_utf8_valid(const char *s, size_t len);

/* The offset of the first NUL in JSON text `s`: a raw NUL byte, or a
 * \u0000 escape inside a string (the escaped backslash "\\u0000" is not
 * one); `len` when there is none. cJSON decodes \u0000 to a NUL byte, so
 * such a string would be cut short wherever it is stored or printed.
 * Meant for text that is JSON: it tracks strings by their quotes. */
size_t sw_json_nul_find(const char *s, size_t len);

#endif
