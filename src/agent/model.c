/* What every provider shares: URLs, headers and bodies through the
 * provider's entry, error text from a failed reply, and the small string
 * helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "agent/model.h"
#include "agent/model_internal.h"
#include "core/buf.h"
#include "core/secret.h"

const model_provider_t *model_config_provider(const model_config_t *cfg)
{
    /* A zeroed config is OpenAI's, as it always was. */
    return cfg != NULL && cfg->provider != NULL ? cfg->provider : model_provider_at(0);
}

void model_result_free(model_result_t *r)
{
    if (!r)
        return;
    free(r->content);
    for (size_t i = 0; i < r->ntool_calls; i++) {
        free(r->tool_calls[i].id);
        free(r->tool_calls[i].name);
        free(r->tool_calls[i].arguments);
    }
    free(r->tool_calls);
    free(r->stop_reason);
    memset(r, 0, sizeof(*r));
}

/* ---- strings ---- */

/* Length of the valid UTF-8 character at s, or 0 (overlong forms,
 * surrogates and code points past U+10FFFF are not valid). */
static size_t model_utf8_char(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (len == 0 || len > n || s[0] > 0xF4)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))
        return 0;
    return len;
}

/* Where the first non-blank line starts and how long it is. */
static void model_first_line(const char **s, size_t *len)
{
    const char *p = *s, *end = *s + *len;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    const char *e = p;
    while (e < end && *e != '\r' && *e != '\n')
        e++;
    *s = p;
    *len = (size_t)(e - p);
}

char *model_text_clean(const char *s, size_t len, size_t cap, int first_line)
{
    if (!s)
        len = 0;
    if (first_line && len)
        model_first_line(&s, &len);
    if (cap < 4)
        cap = 4;
    char *out = malloc(cap + 1);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    while (i < len) {
        const unsigned char *u = (const unsigned char *)s + i;
        size_t n = model_utf8_char(u, len - i);
        size_t w = n ? n : 1;
        if (o + w > cap || (o + w > cap - 3 && i + w < len)) {
            memcpy(out + o, "...", 3); /* cut: say so, inside cap */
            o += 3;
            break;
        }
        if (n == 0)
            out[o] = '?';
        else if (n == 1 && (u[0] < 0x20 || u[0] == 0x7F))
            out[o] = ' ';
        else
            memcpy(out + o, u, n);
        o += w;
        i += w;
    }
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    return out;
}

long long model_json_int(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v);
    /* Only reals a long long can hold: converting others is undefined. */
    if (json_is_real(v) && json_real_value(v) > -9.2e18 && json_real_value(v) < 9.2e18)
        return (long long)json_real_value(v);
    return 0;
}

const char *model_json_str(const json_t *obj, const char *key, const char *def)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : def;
}

int model_tool_call_fields(const json_t *tc, const char **id, const char **name, json_t **args)
{
    /* The neutral {id, name, arguments}, or OpenAI's {id, function:{...}}
     * when a caller kept the provider's own shape. */
    const json_t *fn = json_object_get(tc, "function");
    const json_t *src = json_is_object(fn) ? fn : tc;
    *id = model_json_str(tc, "id", NULL);
    *name = model_json_str(src, "name", NULL);
    *args = json_object_get(src, "arguments");
    return (*id && *name) ? 0 : -1;
}

/* ---- request ---- */

json_t *model_request_body(const model_config_t *cfg, const json_t *messages, const json_t *tools)
{
    if (!cfg || !json_is_array(messages))
        return NULL;
    return model_config_provider(cfg)->body(cfg, messages, tools);
}

struct curl_slist *model_headers(const char *const *fixed, size_t n, const char *auth_prefix,
                                 const char *api_key)
{
    struct curl_slist *h = NULL, *next;
    for (size_t i = 0; i < n; i++) {
        if ((next = curl_slist_append(h, fixed[i])) == NULL)
            goto fail;
        h = next;
    }
    if (api_key) {
        size_t len = strlen(auth_prefix) + strlen(api_key) + 1;
        char *line = malloc(len);
        if (!line)
            goto fail;
        snprintf(line, len, "%s%s", auth_prefix, api_key);
        next = curl_slist_append(h, line);
        secret_free_n(line, len);
        if (!next)
            goto fail;
        h = next;
    }
    return h;
fail:
    curl_slist_free_all(h);
    return NULL;
}

void model_request_forbid_tools(const model_config_t *cfg, json_t *body)
{
    model_config_provider(cfg)->forbid_tools(body);
}

char *model_request_url(const model_config_t *cfg)
{
    if (!cfg)
        return NULL;
    const model_provider_t *p = model_config_provider(cfg);
    const char *base =
        cfg->base_url && cfg->base_url[0] ? cfg->base_url : model_provider_own(p)->base_url;
    const char *path = p->url_path;
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    size_t total = n + strlen(path) + 1;
    char *url = malloc(total);
    if (url)
        snprintf(url, total, "%.*s%s", (int)n, base, path);
    return url;
}

/* A key from the environment, trimmed (a .env written on Windows leaves a
 * CR); NULL when empty. *bad when a control character remains inside, as
 * it would let the key's text end the header and start another. */
