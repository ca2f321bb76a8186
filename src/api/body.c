#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "core/ids.h"
#include "http/reply.h"

#define ID_RULE "must be 1 to 128 bytes of printable UTF-8 with no control characters"

void api_reply_422(http_request_t *r, const char *where, const char *field, const char *type,
                   const char *msg, json_t *input)
{
    json_t *loc = json_pack("[s]", where);
    if (field != NULL)
        json_array_append_new(loc, json_string(field));
    json_t *item = json_pack("{s:s, s:o, s:s, s:o}", "type", type, "loc", loc, "msg", msg, "input",
                             input != NULL ? input : json_null());
    http_reply_json(r, 422, json_pack("{s:[o], s:s}", "detail", item, "code", "VALIDATION_ERROR"));
}

/* A body field: its value goes back as the input, as FastAPI does. */
static void reply_invalid(http_request_t *r, json_t *obj, const char *key, const char *type,
                          const char *what)
{
    json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;
    api_reply_422(r, "body", key, type, what, v != NULL ? json_incref(v) : NULL);
}

/* A query value: the text as given. */
static void reply_query(http_request_t *r, const char *key, const char *type, const char *what)
{
    size_t len;
    const char *v = http_request_query_n(r, key, &len);
    api_reply_422(r, "query", key, type, what, v != NULL ? json_stringn(v, len) : NULL);
}

/* Valid JSON that C cannot hold (a huge number, a \u0000 in a string) is a
 * bad value, not bad syntax. */
static void reply_unparsed(http_request_t *r, const json_error_t *err)
{
    switch (json_error_code(err)) {
    case json_error_numeric_overflow:
        api_reply_422(r, "body", NULL, "value_error",
                      "A number in the body is too large (integers fit in 64 bits)", NULL);
        break;
    case json_error_null_character:
        api_reply_422(r, "body", NULL, "value_error", "A string in the body holds \\u0000", NULL);
        break;
    default:
        http_reply_error(r, 400, "INVALID_JSON", "The body is not valid JSON");
        break;
    }
}

json_t *api_body_object(http_request_t *r)
{
    http_str_t body = http_request_body(r);
    if (body.base == NULL || body.len == 0)
        return json_object();
    json_error_t err;
    json_t *v = json_loadb(body.base, body.len, JSON_REJECT_DUPLICATES, &err);
    if (v == NULL) {
        reply_unparsed(r, &err);
        return NULL;
    }
    if (!json_is_object(v)) {
        api_reply_422(r, "body", NULL, "model_attributes_type", "The body must be a JSON object",
                      v);
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
        reply_invalid(r, obj, key, "string_type", "must be a string");
        return -1;
    }
    if (json_string_length(v) > max) {
        reply_invalid(r, obj, key, "string_too_long", "is too long");
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
        reply_invalid(r, obj, key, "value_error", ID_RULE);
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
        reply_invalid(r, obj, key, "dict_type", "must be an object");
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
        reply_query(r, key, "int_parsing", what);
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
        reply_query(r, key, "value_error", ID_RULE);
        return -1;
    }
    return 0;
}

char *api_path_id(http_request_t *r, size_t i, size_t max)
{
    size_t len;
    char *id = http_request_param_n(r, i, &len);
    /* len, not strlen: the path has %00 decoded, and a NUL would cut the id
     * short to another one (victim%00x is not victim). */
    if (id == NULL || len > max || !ids_valid(id, len)) {
        api_reply_422(r, "path", NULL, "value_error", "The id in the path " ID_RULE,
                      id != NULL ? json_stringn(id, len) : NULL);
        return NULL;
    }
    return id;
}
