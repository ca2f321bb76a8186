/* The Prometheus text exposition (format 0.0.4) of the process counters. */
#ifndef AGENTOS_API_PROMETHEUS_H
#define AGENTOS_API_PROMETHEUS_H

#include <stddef.h>

#include "core/counters.h"
#include "http/router.h"

/* The most text one exposition may take. The label sets are fixed, so the
 * text is bounded anyway (every slot counted, with route templates twice
 * the longest real one: 222 KiB, test_counters): this guards against a bug
 * at four times and more that. Past it the scrape fails like out of memory. */
#define PROMETHEUS_TEXT_MAX ((size_t)1 << 20)

/* The text for s, requests labelled by the templates of routes (index
 * order as the counters have them); malloc'd, *len bytes, NUL-terminated.
 * NULL when out of memory or past PROMETHEUS_TEXT_MAX. */
char *prometheus_render(const counters_snapshot_t *s, const http_route_t *routes, size_t nroutes,
                        size_t *len);

#endif
