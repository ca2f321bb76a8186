/* Agent registry: the model keys, checked once at start. A key that is
 * missing is found here, with the agent and the variable named, instead of
 * at a run's first model call after its retries (issue 10). A model server
 * on this machine (Ollama, vLLM, llama.cpp) needs none. */
#include "agent/registry_internal.h"
#include "core/log.h"

/* [start, end) is host: "localhost", 127.x.x.x or ::1. */
static int host_is_local(const char *start, const char *end)
{
    size_t n = (size_t)(end - start);
    if (n == 9 && !strncasecmp(start, "localhost", 9))
        return 1;
    if (n == 3 && !strncmp(start, "::1", 3))
        return 1;
    if (n < 7 || strncmp(start, "127.", 4) != 0)
        return 0;
    int dots = 0;
    for (const char *p = start + 4; p < end; p++) {
        if (*p == '.')
            dots++;
        else if (!isdigit((unsigned char)*p))
            return 0;
    }
    return dots == 2;
}

int registry_url_is_local(const char *url)
{
    const char *p = url;
    if (p == NULL)
        return 0;
    if (!strncasecmp(p, "http://", 7))
        p += 7;
    else if (!strncasecmp(p, "https://", 8))
        p += 8;
    else
        return 0;
    const char *auth_end = p + strcspn(p, "/?#");
    for (const char *q = p; q < auth_end; q++)
        if (*q == '@')
            p = q + 1; /* user:password@ */
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(auth_end - p));
        return close != NULL && host_is_local(p + 1, close);
    }
    const char *colon = memchr(p, ':', (size_t)(auth_end - p));
    return host_is_local(p, colon != NULL ? colon : auth_end);
}

static int require_value(const char *v, int *out)
{
    if (v == NULL || *v == '\0' || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
        *out = 0;
    else if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
        *out = 1;
    else
        return -1;
    return 0;
}

int registry_check_keys(const agent_registry_t *reg, const char *require, char *err, size_t errlen)
{
    int strict = 0;
    if (require_value(require, &strict) != 0) {
        snprintf(err, errlen, "AGENTS_REQUIRE_KEYS must be true or false");
        return -1;
    }
    for (size_t i = 0; i < reg->nagents; i++) {
        const agent_def_t *a = &reg->agents[i];
        if (!a->key_missing)
            continue;
        if (strict) {
            snprintf(err, errlen,
                     "agent %s (%s): model key missing: %s is not set (AGENTS_REQUIRE_KEYS=true)",
                     a->id, a->file, a->api_key_env);
            return -1;
        }
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "agent %s: model key missing: %s is not set; its runs fail until it is", a->id,
                 a->api_key_env);
        log_json(LOG_LEVEL_WARN, msg,
                 json_pack("{s:s, s:s, s:s}", "agent_id", a->id, "variable", a->api_key_env, "file",
                           a->file));
    }
    return 0;
}
