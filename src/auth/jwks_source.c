/* The key set's loader thread. The set is swapped under the mutex and
 * handed out with a reference, so a loop checking a token against the old
 * set keeps it alive while the new one is already in place. The thread
 * sleeps on a condition variable until the next refresh, a retry, a missed
 * kid or the stop. */
#include "auth/jwks_source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "core/backoff.h"
#include "core/buf.h"
#include "core/counters.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "net/http_fetch.h"

#define US_PER_S 1000000ULL
#define JWKS_RETRY_BASE_MS 1000

struct jwks_source {
    uv_mutex_t mu;
    uv_cond_t cond;
    uv_thread_t thread;
    int started;
    int stop;
    int want;         /* a missed kid asked for a reload */
    char *url, *file; /* one of them */
    jwks_source_config_t cfg;
    jwks_set_t *set;        /* NULL before the first good load */
    uint64_t set_at_us;     /* when set was loaded (monotonic) */
    uint64_t attempt_at_us; /* the last load's start */
    uint64_t next_at_us;    /* the next planned load */
    unsigned failures;      /* loads failed in a row */
    backoff_rng_t rng;
    int ok;
    char error[JWKS_ERR_MAX];
    unsigned long long loads_ok, loads_failed;
};

/* The file's text, bounded like a fetched body. */
static int read_file(const jwks_source_t *s, buf_t *out, char *err, size_t errlen)
{
    buf_init(out, s->cfg.max_bytes);
    FILE *f = fopen(s->file, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open %s: %s", s->file, strerror(errno));
        return -1;
    }
    char chunk[4096];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = buf_append(out, chunk, n) == BUF_OK ? 0 : -1;
    if (rc == 0 && ferror(f))
        rc = -1;
    fclose(f);
    if (rc != 0) {
        snprintf(err, errlen, "%s is unreadable or larger than %zu bytes", s->file,
                 s->cfg.max_bytes);
        buf_free(out);
    }
    return rc;
}

/* One load, without the lock: the text, then the parsed set (or NULL). */
static jwks_set_t *load(const jwks_source_t *s, char *err, size_t errlen)
{
    buf_t text;
    int rc;
    if (s->url != NULL) {
        http_fetch_opts_t o = {s->url, s->cfg.max_bytes, s->cfg.timeout_ms, s->cfg.timeout_ms};
        rc = http_fetch_get(&o, &text, err, errlen);
    } else {
        rc = read_file(s, &text, err, errlen);
    }
    if (rc != 0)
        return NULL;
    jwks_set_t *set = jwks_set_parse(buf_ptr(&text), buf_len(&text), s->cfg.max_keys, err, errlen);
    buf_free(&text);
    return set;
}

static const char *where(const jwks_source_t *s)
{
    return s->url != NULL ? "BETTER_AUTH_JWKS_URL" : "BETTER_AUTH_JWKS_FILE";
}

/* Under the lock: the outcome of a load that started at started_us. Takes
 * set; returns the old set for the caller to drop outside the lock. */
static jwks_set_t *record(jwks_source_t *s, jwks_set_t *set, const char *err, uint64_t started_us)
{
    jwks_set_t *old = NULL;
    uint64_t now = timeutil_mono_us();
    if (set != NULL) {
        old = s->set;
        s->set = set;
        s->set_at_us = now;
        s->failures = 0;
        s->loads_ok++;
        s->next_at_us =
            s->cfg.refresh_s > 0 ? now + (uint64_t)s->cfg.refresh_s * US_PER_S : UINT64_MAX;
    } else {
        s->loads_failed++;
        uint64_t delay = backoff_delay_ms(&s->rng, JWKS_RETRY_BASE_MS,
                                          (uint64_t)s->cfg.retry_max_s * 1000, s->failures++);
        s->next_at_us = now + delay * 1000;
    }
    s->ok = set != NULL;
    snprintf(s->error, sizeof s->error, "%s", set != NULL ? "" : err);
    s->attempt_at_us = started_us;
    counters_jwks_load(set != NULL);
    counters_jwks_keys(jwks_set_count(s->set));
    return old;
}

/* A reload that changes nothing is logged at debug: a refresh every few
 * minutes would otherwise fill the log. */
static void log_outcome(const jwks_source_t *s, const jwks_set_t *set, const char *err,
                        size_t had_keys)
{
    if (set != NULL)
        log_msg(s->ok && had_keys == jwks_set_count(set) ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO,
                "jwks: %zu keys loaded from %s (%zu skipped)", jwks_set_count(set), where(s),
                jwks_set_skipped(set));
    else if (had_keys > 0)
        log_msg(LOG_LEVEL_WARN, "jwks: %s: %s; the last good set of %zu keys stays in use",
                where(s), err, had_keys);
    else
        log_msg(LOG_LEVEL_WARN,
                "jwks: %s: %s; tokens signed with its keys are refused until "
                "a load succeeds",
                where(s), err);
}

/* Under the lock on entry and on return; the load runs without it. */
static void load_now(jwks_source_t *s)
{
    uint64_t started = timeutil_mono_us();
    s->attempt_at_us = started; /* a kid missed meanwhile waits for this load */
    size_t had = jwks_set_count(s->set);
    uv_mutex_unlock(&s->mu);
    char err[JWKS_ERR_MAX] = "";
    jwks_set_t *set = load(s, err, sizeof err);
    log_outcome(s, set, err, had);
    uv_mutex_lock(&s->mu);
    jwks_set_t *old = record(s, set, err, started);
    uv_mutex_unlock(&s->mu);
    jwks_set_unref(old);
    uv_mutex_lock(&s->mu);
}

