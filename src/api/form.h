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
/* An optional JSON-object field (session_state, metadata): an object in a
 * JSON body, or its JSON text (a form field, or a string in a JSON body),
 * at most max bytes as compact JSON. *out: a new reference, or NULL when
 * absent, null or empty. -1 after replying 422 (not JSON, not an object,
 * too large). */
int form_json_object(http_request_t *r, json_t *fields, const char *key, size_t max, json_t **out);

typedef enum form_multipart_err {
    FORM_MULTIPART_OK,
    FORM_MULTIPART_NO_BOUNDARY, /* no usable boundary: the handler's 400 */
    FORM_MULTIPART_NOT_UTF8,    /* a field name or value is not UTF-8: 422 */
} form_multipart_err_t;
/* The multipart/form-data parser without a request, so that the unit tests
 * and the fuzzer reach the same code the handler runs. ctype is the whole
 * Content-Type value (the boundary comes from it). Fields as in
 * form_fields; NULL on an error. *bad_key: on FORM_MULTIPART_NOT_UTF8, a
 * new reference to the field's name, or NULL when the name is not UTF-8. */
json_t *form_multipart(const char *ctype, size_t ctlen, const char *body, size_t len,
                       form_multipart_err_t *err, json_t **bad_key);

#endif
