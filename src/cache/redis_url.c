/* REDIS_URL parsing. Errors name the part that is wrong but never echo the
 * URL, since it may carry a password. */
#include "cache/redis.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/secret.h"
#include "core/url.h"

#define SCHEME "redis://"
#define DEFAULT_PORT 6379

static int fail(char *err, size_t errlen, const char *why)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", why);
    return -1;
}

/* Percent-decodes [s, s+n) into a new string; NULL on a bad escape or a
 * decoded NUL (which could not be sent as a C string anyway). */
static char *percent_decode(const char *s, size_t n)
{
    /* n is a length within a string, so n + 1 is never 0. */
    /* NOLINTNEXTLINE(clang-analyzer-optin.portability.UnixAPI) */
    char *out = malloc(n + 1);
    if (out != NULL && url_decode(out, n + 1, s, n, URL_DECODE_STRICT | URL_DECODE_NO_NUL) < 0) {
        secret_free_n(out, n + 1); /* it may hold part of the password */
        return NULL;
    }
    return out;
}

/* Parses a decimal in [lo, hi] spanning exactly [s, s+n). */
static int parse_int(const char *s, size_t n, int lo, int hi, int *out)
{
    long v = 0;
    if (n == 0 || n > 10)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_userinfo(const char *s, size_t n, redis_url_t *u, char *err, size_t errlen)
{
    const char *colon = memchr(s, ':', n);
    if (!colon)
        return fail(err, errlen, "a user name needs a password (redis://user:password@host)");
    size_t ulen = (size_t)(colon - s);
    if (ulen > 0) {
        u->user = percent_decode(s, ulen);
        if (!u->user)
            return fail(err, errlen, "bad percent-escape in the user name");
    }
    u->password = percent_decode(colon + 1, n - ulen - 1);
    if (!u->password)
        return fail(err, errlen, "bad percent-escape in the password");
    if (!u->password[0])
        return fail(err, errlen, "empty password");
    return 0;
}

static int valid_host_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '.' || ch == '-' || ch == '_';
}

/* host, [v6] or host:port, [v6]:port */
static int parse_hostport(const char *s, size_t n, redis_url_t *u, char *err, size_t errlen)
{
    const char *host = s, *port = NULL;
    size_t hlen;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return fail(err, errlen, "unclosed '[' in the host");
        host = s + 1;
        hlen = (size_t)(close - host);
        const char *rest = close + 1;
        if (rest < s + n) {
            if (*rest != ':')
                return fail(err, errlen, "junk after the IPv6 address");
            port = rest + 1;
        }
        for (size_t i = 0; i < hlen; i++)
            if (!isxdigit((unsigned char)host[i]) && host[i] != ':' && host[i] != '.')
                return fail(err, errlen, "bad IPv6 address");
    } else {
        const char *colon = memchr(s, ':', n);
        hlen = colon ? (size_t)(colon - s) : n;
        port = colon ? colon + 1 : NULL;
        for (size_t i = 0; i < hlen; i++)
            if (!valid_host_char(host[i]))
                return fail(err, errlen, "bad character in the host");
    }
    if (hlen == 0)
        return fail(err, errlen, "no host");
    if (hlen >= sizeof u->host)
        return fail(err, errlen, "host too long");
    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';
    u->port = DEFAULT_PORT;
    if (port && parse_int(port, (size_t)(s + n - port), 1, 65535, &u->port) != 0)
        return fail(err, errlen, "port must be 1-65535");
    return 0;
}

static int parse_path(const char *s, redis_url_t *u, char *err, size_t errlen)
{
    u->db = 0;
    if (!*s)
        return 0;
    if (strpbrk(s, "?#"))
        return fail(err, errlen, "query parameters are not supported");
    s++; /* the '/' */
    if (!*s)
        return 0;
    if (parse_int(s, strlen(s), 0, 1000000, &u->db) != 0)
        return fail(err, errlen, "the path must be a database number (redis://host:port/0)");
    return 0;
}

static int parse_scheme(const char **p, char *err, size_t errlen)
{
    if (strncasecmp(*p, "rediss://", 9) == 0)
        return fail(err, errlen, "TLS (rediss://) is not supported: hiredis 0.14 has no TLS");
    if (strncasecmp(*p, SCHEME, strlen(SCHEME)) != 0)
        return fail(err, errlen, "must start with redis://");
    *p += strlen(SCHEME);
    return 0;
}

int redis_url_parse(const char *url, redis_url_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!url)
        return fail(err, errlen, "empty");
    const char *p = url;
    if (parse_scheme(&p, err, errlen) != 0)
        return -1;
    /* The authority ends at the path, query or fragment; a '/', '?' or '#'
     * inside a password must be percent-encoded, as in any URL. */
    size_t alen = strcspn(p, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (p[i] == '@')
            at = p + i;
    int rc = 0;
    if (at)
        rc = parse_userinfo(p, (size_t)(at - p), out, err, errlen);
    const char *hp = at ? at + 1 : p;
    if (rc == 0)
        rc = parse_hostport(hp, (size_t)(p + alen - hp), out, err, errlen);
    if (rc == 0)
        rc = parse_path(p + alen, out, err, errlen);
    if (rc != 0)
        redis_url_free(out);
    return rc;
}

void redis_url_free(redis_url_t *u)
{
    secret_free(u->password);
    free(u->user);
    u->password = NULL;
    u->user = NULL;
}

void redis_url_redacted(const redis_url_t *u, char *out, size_t outlen)
{
    int v6 = strchr(u->host, ':') != NULL;
    snprintf(out, outlen, "redis://%s%s%s%s%s%s:%d/%d", u->user ? u->user : "",
             u->password ? ":***" : "", (u->user || u->password) ? "@" : "", v6 ? "[" : "", u->host,
             v6 ? "]" : "", u->port, u->db);
}
