#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/body.h"
#include "api/form.h"
#include "http/reply.h"

static json_t *decoded(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    json_t *v = json_stringn(out, http_url_decode(out, s, len));
    free(out);
    return v;
}

static void reply_not_utf8(http_request_t *r, json_t *key)
{
    api_reply_422(r, "body", key != NULL ? json_string_value(key) : NULL, "string_unicode",
                  key != NULL ? "is not valid UTF-8" : "a form field name is not valid UTF-8",
                  NULL);
}

/* NULL after replying 422 for a name or value that is not UTF-8: jansson
 * refuses it, and a dropped field would read as a missing one. */
static json_t *urlencoded(http_request_t *r, const char *s, size_t len)
{
    json_t *o = json_object();
    if (o == NULL)
        http_reply_error(r, 503, "OVERLOADED", "Out of memory; try again");
    const char *end = s + len;
    while (o != NULL && s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *pend = amp ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(pend - s));
        const char *kend = eq ? eq : pend;
        json_t *k = decoded(s, (size_t)(kend - s));
        json_t *v = eq ? decoded(eq + 1, (size_t)(pend - eq - 1)) : json_string("");
        if (k == NULL || v == NULL) {
            reply_not_utf8(r, k);
            json_decref(o);
            o = NULL;
        } else if (json_string_length(k) > 0) {
            json_object_set(o, json_string_value(k), v);
        }
        json_decref(k);
        json_decref(v);
        s = pend + 1;
    }
    return o;
}

static const char *find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    return nlen <= hlen ? memmem(hay, hlen, needle, nlen) : NULL;
}

/* name="..." of a part's Content-Disposition; NULL for a file part. *named:
 * the part is a field (so NULL then means a name that is not UTF-8). */
static json_t *part_name(const char *head, size_t len, int *named)
{
    if (find(head, len, "filename=", 9) != NULL)
        return NULL;
    const char *n = find(head, len, "name=\"", 6);
    if (n == NULL)
        return NULL;
    n += 6;
    const char *q = memchr(n, '"', (size_t)(head + len - n));
    *named = q != NULL;
    return q ? json_stringn(n, (size_t)(q - n)) : NULL;
}

/* NULL when the boundary is unusable; *bad_key set (and NULL returned) for
 * a field whose name or value is not UTF-8. */
