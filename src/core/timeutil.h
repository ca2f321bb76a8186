/* Clocks and time formats. */
#ifndef AGENTOS_CORE_TIMEUTIL_H
#define AGENTOS_CORE_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

#define TIMEUTIL_ISO_LEN 32

uint64_t timeutil_mono_us(void);
/* Wall-clock seconds since the epoch. */
time_t timeutil_now(void);
/* "2026-11-26T11:02:25.123Z" (UTC, milliseconds) from a wall-clock time in microseconds. */
void timeutil_iso8601(uint64_t wall_us, char out[TIMEUTIL_ISO_LEN]);
uint64_t timeutil_wall_us(void);

#endif
