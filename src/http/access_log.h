/* One line per finished request (JSON, or text with LOG_FORMAT=text); on a
 * loop thread only (it builds in the thread's log_line_buffer). */
#ifndef AGENTOS_HTTP_ACCESS_LOG_H
#define AGENTOS_HTTP_ACCESS_LOG_H

#include <stdint.h>

#include "http/request.h"

void access_log_write(const http_request_t *r, uint64_t duration_us);

#endif
