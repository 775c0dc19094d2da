/* libFuzzer target: the policy loader (daemon/policy.c). The input is
 * written to a file, as an operator's policy would be, and loaded; a bad
 * policy is refused with a message, never a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "policy.h"

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "/tmp/sw-fuzz-policy-%d.json", (int)getpid());
    sw_log_set_level(SW_LOG_ERR - 1); /* the messages are not what is tested */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    sw_policy p;

    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    if (!sw_policy_load(&p, path))
        sw_policy_free(&p);
    unlink(path);
    return 0;
}
