/* Process upkeep on the main thread's loop: this process's heartbeat as a
 * run owner, and the sweep that marks runs of dead owners interrupted
 * (at start, then every minute). */
#ifndef AGENTOS_API_UPKEEP_H
#define AGENTOS_API_UPKEEP_H

#include <uv.h>

#include "api/app.h"

typedef struct upkeep upkeep_t;

upkeep_t *upkeep_start(const app_t *app, uv_loop_t *loop);
/* Stops the timers; the memory goes once the store jobs in flight are back
 * and the handles are closed (keep the loop running). */
void upkeep_stop(upkeep_t *u);

#endif
