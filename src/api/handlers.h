/* Route handlers; each file under src/api/ holds one resource's. */
#ifndef AGENTOS_API_HANDLERS_H
#define AGENTOS_API_HANDLERS_H

#include "http/request.h"

void system_health(http_request_t *r);
struct app;
/* Renders GET /health's body into app (from instantiated_at) once, at start. */
void system_health_prepare(struct app *app);
void system_root(http_request_t *r);
void system_empty_list(http_request_t *r);
void system_ready(http_request_t *r);
void info_get(http_request_t *r);
void config_get(http_request_t *r);
void openapi_get(http_request_t *r);
void docs_get(http_request_t *r);
void docs_asset(http_request_t *r);
void me_get(http_request_t *r);
struct auth_tenant;
/* /me's body as jansson writes it, into out (cap bytes); 0 when a claim
 * is not plain ASCII (the handler then uses jansson). */
size_t me_body(const struct auth_tenant *t, char *out, size_t cap);
void sessions_list(http_request_t *r);
void sessions_create(http_request_t *r);
void sessions_get(http_request_t *r);
void sessions_runs(http_request_t *r);
void sessions_run_get(http_request_t *r);
void sessions_run_previews(http_request_t *r);
void sessions_rename(http_request_t *r);
void sessions_patch(http_request_t *r);
void sessions_delete(http_request_t *r);
void sessions_delete_many(http_request_t *r);
void agents_list(http_request_t *r);
void agents_get(http_request_t *r);
void models_list(http_request_t *r);
void runs_create(http_request_t *r);
void runs_cancel(http_request_t *r);
void runs_list(http_request_t *r);
void runs_get(http_request_t *r);
void metrics_get(http_request_t *r);
void metrics_refresh(http_request_t *r);
void prometheus_get(http_request_t *r);
/* The loop's inbox: cancel run_id if this loop runs it. */
void runs_on_cancel(void *loop_data, const char *run_id);
/* Shutdown: every run of the loop ends CANCELLED with this reason. */
void runs_cancel_all(void *loop_data, const char *reason);

#endif
