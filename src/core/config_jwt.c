#include "core/config_jwt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CLAIM_NAME_MAX 64

/* The claims that already mean something to a verifier: mapping one of
 * them onto the workspace or the session would silently change its sense. */
static const char *const RESERVED_CLAIMS[] = {"iss", "sub", "aud",   "exp",  "nbf",
                                              "iat", "jti", "email", "name", "scopes"};

const char *config_jwt_claim_problem(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > CLAIM_NAME_MAX)
        return "must be 1 to 64 characters";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && strchr("_-.:/", c) == NULL)
            return "may hold only letters, digits and _ - . : / (a top-level claim's name)";
    }
    for (size_t i = 0; i < sizeof RESERVED_CLAIMS / sizeof RESERVED_CLAIMS[0]; i++) {
        if (strcmp(name, RESERVED_CLAIMS[i]) == 0)
            return "names a claim that already has a meaning";
    }
    return NULL;
}

/* The port of [p, end) as a number, 0 for an empty one, -1 when bad. */
static long parse_port(const char *p, const char *end)
{
    long port = 0;
    for (; p < end; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        port = port * 10 + (*p - '0');
        if (port > 65535)
            return -1;
    }
    return port;
}

/* The host part of an authority (after user info): [host, *host_end) and
 * its port, or -1 when it has no host or a bad port. */
static long split_authority(const char *a, const char *end, const char **host_end)
{
    const char *colon = NULL;
    if (*a == '[') {
        const char *close = memchr(a, ']', (size_t)(end - a));
        if (close == NULL || close == a + 1 || (close + 1 < end && close[1] != ':'))
            return -1;
        colon = close + 1 < end ? close + 1 : NULL;
    } else {
        colon = memchr(a, ':', (size_t)(end - a));
    }
    *host_end = colon != NULL ? colon : end;
    if (*host_end == a)
        return -1;
    return colon != NULL ? parse_port(colon + 1, end) : 0;
}

char *config_jwt_origin(const char *url)
{
    const char *scheme = strncasecmp(url, "https://", 8) == 0  ? "https"
                         : strncasecmp(url, "http://", 7) == 0 ? "http"
                                                               : NULL;
    if (scheme == NULL)
        return NULL;
    const char *a = url + strlen(scheme) + 3;
    const char *end = a + strcspn(a, "/?#");
    for (const char *at = a; at < end; at++) {
        if (*at == '@')
            a = at + 1; /* user info: URL.origin leaves it out */
    }
    const char *host_end = NULL;
    long port = split_authority(a, end, &host_end);
    long dflt = strcmp(scheme, "https") == 0 ? 443 : 80;
    if (port < 0)
        return NULL;
    size_t hn = (size_t)(host_end - a), cap = strlen(scheme) + 3 + hn + 8;
    for (size_t i = 0; i < hn; i++) {
        if ((unsigned char)a[i] <= ' ' || a[i] == 0x7f || a[i] == '\\')
            return NULL;
    }
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    int w = snprintf(out, cap, "%s://", scheme);
    for (size_t i = 0; i < hn; i++)
        out[w++] = (char)tolower((unsigned char)a[i]);
    if (port != 0 && port != dflt)
        snprintf(out + w, cap - (size_t)w, ":%ld", port);
    else
        out[w] = '\0';
    return out;
}
