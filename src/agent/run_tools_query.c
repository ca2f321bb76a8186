/* The URL of a GET or DELETE HTTP tool call: the tool's URL with the
 * model's arguments as query parameters, percent-encoded (RFC 3986: all
 * but the unreserved characters), and bounded, so that a model cannot make
 * a URL no server would take. */
#include <stdlib.h>
#include <string.h>

#include "agent/run_internal.h"

static int unreserved(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

static buf_rc_t add_encoded(buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    buf_rc_t rc = BUF_OK;
    for (size_t i = 0; i < n && rc == BUF_OK; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
        rc = unreserved(ch) ? buf_append(b, s + i, 1) : buf_append(b, esc, 3);
    }
    return rc;
}

/* key=value, a string as it is and anything else as compact JSON (true,
 * 12, 1.5, {"a":1}). */
static buf_rc_t add_param(buf_t *b, const char **sep, const char *key, const json_t *v)
{
    buf_rc_t rc = buf_append_str(b, *sep);
    *sep = "&";
    if (rc == BUF_OK)
        rc = add_encoded(b, key, strlen(key));
    if (rc == BUF_OK)
        rc = buf_append(b, "=", 1);
    if (rc != BUF_OK)
        return rc;
    if (json_is_string(v))
        return add_encoded(b, json_string_value(v), json_string_length(v));
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL)
        return BUF_NOMEM;
    rc = add_encoded(b, text, strlen(text));
    free(text);
    return rc;
}

/* A null is left out; a list is the key repeated (?tag=a&tag=b). */
static buf_rc_t add_args(buf_t *b, const char *sep, json_t *args)
{
    const char *key;
    json_t *v;
    buf_rc_t rc = BUF_OK;
    json_object_foreach(args, key, v)
    {
        size_t i;
        json_t *item;
        if (json_is_array(v)) {
            json_array_foreach(v, i, item)
            {
                if (rc == BUF_OK && !json_is_null(item))
                    rc = add_param(b, &sep, key, item);
            }
        } else if (rc == BUF_OK && !json_is_null(v)) {
            rc = add_param(b, &sep, key, v);
        }
    }
    return rc;
}

char *run_tool_query_url(const char *url, json_t *args, int *too_long)
{
    *too_long = 0;
    size_t n = strcspn(url, "#"); /* a fragment is never sent */
    const char *q = memchr(url, '?', n);
    const char *sep = q == NULL ? "?" : (url[n - 1] == '?' || url[n - 1] == '&') ? "" : "&";
    buf_t b;
    buf_init(&b, RUN_TOOL_URL_MAX);
    buf_rc_t rc = buf_append(&b, url, n);
    if (rc == BUF_OK)
        rc = add_args(&b, sep, args);
    char *out = rc == BUF_OK ? buf_take(&b, NULL) : NULL;
    *too_long = rc == BUF_TOO_LARGE;
    buf_free(&b);
    return out;
}
