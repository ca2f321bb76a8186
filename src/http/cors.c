#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/cors.h"

/* AgnoAPISettings.cors_origin_list's built-ins (agno/os/settings.py). */
static const char *const builtin_origins[] = {
    "https://os.agno.com",  "https://app.agno.com",    "https://agno.com",
    "https://www.agno.com", "https://os-stg.agno.com", "http://localhost:3000",
};
#define NBUILTIN (sizeof(builtin_origins) / sizeof(builtin_origins[0]))

/* Starlette's ALL_METHODS, as Agno's allow_methods=["*"] sends them. */
static const char allow_methods[] = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, QUERY";
/* Starlette sends "*", which a browser reads literally when credentials
 * are allowed: name what a client may want to read instead. */
static const char expose_headers[] =
    "X-Request-ID, Retry-After, WWW-Authenticate, Allow, Content-Type, Content-Length";
static const char preflight_vary[] = "Origin, Access-Control-Request-Method, "
                                     "Access-Control-Request-Headers, "
                                     "Access-Control-Request-Private-Network";

static int is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* RFC 9110 tchar. */
static int is_tchar(char ch)
{
    return is_alpha(ch) || is_digit(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int is_host_char(char ch)
{
    return is_alpha(ch) || is_digit(ch) || (ch != '\0' && strchr("-._~%[]:", ch) != NULL);
}

int http_cors_origin_ok(const char *v, size_t len)
{
    if (v == NULL || len == 0 || len > HTTP_CORS_ORIGIN_MAX || !is_alpha(v[0]))
        return 0;
    size_t i = 1;
    while (i < len &&
           (is_alpha(v[i]) || is_digit(v[i]) || v[i] == '+' || v[i] == '-' || v[i] == '.'))
        i++;
    if (len - i < 4 || memcmp(v + i, "://", 3) != 0)
        return 0;
    for (i += 3; i < len; i++)
        if (!is_host_char(v[i]))
            return 0;
    return 1;
}

int http_cors_token_list_ok(const char *v, size_t len, size_t max)
{
    if (len > max)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_tchar(v[i]) && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            return 0;
    return 1;
}

static int token_ok(const char *v, size_t len, size_t max)
{
    if (len == 0 || len > max)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_tchar(v[i]))
            return 0;
    return 1;
}

static int add_origin(http_cors_t *c, const char *v, size_t len)
{
    char **o = realloc(c->origins, (c->n + 1) * sizeof(*o));
    if (o == NULL)
        return -1;
    c->origins = o;
    if ((o[c->n] = strndup(v, len)) == NULL)
        return -1;
    c->n++;
    return 0;
}

/* One CORS_ORIGINS entry, trimmed; a trailing '/' is dropped (a browser
 * never sends one, people often write one). */
static int add_entry(http_cors_t *c, const char *s, size_t len, char *err, size_t errlen)
{
    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len > 1 && s[len - 1] == '/')
        len--;
    if (len == 0)
        return 0;
    if (len == 1 && s[0] == '*') {
        c->any = 1;
        return 0;
    }
    if (!http_cors_origin_ok(s, len)) {
        snprintf(err, errlen, "CORS_ORIGINS: an entry is not an origin (scheme://host[:port])");
        return -1;
    }
    if (add_origin(c, s, len) != 0) {
        snprintf(err, errlen, "CORS_ORIGINS: out of memory");
        return -1;
    }
    return 0;
}

int http_cors_init(http_cors_t *c, const char *extra, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < NBUILTIN; i++) {
        if (add_origin(c, builtin_origins[i], strlen(builtin_origins[i])) != 0) {
            snprintf(err, errlen, "CORS: out of memory");
            http_cors_free(c);
            return -1;
        }
    }
    for (const char *p = extra; p != NULL && *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (add_entry(c, p, len, err, errlen) != 0) {
            http_cors_free(c);
            return -1;
        }
        p = comma != NULL ? comma + 1 : p + len;
    }
    return 0;
}

void http_cors_free(http_cors_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->origins[i]);
    free(c->origins);
    memset(c, 0, sizeof(*c));
}

int http_cors_allowed(const http_cors_t *c, const char *v, size_t len)
{
    if (!http_cors_origin_ok(v, len))
        return 0;
    if (c->any)
        return 1;
    for (size_t i = 0; i < c->n; i++)
        if (strlen(c->origins[i]) == len && strncasecmp(c->origins[i], v, len) == 0)
            return 1;
    return 0;
}

static void put(http_cors_reply_t *out, const char *name, const char *value, size_t len)
{
    if (out->n < HTTP_CORS_MAX_HEADERS)
        out->h[out->n++] = (http_cors_header_t){name, value, len};
}

#define PUT_LIT(out, name, lit) put(out, name, lit, sizeof(lit) - 1)

void http_cors_simple(const http_cors_t *c, const char *origin, size_t origin_len,
                      http_cors_reply_t *out)
{
    out->n = 0;
    PUT_LIT(out, "vary", "Origin");
    if (origin == NULL || !http_cors_allowed(c, origin, origin_len))
        return;
    put(out, "access-control-allow-origin", origin, origin_len);
    PUT_LIT(out, "access-control-allow-credentials", "true");
    PUT_LIT(out, "access-control-expose-headers", expose_headers);
}

http_cors_verdict_t http_cors_preflight(const http_cors_t *c, const http_cors_preflight_in_t *in,
                                        http_cors_reply_t *out)
{
    out->n = 0;
    if (in->origin == NULL || !http_cors_allowed(c, in->origin, in->origin_len))
        return HTTP_CORS_PREFLIGHT_DISALLOWED;
    if (in->method == NULL || !token_ok(in->method, in->method_len, HTTP_CORS_METHOD_MAX) ||
        (in->headers != NULL &&
         !http_cors_token_list_ok(in->headers, in->headers_len, HTTP_CORS_REQ_HEADERS_MAX)))
        return HTTP_CORS_PREFLIGHT_INVALID;
    PUT_LIT(out, "vary", preflight_vary);
    put(out, "access-control-allow-origin", in->origin, in->origin_len);
    PUT_LIT(out, "access-control-allow-credentials", "true");
    PUT_LIT(out, "access-control-allow-methods", allow_methods);
    if (in->headers != NULL && in->headers_len > 0)
        put(out, "access-control-allow-headers", in->headers, in->headers_len);
    PUT_LIT(out, "access-control-max-age", "600");
    /* Private Network Access (Chrome): Agno refuses it, we allow it. */
    if (in->private_network != NULL && in->private_network_len == 4 &&
        strncasecmp(in->private_network, "true", 4) == 0)
        PUT_LIT(out, "access-control-allow-private-network", "true");
    return HTTP_CORS_PREFLIGHT_OK;
}
