/* One JSON line per finished request. */
#ifndef AGENTOS_HTTP_ACCESS_LOG_H
#define AGENTOS_HTTP_ACCESS_LOG_H

#include "http/request.h"

void access_log_write(const http_request_t *r);

#endif
