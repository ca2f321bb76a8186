/* The limiter: Redis when it answers, the local counter otherwise. */
#include "cache/ratelimit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"

#define DEFAULT_WINDOW_MS 60000
#define DEFAULT_LOCAL_CAPACITY 10000
#define KEY_PREFIX "agentos:rl:"
#define WARN_EVERY_MS 60000

/* INCR, then give the key its lifetime when it has none: on the first hit
 * of a window, and also if it ever lost its TTL, so that no counter can
 * live forever. Returns {count, ms left}. One script: atomic on the server. */
static const char SCRIPT[] = "local n = redis.call('INCR', KEYS[1])\n"
                             "local ttl = redis.call('PTTL', KEYS[1])\n"
                             "if ttl < 0 then\n"
                             "  redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
                             "  ttl = tonumber(ARGV[1])\n"
                             "end\n"
                             "return {n, ttl}\n";

struct ratelimit {
    redis_client_t *redis;
    int limit;
    int window_ms;
    ratelimit_local_t *local;
    int owns_local;
    size_t pending; /* Redis checks whose callback has not run yet */
    int closing;
    int degraded;          /* the last answer was local although Redis is configured */
    int refused;           /* Redis answered the last check with an error */
    uint64_t last_warn_ms; /* monotonic; 0: never warned */
};

/* One Redis check in flight; workspace kept for the local fallback. */
typedef struct check {
    ratelimit_t *rl;
    ratelimit_cb cb;
    void *data;
    char workspace[];
} check_t;

ratelimit_t *ratelimit_new(redis_client_t *redis, const ratelimit_config_t *cfg)
{
    ratelimit_t *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->redis = redis;
    rl->limit = cfg->limit > 0 ? cfg->limit : 0;
    rl->window_ms = cfg->window_ms > 0 ? cfg->window_ms : DEFAULT_WINDOW_MS;
    rl->owns_local = cfg->local == NULL;
    rl->local = cfg->local ? cfg->local
                           : ratelimit_local_new(cfg->local_capacity ? cfg->local_capacity
                                                                     : DEFAULT_LOCAL_CAPACITY);
    if (!rl->local) {
        free(rl);
        return NULL;
    }
    return rl;
}

static void destroy(ratelimit_t *rl)
{
    if (rl->owns_local)
        ratelimit_local_free(rl->local);
    free(rl);
}

void ratelimit_free(ratelimit_t *rl)
{
    if (!rl)
        return;
    if (rl->pending) {
        rl->closing = 1;
        return;
    }
    destroy(rl);
}

int ratelimit_limit(const ratelimit_t *rl)
{
    return rl->limit;
}

/* Degraded now: Redis is configured but either down, or up and refusing the
 * script (which only a reply shows). A Redis that came back counts as back
 * before the next check reaches it. */
int ratelimit_degraded(const ratelimit_t *rl)
{
    if (rl->redis == NULL)
        return 0;
    return !redis_client_connected(rl->redis) || rl->refused;
}

static uint64_t now_ms(void)
{
    return timeutil_wall_us() / 1000;
}

static void local_answer(ratelimit_t *rl, const char *workspace, ratelimit_result_t *out)
{
    ratelimit_local_hit(rl->local, workspace, rl->limit, rl->window_ms, now_ms(), out);
    out->degraded = rl->redis != NULL;
    rl->degraded = out->degraded;
}

/* A Redis that is up but refuses the script (a read-only replica, OOM, a
 * key of another type) degrades every check while the client looks
 * healthy: say so, once a minute per loop. An outage is logged by the
 * client instead. */
static void warn_fallback(ratelimit_t *rl, redis_cmd_status_t status, const redisReply *reply)
{
    uint64_t now = timeutil_mono_us() / 1000;
    if (rl->last_warn_ms && now - rl->last_warn_ms < WARN_EVERY_MS)
        return;
    rl->last_warn_ms = now;
    const char *why = status != REDIS_CMD_OK                      ? redis_cmd_status_name(status)
                      : reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                                  : "unexpected reply";
    log_json(LOG_LEVEL_WARN, "rate limit answered locally", json_pack("{s:s}", "reason", why));
}

