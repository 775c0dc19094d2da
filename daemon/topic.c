#include "topic.h"

#include <string.h>

static int sw__id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

int sw_site_valid(const char *s, size_t len)
{
    if (len < 1 || len > SW_SITE_MAX || s[0] == '_')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!sw__id_char(s[i]))
            return 0;
    return 1;
}

int sw_id_valid(const char *s, size_t len)
{
    if (len < 1 || len > SW_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!sw__id_char(s[i]) && s[i] != '.' && s[i] != ':')
            return 0;
    return 1;
}

/* Split off the next '/'-separated level; returns its length. */
static size_t sw__level(const char **p, const char *end)
{
    const char *s = *p;
    const char *slash = memchr(s, '/', (size_t)(end - s));
    size_t n = slash ? (size_t)(slash - s) : (size_t)(end - s);
    *p = slash ? slash + 1 : end;
    return n;
}

static int sw__fail(const char **code, const char *what)
{
    *code = what;
    return SW_EINVAL;
}

int sw_topic_parse(const char *prefix, const char *topic, size_t len, sw_topic *out,
                   const char **code)
{
    size_t plen = strlen(prefix);
    const char *end = topic + len;
    const char *p, *lv;
    size_t n;

    memset(out, 0, sizeof *out);
    if (len <= plen || memcmp(topic, prefix, plen) || topic[plen] != '/')
        return sw__fail(code, "bad_topic");
    p = topic + plen + 1;

    lv = p;
    n = sw__level(&p, end);
    if (!sw_site_valid(lv, n))
        return sw__fail(code, "bad_site");
    memcpy(out->site, lv, n);

    lv = p;
    n = sw__level(&p, end);
    if (n == 5 && !memcmp(lv, "event", 5)) {
        out->kind = SW_MSG_EVENT;
        lv = p;
        n = sw__level(&p, end);
        if (!((n == 6 && !memcmp(lv, "sensor", 6)) || (n == 4 && !memcmp(lv, "gate", 4)) ||
              (n == 6 && !memcmp(lv, "patrol", 6)) || (n == 6 && !memcmp(lv, "system", 6))))
            return sw__fail(code, "bad_source");
        memcpy(out->source, lv, n);
        lv = p;
        n = sw__level(&p, end);
        if (!sw_id_valid(lv, n))
            return sw__fail(code, "bad_id");
        memcpy(out->device, lv, n);
    } else if ((n == 6 && !memcmp(lv, "report", 6)) || (n == 3 && !memcmp(lv, "cmd", 3))) {
        out->kind = n == 6 ? SW_MSG_REPORT : SW_MSG_COMMAND;
        lv = p;
        n = sw__level(&p, end);
        if (!sw_id_valid(lv, n))
            return sw__fail(code, "bad_id");
        memcpy(out->user, lv, n);
    } else {
        return sw__fail(code, "bad_topic");
    }
    /* Anything after the last expected level (including a trailing '/'). */
    if (p != end || topic[len - 1] == '/')
        return sw__fail(code, "bad_topic");
    return 0;
}
