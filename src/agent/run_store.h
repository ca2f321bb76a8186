/* Where a run's finish write goes when its first try finds no database:
 * the process's finisher (store/store_finisher.h), set once by main before
 * any run starts. Without one, such a row is logged as not saved. */
#ifndef AGENTOS_AGENT_RUN_STORE_H
#define AGENTOS_AGENT_RUN_STORE_H

#include "store/store_finisher.h"

void run_store_use_finisher(store_finisher_t *f);

#endif
