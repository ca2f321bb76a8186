/* The run status name table. */
#include <stddef.h>
#include <string.h>

#include "core/run_status.h"

static const char *const names[RUN_STATUS_COUNT] = {
    [RUN_STATUS_PENDING] = "PENDING",     [RUN_STATUS_RUNNING] = "RUNNING",
    [RUN_STATUS_COMPLETED] = "COMPLETED", [RUN_STATUS_PAUSED] = "PAUSED",
    [RUN_STATUS_CANCELLED] = "CANCELLED", [RUN_STATUS_ERROR] = "ERROR",
};

const char *run_status_name(run_status_t s)
{
    return (unsigned)s < RUN_STATUS_COUNT ? names[s] : "";
}

int run_status_parse(const char *name, run_status_t *out)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < RUN_STATUS_COUNT; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (run_status_t)i;
            return 0;
        }
    return -1;
}

int run_status_is_open(run_status_t s)
{
    return s == RUN_STATUS_PENDING || s == RUN_STATUS_RUNNING;
}

int run_status_name_is_open(const char *name)
{
    run_status_t s;
    return run_status_parse(name, &s) == 0 && run_status_is_open(s);
}