static char *model_key_clean(const char *key, int *bad)
{
    *bad = 0;
    if (!key)
        return NULL;
    while (*key == ' ' || *key == '\t' || *key == '\r' || *key == '\n')
        key++;
    size_t n = strlen(key);
    while (n &&
           (key[n - 1] == ' ' || key[n - 1] == '\t' || key[n - 1] == '\r' || key[n - 1] == '\n'))
        n--;
    if (n == 0)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] < 0x20 || key[i] == 0x7F)
            *bad = 1;
    return *bad ? NULL : strndup(key, n);
}

/* The key was in this buffer: do not leave it in freed memory. */
static void model_key_free(char *key)
{
    secret_free(key);
}

struct curl_slist *model_request_headers(const model_config_t *cfg)
{
    if (!cfg)
        return NULL;
    int bad;
    char *key = model_key_clean(cfg->api_key, &bad);
    if (bad)
        return NULL;
    struct curl_slist *h = model_config_provider(cfg)->headers(key);
    model_key_free(key);
    return h;
}

int model_request_key_check(const model_config_t *cfg)
{
    int bad = 0;
    char *key = cfg != NULL ? model_key_clean(cfg->api_key, &bad) : NULL;
    model_key_free(key);
    return bad ? -1 : 0;
}

/* ---- errors ---- */

/* The message of {"error":{"message","type"}} (OpenAI, Anthropic), or of
 * the {"error":"..."} / {"detail":"..."} / {"message":"..."} that
 * OpenAI-compatible servers send. */
static const char *model_error_json(const json_t *root, const char **type)
{
    *type = NULL;
    json_t *err = json_object_get(root, "error");
    if (json_is_string(err))
        return json_string_value(err);
    if (json_is_object(err)) {
        *type = json_string_value(json_object_get(err, "type"));
        const char *m = json_string_value(json_object_get(err, "message"));
        if (m && m[0])
            return m;
        if (*type)
            return NULL;
    }
    const char *m = json_string_value(json_object_get(root, "detail"));
    return m ? m : json_string_value(json_object_get(root, "message"));
}

/* Replaces every occurrence of key in s with a marker; malloc'd. */
static char *model_redact(const char *s, const char *key)
{
    static const char marker[] = "[redacted]";
    size_t len = strlen(s), klen = key ? strlen(key) : 0;
    buf_t b;
    /* Each hit is at least klen bytes and becomes the marker. */
    buf_init(&b, klen ? len + (len / klen) * (sizeof(marker) - 1) : len);
    const char *p = s;
    while (klen) {
        const char *hit = strstr(p, key);
        if (!hit)
            break;
        if (buf_append(&b, p, (size_t)(hit - p)) != BUF_OK ||
            buf_append(&b, marker, sizeof(marker) - 1) != BUF_OK)
            return NULL; /* b freed itself */
        p = hit + klen;
    }
    if (buf_append_str(&b, p) != BUF_OK)
        return NULL;
    return buf_take(&b, NULL);
}

char *model_error_from_json(const json_t *root)
{
    const char *type = NULL, *msg = json_is_object(root) ? model_error_json(root, &type) : NULL;
    const char *first = msg ? msg : type;
    if (first == NULL)
        return NULL;
    buf_t b;
    buf_init(&b, strlen(first) + (type ? strlen(type) + 3 : 0));
    buf_rc_t rc = buf_append_str(&b, first);
    /* Anthropic's type ("overloaded_error") says what kind of failure it was. */
    if (rc == BUF_OK && msg && type && !strstr(msg, type))
        rc = buf_printf(&b, " (%s)", type);
    return rc == BUF_OK ? buf_take(&b, NULL) : NULL; /* b freed itself on failure */
}

/* The provider's own message, key redacted; NULL when the body has none. */
static char *model_error_json_text(const char *body, size_t len, const char *key)
{
    json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    char *msg = model_error_from_json(root);
    json_decref(root);
    char *safe = msg ? model_redact(msg, key) : NULL;
    free(msg);
    char *clean = safe ? model_text_clean(safe, strlen(safe), MODEL_MAX_ERROR_CHARS, 0) : NULL;
    free(safe);
    return clean;
}

/* Not the provider's JSON: the status and the body's first line. */
static char *model_error_raw_text(long status, const char *body, size_t len, const char *key)
{
    char *line = model_text_clean(body, len, MODEL_MAX_ERROR_CHARS * 2, 1);
    char *safe = line ? model_redact(line, key) : NULL;
    free(line);
    char *clean = safe ? model_text_clean(safe, strlen(safe), MODEL_MAX_ERROR_CHARS, 0) : NULL;
    free(safe);
    size_t n = MODEL_MAX_ERROR_CHARS + 64;
    char *msg = clean ? malloc(n) : NULL;
    if (msg && status > 0)
        snprintf(msg, n, "HTTP %ld%s%s", status, clean[0] ? ": " : "", clean);
    else if (msg)
        snprintf(msg, n, "%s", clean[0] ? clean : "no answer from the model provider");
    free(clean);
    return msg;
}

char *model_error_message(const model_config_t *cfg, long http_status, const char *body, size_t len)
{
    int bad;
    char *key = cfg ? model_key_clean(cfg->api_key, &bad) : NULL;
    char *msg = model_error_json_text(body, len, key);
    if (!msg || !msg[0]) {
        free(msg);
        msg = model_error_raw_text(http_status, body, len, key);
    }
    model_key_free(key);
    return msg ? msg : strdup("model provider error");
}