static void thread_main(void *arg)
{
    jwks_source_t *s = arg;
    uv_mutex_lock(&s->mu);
    while (!s->stop) {
        uint64_t now = timeutil_mono_us();
        if (s->want || now >= s->next_at_us) {
            s->want = 0;
            load_now(s);
        } else if (s->next_at_us == UINT64_MAX) {
            uv_cond_wait(&s->cond, &s->mu);
        } else {
            uv_cond_timedwait(&s->cond, &s->mu, (s->next_at_us - now) * 1000);
        }
    }
    uv_mutex_unlock(&s->mu);
}

static int copy_config(jwks_source_t *s, const jwks_source_config_t *cfg)
{
    s->cfg = *cfg;
    s->url = cfg->url != NULL ? strdup(cfg->url) : NULL;
    s->file = cfg->file != NULL ? strdup(cfg->file) : NULL;
    s->cfg.url = s->url;
    s->cfg.file = s->file;
    if (s->cfg.retry_max_s <= 0)
        s->cfg.retry_max_s = 60;
    return (cfg->url != NULL) == (s->url != NULL) && (cfg->file != NULL) == (s->file != NULL) ? 0
                                                                                              : -1;
}

static void source_release(jwks_source_t *s)
{
    jwks_set_unref(s->set);
    free(s->url);
    free(s->file);
    uv_cond_destroy(&s->cond);
    uv_mutex_destroy(&s->mu);
    free(s);
}

static jwks_source_t *source_alloc(const jwks_source_config_t *cfg, char *err, size_t errlen)
{
    jwks_source_t *s = calloc(1, sizeof *s);
    if (s == NULL || uv_mutex_init(&s->mu) != 0) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (uv_cond_init(&s->cond) != 0) {
        uv_mutex_destroy(&s->mu);
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    backoff_rng_seed(&s->rng, s);
    if (copy_config(s, cfg) != 0) {
        source_release(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return s;
}

jwks_source_t *jwks_source_new(const jwks_source_config_t *cfg, char *err, size_t errlen)
{
    if (cfg == NULL || (cfg->url == NULL) == (cfg->file == NULL) || cfg->max_bytes == 0 ||
        cfg->max_keys == 0) {
        snprintf(err, errlen, "BETTER_AUTH_JWKS_URL or BETTER_AUTH_JWKS_FILE (one of them)");
        return NULL;
    }
    jwks_source_t *s = source_alloc(cfg, err, errlen);
    if (s == NULL)
        return NULL;
    uv_mutex_lock(&s->mu);
    load_now(s);
    int file_failed = s->file != NULL && !s->ok;
    if (file_failed)
        snprintf(err, errlen, "BETTER_AUTH_JWKS_FILE: %s", s->error);
    uv_mutex_unlock(&s->mu);
    if (file_failed || uv_thread_create(&s->thread, thread_main, s) != 0) {
        if (!file_failed)
            snprintf(err, errlen, "jwks: cannot start its thread");
        source_release(s);
        return NULL;
    }
    s->started = 1;
    return s;
}

void jwks_source_free(jwks_source_t *s)
{
    if (s == NULL)
        return;
    if (s->started) {
        uv_mutex_lock(&s->mu);
        s->stop = 1;
        uv_cond_signal(&s->cond);
        uv_mutex_unlock(&s->mu);
        uv_thread_join(&s->thread);
    }
    source_release(s);
}

jwks_set_t *jwks_source_current(jwks_source_t *s)
{
    if (s == NULL)
        return NULL;
    uv_mutex_lock(&s->mu);
    jwks_set_t *set = s->set;
    jwks_set_ref(set);
    uv_mutex_unlock(&s->mu);
    return set;
}

void jwks_source_kid_missed(jwks_source_t *s)
{
    if (s == NULL)
        return;
    uv_mutex_lock(&s->mu);
    uint64_t now = timeutil_mono_us(); /* under the lock: attempt_at_us is never ahead */
    uint64_t min_us = (uint64_t)s->cfg.refetch_min_s * US_PER_S;
    if (!s->want && now - s->attempt_at_us >= min_us) {
        s->want = 1;
        s->attempt_at_us = now; /* the next miss within min_us asks nothing */
        uv_cond_signal(&s->cond);
    }
    uv_mutex_unlock(&s->mu);
}

void jwks_source_status(jwks_source_t *s, jwks_status_t *out)
{
    memset(out, 0, sizeof *out);
    out->age_s = -1;
    if (s == NULL)
        return;
    uv_mutex_lock(&s->mu);
    out->ok = s->ok;
    snprintf(out->error, sizeof out->error, "%s", s->error);
    if (s->set != NULL)
        out->age_s = (long long)((timeutil_mono_us() - s->set_at_us) / US_PER_S);
    out->keys = jwks_set_count(s->set);
    out->source = s->url != NULL ? "url" : "file";
    out->loads_ok = s->loads_ok;
    out->loads_failed = s->loads_failed;
    uv_mutex_unlock(&s->mu);
}
