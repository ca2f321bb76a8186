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

static json_t *urlencoded(const char *s, size_t len)
{
    json_t *o = json_object();
    const char *end = s + len;
    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *pend = amp ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(pend - s));
        const char *kend = eq ? eq : pend;
        json_t *k = decoded(s, (size_t)(kend - s));
        json_t *v = eq ? decoded(eq + 1, (size_t)(pend - eq - 1)) : json_string("");
        if (k != NULL && v != NULL && json_string_length(k) > 0)
            json_object_set(o, json_string_value(k), v);
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

/* name="..." of a part's Content-Disposition; NULL for a file part. */
static json_t *part_name(const char *head, size_t len)
{
    if (find(head, len, "filename=", 9) != NULL)
        return NULL;
    const char *n = find(head, len, "name=\"", 6);
    if (n == NULL)
        return NULL;
    n += 6;
    const char *q = memchr(n, '"', (size_t)(head + len - n));
    return q ? json_stringn(n, (size_t)(q - n)) : NULL;
}

static json_t *multipart(const char *s, size_t len, const char *boundary)
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
        json_t *k = part_name(p, (size_t)(head_end - p));
        json_t *v = k ? json_stringn(body, blen) : NULL;
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

json_t *form_fields(http_request_t *r)
{
    h2o_iovec_t ct = http_request_header(r, "content-type");
    h2o_iovec_t body = r->req->entity;
    const char *s = body.base ? body.base : "";
    if (ct.base == NULL || (ct.len >= 16 && strncasecmp(ct.base, "application/json", 16) == 0))
        return api_body_object(r);
    if (ct.len >= 33 && strncasecmp(ct.base, "application/x-www-form-urlencoded", 33) == 0)
        return urlencoded(s, body.len);
    char boundary[100];
    if (ct.len >= 19 && strncasecmp(ct.base, "multipart/form-data", 19) == 0) {
        json_t *o = boundary_of(ct.base, ct.len, boundary, sizeof(boundary))
                        ? multipart(s, body.len, boundary)
                        : NULL;
        if (o == NULL)
            http_reply_error(r, 400, "BAD_FORM", "The multipart body has no usable boundary");
        return o;
    }
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
    char detail[96];
    snprintf(detail, sizeof(detail), "%s: must be true or false", key);
    http_reply_error(r, 422, "VALIDATION_ERROR", detail);
    return -1;
}
