#include <stdio.h>

#include "core/timeutil.h"

uint64_t timeutil_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t timeutil_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

time_t timeutil_now(void)
{
    return time(NULL);
}

void timeutil_iso8601(uint64_t wall_us, char out[TIMEUTIL_ISO_LEN])
{
    time_t secs = (time_t)(wall_us / 1000000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, TIMEUTIL_ISO_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, TIMEUTIL_ISO_LEN - n, ".%03uZ", (unsigned)(wall_us % 1000000u / 1000u));
}