/* {count, pttl} from the script, or -1 for anything else. */
static int parse_reply(const redisReply *r, long long *count, long long *ttl)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
        return -1;
    if (r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER)
        return -1;
    *count = r->element[0]->integer;
    *ttl = r->element[1]->integer;
    return *count > 0 ? 0 : -1;
}

static void redis_answer(const ratelimit_t *rl, long long count, long long ttl_ms,
                         ratelimit_result_t *out)
{
    memset(out, 0, sizeof *out);
    int reset = (int)((ttl_ms + 999) / 1000);
    out->reset_s = reset > 0 ? reset : 1;
    out->allowed = count <= rl->limit;
    out->remaining = out->allowed ? rl->limit - (int)count : 0;
    out->retry_after_s = out->allowed ? 0 : out->reset_s;
}

static void on_reply(redis_cmd_status_t status, const redisReply *reply, void *data)
{
    check_t *ck = data;
    ratelimit_t *rl = ck->rl;
    ratelimit_result_t res;
    long long count, ttl;
    if (status == REDIS_CMD_OK && parse_reply(reply, &count, &ttl) == 0) {
        redis_answer(rl, count, ttl, &res);
        rl->degraded = 0;
        rl->refused = 0;
    } else {
        rl->refused = status == REDIS_CMD_OK;
        if (status != REDIS_CMD_CLOSED)
            warn_fallback(rl, status, reply);
        local_answer(rl, ck->workspace, &res);
    }
    ck->cb(&res, ck->data);
    free(ck);
    if (--rl->pending == 0 && rl->closing)
        destroy(rl);
}

/* Asks Redis; 0 when the callback will come, -1 when the caller must
 * answer locally. */
static int ask_redis(ratelimit_t *rl, const char *workspace, ratelimit_cb cb, void *data)
{
    if (!rl->redis || !redis_client_connected(rl->redis))
        return -1;
    size_t wlen = strlen(workspace);
    check_t *ck = malloc(sizeof *ck + wlen + 1);
    size_t keylen = sizeof KEY_PREFIX + wlen + 32; /* "{" "}:" and 20 digits */
    char *key = malloc(keylen);
    if (!ck || !key) {
        free(ck);
        free(key);
        return -1;
    }
    ck->rl = rl;
    ck->cb = cb;
    ck->data = data;
    memcpy(ck->workspace, workspace, wlen + 1);
    uint64_t now = now_ms();
    uint64_t window = now / (uint64_t)rl->window_ms;
    uint64_t left_ms = (window + 1) * (uint64_t)rl->window_ms - now;
    char ttl[24];
    snprintf(key, keylen, KEY_PREFIX "{%s}:%" PRIu64, workspace, window);
    snprintf(ttl, sizeof ttl, "%" PRIu64, left_ms);
    const char *argv[] = {"EVAL", SCRIPT, "1", key, ttl};
    int rc = redis_client_command_argv(rl->redis, on_reply, ck, 5, argv, NULL);
    free(key);
    if (rc != 0) {
        free(ck);
        return -1;
    }
    rl->pending++;
    return 0;
}

int ratelimit_check(ratelimit_t *rl, const char *workspace_id, ratelimit_cb cb, void *data,
                    ratelimit_result_t *out)
{
    if (rl->limit <= 0 || !workspace_id || !workspace_id[0] || rl->closing) {
        memset(out, 0, sizeof *out);
        out->allowed = 1;
        out->remaining = -1;
        return RATELIMIT_DONE;
    }
    if (cb && ask_redis(rl, workspace_id, cb, data) == 0)
        return RATELIMIT_PENDING;
    local_answer(rl, workspace_id, out);
    return RATELIMIT_DONE;
}
