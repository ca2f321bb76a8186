/* Request bodies and query values: parsed and checked, with the 4xx reply
 * made here so handlers only see valid input. */
#ifndef AGENTOS_API_BODY_H
#define AGENTOS_API_BODY_H

#include <jansson.h>

#include "http/request.h"

/* The body as a JSON object (an empty body is {}). NULL when it has replied
 * 400 (not JSON) or 422 (not an object). */
json_t *api_body_object(http_request_t *r);
/* Every 422 goes through here, in FastAPI's list form:
 * {"detail":[{"type","loc":[where, field?],"msg","input"}],"code":"VALIDATION_ERROR"}.
 * where is "body", "query" or "path"; field may be NULL (the whole body);
 * type is FastAPI's ("missing", "string_type", "value_error", ...); input
 * is taken (NULL sends null). */
void api_reply_422(http_request_t *r, const char *where, const char *field, const char *type,
                   const char *msg, json_t *input);
/* Optional string field: 0 when absent or a string (*out then NULL or the
 * value, borrowed); -1 after replying 422 when it has another type or is
 * longer than max. */
int api_field_string(http_request_t *r, json_t *obj, const char *key, size_t max, const char **out);
/* Optional id field (session_id, agent_id, ...): like api_field_string, and
 * a non-empty value must pass the id rule (ids_valid), else 422. */
int api_field_id(http_request_t *r, json_t *obj, const char *key, const char **out);
/* Optional object field, likewise. */
int api_field_object(http_request_t *r, json_t *obj, const char *key, json_t **out);
/* Query integer in [min, max], def when absent; -1 after replying 422. */
int api_query_int(http_request_t *r, const char *key, int def, int min, int max, int *out);
/* Optional query value that is an id: *out NULL when absent or empty, else
 * the decoded value (in the pool); -1 after replying 422 when it breaks the
 * id rule. */
int api_query_id(http_request_t *r, const char *key, const char **out);
/* A path parameter (as the server decoded it) no longer than max that passes the id
 * rule; NULL after replying 422. */
char *api_path_id(http_request_t *r, size_t i, size_t max);

#endif
