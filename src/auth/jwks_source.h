/* better-auth's key set, from BETTER_AUTH_JWKS_URL (fetched with libcurl on
 * a thread of its own, never a loop's) or BETTER_AUTH_JWKS_FILE: loaded at
 * start, refreshed now and then and when a token names an unknown kid (at
 * most once per refetch interval). A failed load keeps the last good set.
 * One source per process, shared by the loops; every call is thread-safe. */
#ifndef AGENTOS_AUTH_JWKS_SOURCE_H
#define AGENTOS_AUTH_JWKS_SOURCE_H

#include <stddef.h>

#include "auth/jwks_set.h"

#define JWKS_ERR_MAX 200

typedef struct jwks_source_config {
    const char *url;    /* http(s) URL, or NULL */
    const char *file;   /* a path, or NULL; exactly one of url and file */
    size_t max_bytes;   /* the set's text at most */
    size_t max_keys;    /* keys in the set at most */
    long timeout_ms;    /* one fetch, connect included */
    long refetch_min_s; /* an unknown kid reloads at most this often */
    long refresh_s;     /* reload this often anyway; 0: never */
    long retry_max_s;   /* a failing load is retried with back-off up to this */
} jwks_source_config_t;

typedef struct jwks_source jwks_source_t;

/* Loads the set once now, then starts the reloading thread. A file that
 * cannot be loaded stops the start (NULL, the reason in err); a URL that
 * cannot be fetched yet does not: the service starts, refuses JWKS tokens
 * and keeps trying, with the failure shown in the status. */
jwks_source_t *jwks_source_new(const jwks_source_config_t *cfg, char *err, size_t errlen);
/* Stops the thread (a fetch in flight ends within its timeout). */
void jwks_source_free(jwks_source_t *s);

/* The current set with a reference for the caller (jwks_set_unref), or NULL
 * before the first good load. */
jwks_set_t *jwks_source_current(jwks_source_t *s);
/* A token named a kid the set lacks: reload unless the last attempt is more
 * recent than refetch_min_s. Never blocks. */
void jwks_source_kid_missed(jwks_source_t *s);

typedef struct jwks_status {
    int ok;                   /* the last load succeeded */
    char error[JWKS_ERR_MAX]; /* the last load's failure, "" when ok */
    long long age_s;          /* since the set in use was loaded; -1: none yet */
    size_t keys;              /* in the set in use */
    const char *source;       /* "url" or "file" */
    unsigned long long loads_ok;
    unsigned long long loads_failed;
} jwks_status_t;

void jwks_source_status(jwks_source_t *s, jwks_status_t *out);

#endif
