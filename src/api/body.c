#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "http/reply.h"

static void reply_invalid(http_request_t *r, const char *key, const char *what)
{
    char detail[160];
    snprintf(detail, sizeof(detail), "%s: %s", key, what);
    http_reply_error(r, 422, "VALIDATION_ERROR", detail);
}

json_t *api_body_object(http_request_t *r)
{
    h2o_iovec_t body = r->req->entity;
    if (body.base == NULL || body.len == 0)
        return json_object();
    json_error_t err;
    json_t *v = json_loadb(body.base, body.len, JSON_REJECT_DUPLICATES, &err);
    if (v == NULL) {
        http_reply_error(r, 400, "INVALID_JSON", "The body is not valid JSON");
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

char *api_path_id(http_request_t *r, size_t i, size_t max)
{
    char *id = http_request_param(r, i);
    if (id == NULL || strlen(id) > max) {
        http_reply_error(r, 422, "VALIDATION_ERROR", "The id in the path is too long");
        return NULL;
    }
    return id;
}
