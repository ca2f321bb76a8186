/* Route handlers; each file under src/api/ holds one resource's. */
#ifndef AGENTOS_API_HANDLERS_H
#define AGENTOS_API_HANDLERS_H

#include "http/request.h"

void system_health(http_request_t *r);
void system_root(http_request_t *r);
void system_ready(http_request_t *r);
void me_get(http_request_t *r);
void sessions_list(http_request_t *r);
void sessions_create(http_request_t *r);
void sessions_get(http_request_t *r);
void sessions_runs(http_request_t *r);
void sessions_rename(http_request_t *r);
void sessions_patch(http_request_t *r);
void sessions_delete(http_request_t *r);
void sessions_delete_many(http_request_t *r);

#endif
