/* The Prometheus text exposition (format 0.0.4) of the process counters. */
#ifndef AGENTOS_API_PROMETHEUS_H
#define AGENTOS_API_PROMETHEUS_H

#include <stddef.h>

#include "core/counters.h"
#include "http/router.h"

/* The text for s, requests labelled by the templates of routes (index
 * order as the counters have them); malloc'd, *len bytes, NUL-terminated.
 * NULL when out of memory. */
char *prometheus_render(const counters_snapshot_t *s, const http_route_t *routes, size_t nroutes,
                        size_t *len);

#endif
