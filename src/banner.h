/* The start banner: what a person starting the service needs to see, in
 * one record at info (a short block in the text log format). */
#ifndef AGENTOS_BANNER_H
#define AGENTOS_BANNER_H

#include "api/app.h"
#include "core/config.h"

void banner_log(const config_t *cfg, const app_t *app);

#endif
