/* libFuzzer target: the decode plugin (plugins/decode) on an event, a
 * resident report or an operator command. The first byte picks the kind;
 * the rest is the payload exactly as it would arrive. A rejection is a
 * normal outcome; it must come with an error code and a reason. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_host.h"

static mock_host H;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (mock_load(&H, NULL, NULL))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum sw_msg_kind kinds[3] = {SW_MSG_EVENT, SW_MSG_REPORT, SW_MSG_COMMAND};
    enum sw_msg_kind kind;
    char *payload;
    sw_msg m;

    if (size < 1)
        return 0;
    kind = kinds[data[0] % 3];
    /* The host hands plugins a NUL-terminated copy (sw_inmsg_new). */
    if (!(payload = malloc(size)))
        return 0;
    memcpy(payload, data + 1, size - 1);
    payload[size - 1] = 0;
    mock_msg(&m, kind, "A", kind == SW_MSG_EVENT ? "sensor" : NULL, "d17", payload);
    m.payload_len = size - 1;
    int rc = mock_run(&H, SW_HOOK_DECODE, &m);
    if (rc == SW_EREJECTED && (!m.error_code[0] || !m.error_reason[0]))
        abort(); /* every rejection names its code and reason */
    cJSON_Delete(m.json);
    free(payload);
    return 0;
}
