#include "utf8.h"

#include <string.h>

size_t sw_utf8_valid(const char *s, size_t len)
{
    size_t i = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (i < len) {
        unsigned c = p[i];
        size_t n = c < 0x80                 ? 1
                   : c >= 0xC2 && c <= 0xDF ? 2
                   : c >= 0xE0 && c <= 0xEF ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4
                                            : 0;
        if (!n || i + n > len)
            return i;
        for (size_t k = 1; k < n; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return i;
        /* No overlong forms, no surrogates, nothing past U+10FFFF. */
        if ((c == 0xE0 && p[i + 1] < 0xA0) || (c == 0xED && p[i + 1] > 0x9F) ||
            (c == 0xF0 && p[i + 1] < 0x90) || (c == 0xF4 && p[i + 1] > 0x8F))
            return i;
        i += n;
    }
    return i;
}

size_t sw_json_nul_find(const char *s, size_t len)
{
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        if (!s[i])
            return i;
        if (s[i] == '"') {
            in_string = !in_string;
        } else if (in_string && s[i] == '\\' && i + 1 < len) {
            if (s[i + 1] == 'u' && i + 6 <= len && !memcmp(s + i + 2, "0000", 4))
                return i;
            i++; /* the escaped character, a quote or a backslash among them */
        }
    }
    return len;
}
