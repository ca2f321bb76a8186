/* Prisma's DATABASE_URL for libpq. Prisma adds parameters of its own
 * (schema, its pool's sizes and timeouts, pgbouncer, its TLS identity) that
 * libpq refuses ("invalid URI query parameter"), and a team shares one URL
 * through .env. Those are dropped here; the ones both know (connect_timeout,
 * sslmode, sslcert, sslpassword, host, application_name, options) stay with
 * libpq's meaning. libpq then checks the rest once, at start. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secret.h"
#include "core/url.h"
#include "store/store_pg_url.h"

/* Prisma's PostgreSQL connection URL arguments that libpq does not know
 * (prisma.io/docs, "PostgreSQL connector", Arguments). */
static const char *const prisma_only[] = {
    "schema",
    "connection_limit",
    "pool_timeout",
    "socket_timeout",
    "pgbouncer",
    "statement_cache_size",
    "sslidentity",
    "sslaccept",
    "max_connection_lifetime",
    "max_idle_connection_lifetime",
};

int store_pg_url_prisma_only(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof prisma_only / sizeof prisma_only[0]; i++) {
        if (strlen(prisma_only[i]) == len && strncmp(prisma_only[i], name, len) == 0)
            return 1;
    }
    return 0;
}

/* The password as written in the URL: after the first ':' of the user
 * info, which ends at the first '@' before any '/' (libpq's reading). */
static void password_span(const char *url, const char **pw, size_t *len)
{
    *pw = NULL;
    *len = 0;
    const char *p = strstr(url, "://");
    if (p == NULL)
        return;
    p += 3;
    size_t info = strcspn(p, "@/?");
    if (p[info] != '@')
        return;
    const char *colon = memchr(p, ':', info);
    if (colon != NULL) {
        *pw = colon + 1;
        *len = (size_t)(p + info - *pw);
    }
}

/* Copies msg's first line into dst with every copy of secret (len bytes)
 * replaced by "***". */
static void redact_into(char *dst, size_t n, const char *msg, const char *secret, size_t len)
{
    size_t o = 0;
    for (const char *p = msg; *p && *p != '\n' && o + 1 < n;) {
        if (len > 0 && strncmp(p, secret, len) == 0) {
            size_t k = o + 3 < n ? 3 : n - 1 - o;
            memcpy(dst + o, "***", k);
            o += k;
            p += len;
        } else {
            dst[o++] = *p++;
        }
    }
    dst[o] = '\0';
}

/* libpq's parse errors may quote a part of the URL, the password included:
 * it goes out as written and as decoded, never as it is. */
static void parse_error(const char *url, const char *msg, char *err, size_t errlen)
{
    const char *pw;
    size_t pwlen;
    password_span(url, &pw, &pwlen);
    char raw[512], decoded[512], line[512];
    if (pwlen >= sizeof raw) { /* cannot be redacted here: say less */
        snprintf(err, errlen, "DATABASE_URL: cannot be parsed");
        return;
    }
    snprintf(raw, sizeof raw, "%.*s", (int)pwlen, pw ? pw : "");
    ssize_t dlen = url_decode(decoded, sizeof decoded, raw, strlen(raw), URL_DECODE_NO_NUL);
    redact_into(line, sizeof line, msg != NULL ? msg : "cannot be parsed", raw, strlen(raw));
    if (dlen > 0) {
        char again[512];
        redact_into(again, sizeof again, line, decoded, (size_t)dlen);
        memcpy(line, again, sizeof line);
    }
    secret_wipe(raw, sizeof raw);
    secret_wipe(decoded, sizeof decoded);
    int param = strstr(line, "query parameter") != NULL;
    snprintf(err, errlen, "DATABASE_URL: %s%s", line,
             param ? " (libpq's parameters and Prisma's are known)" : "");
}

/* libpq's own check of what is left, as at connect but before it. */
static int check_parse(const char *url, char *err, size_t errlen)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &msg);
    if (opts == NULL) {
        parse_error(url, msg, err, errlen);
        PQfreemem(msg);
        return -1;
    }
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (o->val != NULL && strcmp(o->keyword, "password") == 0)
            secret_wipe(o->val, strlen(o->val));
    }
    PQconninfoFree(opts);
    return 0;
}

static void note_add(char *note, size_t notelen, const char *name, size_t len)
{
    size_t used = strlen(note);
    if (used + 1 < notelen)
        snprintf(note + used, notelen - used, "%s%.*s", used ? ", " : "", (int)len, name);
}

/* How much of param "key=value" the note shows: schema's value when it is
 * a plain name (the reader wants to see "schema=public" ignored), else the
 * key alone: other values are nobody's business in a log. */
static size_t note_span(const char *param, size_t plen, size_t klen)
{
    if (klen != 6 || strncmp(param, "schema", 6) != 0 || plen <= klen + 1 || plen > 70)
        return klen;
    for (size_t i = klen + 1; i < plen; i++) {
        char ch = param[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return klen;
    }
    return plen;
}

int store_pg_url_clean(const char *url, char **out, char *note, size_t notelen, char *err,
                       size_t errlen)
{
    note[0] = '\0';
    /* One allocation of the final size (never longer than url): a growing
     * buffer would leave unwiped copies of the password behind. */
    size_t n = strlen(url), len = strcspn(url, "?");
    char *o = malloc(n + 1);
    if (o == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(o, url, len);
    char sep = '?';
    for (const char *p = url[len] == '?' ? url + len + 1 : url + len; *p;) {
        size_t plen = strcspn(p, "&"), klen = strcspn(p, "=&");
        if (klen > plen)
            klen = plen;
        if (plen > 0 && store_pg_url_prisma_only(p, klen)) {
            note_add(note, notelen, p, note_span(p, plen, klen));
        } else if (plen > 0) {
            o[len++] = sep;
            sep = '&';
            memcpy(o + len, p, plen);
            len += plen;
        }
        p += plen + (p[plen] == '&');
    }
    o[len] = '\0';
    if (check_parse(o, err, errlen) != 0) {
        secret_free(o);
        return -1;
    }
    *out = o;
    return 0;
}
