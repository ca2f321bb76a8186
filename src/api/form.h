/* Request bodies as fields: JSON objects, url-encoded forms and multipart
 * forms (Agno's clients send forms) all become one JSON object of values. */
#ifndef AGENTOS_API_FORM_H
#define AGENTOS_API_FORM_H

#include <jansson.h>

#include "http/request.h"

/* The body's fields, by its Content-Type. NULL after replying 400/415/422.
 * Form values are strings; file parts are skipped. */
json_t *form_fields(http_request_t *r);
/* A boolean field: true/false, "true"/"false"/"1"/"0"/"yes"/"no"; def when
 * absent. -1 after replying 422 for anything else. */
int form_bool(http_request_t *r, json_t *fields, const char *key, int def, int *out);

#endif