static json_t *multipart(const char *s, size_t len, const char *boundary, int *not_utf8,
                         json_t **bad_key)
{
    char delim[128];
    int dlen = snprintf(delim, sizeof(delim), "--%s", boundary);
    if (dlen <= 2 || (size_t)dlen >= sizeof(delim))
        return NULL;
    json_t *o = json_object();
    const char *end = s + len;
    const char *p = find(s, len, delim, (size_t)dlen);
    while (p != NULL) {
        p += dlen;
        if (end - p < 2 || memcmp(p, "--", 2) == 0)
            break;
        const char *head_end = find(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (head_end == NULL)
            break;
        const char *body = head_end + 4;
        const char *next = find(body, (size_t)(end - body), delim, (size_t)dlen);
        if (next == NULL)
            break;
        size_t blen = (size_t)(next - body);
        if (blen >= 2 && body[blen - 2] == '\r' && body[blen - 1] == '\n')
            blen -= 2;
        int named = 0;
        json_t *k = part_name(p, (size_t)(head_end - p), &named);
        json_t *v = k ? json_stringn(body, blen) : NULL;
        if (named && v == NULL) {
            *not_utf8 = 1;
            *bad_key = k;
            json_decref(o);
            return NULL;
        }
        if (k != NULL && v != NULL)
            json_object_set(o, json_string_value(k), v);
        json_decref(k);
        json_decref(v);
        p = next;
    }
    return o;
}

static const char *boundary_of(const char *ctype, size_t len, char *out, size_t cap)
{
    const char *b = find(ctype, len, "boundary=", 9);
    if (b == NULL)
        return NULL;
    b += 9;
    size_t n = (size_t)(ctype + len - b);
    if (n > 0 && *b == '"') {
        b++;
        const char *q = memchr(b, '"', n - 1);
        n = q ? (size_t)(q - b) : 0;
    }
    const char *semi = memchr(b, ';', n);
    if (semi != NULL)
        n = (size_t)(semi - b);
    if (n == 0 || n >= cap)
        return NULL;
    memcpy(out, b, n);
    out[n] = '\0';
    return out;
}

/* The media type of a Content-Type is exactly type: parameters may follow,
 * but application/jsonx is not application/json. */
static int media_is(http_str_t ct, const char *type)
{
    size_t n = strlen(type);
    if (ct.len < n || strncasecmp(ct.base, type, n) != 0)
        return 0;
    return ct.len == n || ct.base[n] == ';' || ct.base[n] == ' ' || ct.base[n] == '\t';
}

json_t *form_multipart(const char *ctype, size_t ctlen, const char *s, size_t len,
                       form_multipart_err_t *err, json_t **bad_key)
{
    char boundary[100];
    int not_utf8 = 0;
    *bad_key = NULL;
    json_t *o = boundary_of(ctype, ctlen, boundary, sizeof(boundary))
                    ? multipart(s, len, boundary, &not_utf8, bad_key)
                    : NULL;
    *err = not_utf8 ? FORM_MULTIPART_NOT_UTF8
                    : (o == NULL ? FORM_MULTIPART_NO_BOUNDARY : FORM_MULTIPART_OK);
    return o;
}

static json_t *multipart_fields(http_request_t *r, http_str_t ct, const char *s, size_t len)
{
    form_multipart_err_t err;
    json_t *bad_key = NULL;
    json_t *o = form_multipart(ct.base, ct.len, s, len, &err, &bad_key);
    if (err == FORM_MULTIPART_NOT_UTF8)
        reply_not_utf8(r, bad_key);
    else if (o == NULL)
        http_reply_error(r, 400, "BAD_FORM", "The multipart body has no usable boundary");
    json_decref(bad_key);
    return o;
}

json_t *form_fields(http_request_t *r)
{
    http_str_t ct = http_request_header(r, "content-type");
    http_str_t body = http_request_body(r);
    const char *s = body.base ? body.base : "";
    if (ct.base == NULL || media_is(ct, "application/json"))
        return api_body_object(r);
    if (media_is(ct, "application/x-www-form-urlencoded"))
        return urlencoded(r, s, body.len);
    if (media_is(ct, "multipart/form-data"))
        return multipart_fields(r, ct, s, body.len);
    http_reply_error(r, 415, "UNSUPPORTED_MEDIA_TYPE",
                     "Send JSON, application/x-www-form-urlencoded or multipart/form-data");
    return NULL;
}

int form_bool(http_request_t *r, json_t *fields, const char *key, int def, int *out)
{
    json_t *v = json_object_get(fields, key);
    *out = def;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    const char *s = json_string_value(v);
    static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0", "no",
                                                                                "off"};
    for (int i = 0; s != NULL && i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return 0;
        }
    }
    api_reply_422(r, "body", key, "bool_parsing", "must be true or false", json_incref(v));
    return -1;
}

/* The 422 for a JSON-object field; the given value goes back as the input. */
static int reply_bad_object(http_request_t *r, const char *key, const char *type, const char *msg,
                            json_t *v)
{
    api_reply_422(r, "body", key, type, msg, v != NULL ? json_incref(v) : NULL);
    return -1;
}

/* A form sends the object as JSON text; a JSON body may send either. */
static json_t *object_of(json_t *v, int *bad_json)
{
    if (!json_is_string(v))
        return json_incref(v);
    json_error_t err;
    json_t *o =
        json_loadb(json_string_value(v), json_string_length(v), JSON_REJECT_DUPLICATES, &err);
    *bad_json = o == NULL;
    return o;
}

int form_json_object(http_request_t *r, json_t *fields, const char *key, size_t max, json_t **out)
{
    json_t *v = json_object_get(fields, key);
    *out = NULL;
    /* An empty form value is no value, as Agno drops it. */
    if (v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return 0;
    if (json_is_string(v) && json_string_length(v) > max)
        return reply_bad_object(r, key, "too_long", "is too large", v);
    int bad_json = 0;
    json_t *o = object_of(v, &bad_json);
    if (bad_json)
        return reply_bad_object(r, key, "json_invalid", "must be a JSON object (as JSON text)", v);
    if (!json_is_object(o)) {
        json_decref(o);
        return reply_bad_object(r, key, "dict_type", "must be a JSON object", v);
    }
    /* A JSON body's object is measured as it will be stored. */
    char *text = json_dumps(o, JSON_COMPACT);
    size_t len = text != NULL ? strlen(text) : SIZE_MAX;
    free(text);
    if (len > max) {
        json_decref(o);
        return reply_bad_object(r, key, "too_long", "is too large", v);
    }
    *out = o;
    return 0;
}
