#include "jsonfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int sw_json_error(const char *path, const char *key, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    sw_log(SW_LOG_ERR, "%s: key '%s': %s", path, key, why);
    return SW_ECONFIG;
}

int sw_json_load(const char *path, cJSON **out)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;

    *out = NULL;
    if (!f) {
        sw_log(SW_LOG_ERR, "%s: cannot open: %s", path, strerror(errno));
        return SW_ECONFIG;
    }
    if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
        !(buf = malloc((size_t)len + 1)) || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        sw_log(SW_LOG_ERR, "%s: cannot read: %s", path, strerror(errno));
        free(buf);
        fclose(f);
        return SW_ECONFIG;
    }
    fclose(f);
    buf[len] = 0;
    const char *end = NULL;
    *out = cJSON_ParseWithOpts(buf, &end, 1);
    if (!*out) {
        int line = 1;
        for (const char *p = buf; end && p < end; p++)
            line += *p == '\n';
        sw_log(SW_LOG_ERR, "%s: line %d: not valid JSON", path, line);
        free(buf);
        return SW_ECONFIG;
    }
    free(buf);
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        sw_log(SW_LOG_ERR, "%s: the top level must be a JSON object", path);
        return SW_ECONFIG;
    }
    return 0;
}
