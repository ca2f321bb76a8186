#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "core/ids.h"
#include "http/reply.h"

#define ID_RULE "must be 1 to 128 bytes of printable UTF-8 with no control characters"

static void reply_invalid(http_request_t *r, const char *key, const char *what)
{
    char detail[160];
    snprintf(detail, sizeof(detail), "%s: %s", key, what);
    http_reply_error(r, 422, "VALIDATION_ERROR", detail);
}

/* Valid JSON that C cannot hold (a huge number, a \u0000 in a string) is a
 * bad value, not bad syntax. */
static void reply_unparsed(http_request_t *r, const json_error_t *err)
{
    switch (json_error_code(err)) {
    case json_error_numeric_overflow:
        http_reply_error(r, 422, "VALIDATION_ERROR",
                         "A number in the body is too large (integers fit in 64 bits)");
        break;
    case json_error_null_character:
        http_reply_error(r, 422, "VALIDATION_ERROR", "A string in the body holds \\u0000");
        break;
    default:
        http_reply_error(r, 400, "INVALID_JSON", "The body is not valid JSON");
        break;
    }
}

json_t *api_body_object(http_request_t *r)
{
    h2o_iovec_t body = r->req->entity;
    if (body.base == NULL || body.len == 0)
        return json_object();
    json_error_t err;
    json_t *v = json_loadb(body.base, body.len, JSON_REJECT_DUPLICATES, &err);
    if (v == NULL) {
        reply_unparsed(r, &err);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        http_reply_error(r, 422, "VALIDATION_ERROR", "The body must be a JSON object");
        return NULL;
    }
    return v;
}

int api_field_string(http_request_t *r, json_t *obj, const char *key, size_t max, const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        reply_invalid(r, key, "must be a string");
        return -1;
    }
    if (json_string_length(v) > max) {
        reply_invalid(r, key, "is too long");
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int api_field_id(http_request_t *r, json_t *obj, const char *key, const char **out)
{
    if (api_field_string(r, obj, key, IDS_MAX_BYTES, out) != 0)
        return -1;
    if (*out == NULL || **out == '\0')
        return 0;
    /* The JSON length, not strlen: an escaped NUL must not shorten the id. */
    if (!ids_valid(*out, json_string_length(json_object_get(obj, key)))) {
        *out = NULL;
        reply_invalid(r, key, ID_RULE);
        return -1;
    }
    return 0;
}

int api_field_object(http_request_t *r, json_t *obj, const char *key, json_t **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v)) {
        reply_invalid(r, key, "must be an object");
        return -1;
    }
    *out = v;
    return 0;
}

int api_query_int(http_request_t *r, const char *key, int def, int min, int max, int *out)
{
    const char *v = http_request_query(r, key);
    *out = def;
    if (v == NULL || *v == '\0')
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end != '\0' || n < min || n > max) {
        char what[80];
        snprintf(what, sizeof(what), "must be a whole number from %d to %d", min, max);
        reply_invalid(r, key, what);
        return -1;
    }
    *out = (int)n;
    return 0;
}

int api_query_id(http_request_t *r, const char *key, const char **out)
{
    size_t len;
    *out = http_request_query_n(r, key, &len);
    if (*out == NULL || len == 0) {
        *out = NULL;
        return 0;
    }
    if (!ids_valid(*out, len)) {
        *out = NULL;
        reply_invalid(r, key, ID_RULE);
        return -1;
    }
    return 0;
}

char *api_path_id(http_request_t *r, size_t i, size_t max)
{
    size_t len = i < r->nparams ? r->params[i].len : 0;
    char *id = http_request_param(r, i);
    /* len, not strlen: h2o has decoded %00, and a NUL would cut the id
     * short to another one (victim%00x is not victim). */
    if (id == NULL || len > max || !ids_valid(id, len)) {
        http_reply_error(r, 422, "VALIDATION_ERROR", "The id in the path " ID_RULE);
        return NULL;
    }
    return id;
}
