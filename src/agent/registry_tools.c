/* Agent registry: the tools and model sections of an agent definition, and
 * freeing. Kept apart because tool and provider rules are the largest part
 * of the checks. */
#include "agent/registry_internal.h"
#include "core/secret.h"

/* ---- freeing ---- */

static void tool_free(tool_def_t *t)
{
    free(t->name);
    free(t->description);
    json_decref(t->parameters);
    free(t->url);
    free(t->method);
    for (size_t i = 0; i < t->nheaders; i++) {
        free(t->headers[i].name);
        free(t->headers[i].value_env);
        secret_free(t->headers[i].value); /* a secret: not left in freed memory */
    }
    free(t->headers);
    memset(t, 0, sizeof(*t));
}

void registry_agent_free(agent_def_t *a)
{
    free(a->id);
    free(a->name);
    free(a->description);
    free(a->instructions);
    free(a->expected_output);
    free(a->additional_context);
    free(a->provider);
    free(a->model_id);
    free(a->base_url);
    free(a->api_key_env);
    secret_free(a->api_key);
    for (size_t i = 0; i < a->ntools; i++)
        tool_free(&a->tools[i]);
    free(a->tools);
    json_decref(a->metadata);
    free(a->file);
    memset(a, 0, sizeof(*a));
}

/* ---- HTTP tool headers ---- */

static int header_name_ok(const char *s)
{
    static const char *const reserved[] = {
        "Content-Type", "Content-Length", "Host",         "X-Workspace-Id",
        "X-User-Id",    "X-Run-Id",       "X-Session-Id", NULL};
    if (!*s)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p))
            return 0;
    for (size_t i = 0; reserved[i]; i++)
        if (!strcasecmp(s, reserved[i]))
            return 0;
    return 1;
}

/* {env: VAR}: the value is read now; the error names VAR, never a value. */
static int header_from_env(ctx_t *c, yaml_node_t *v, tool_header_t *h)
{
    if (v->data.mapping.pairs.top - v->data.mapping.pairs.start != 1)
        return registry_fail(c, v, "header %s: write {env: VARIABLE}", h->name);
    yaml_node_t *k = registry_node_at(c, v->data.mapping.pairs.start->key);
    yaml_node_t *var = registry_node_at(c, v->data.mapping.pairs.start->value);
    if (k->type != YAML_SCALAR_NODE || strcmp(registry_text(k), "env") != 0)
        return registry_fail(c, k, "header %s: write {env: VARIABLE}", h->name);
    if (registry_get_str(c, var, "env", 0, &h->value_env))
        return -1;
    const char *val = h->value_env ? getenv(h->value_env) : NULL;
    if (!val || !*val)
        return registry_fail(c, var, "header %s: environment variable %s is not set", h->name,
                             h->value_env ? h->value_env : "(none)");
    h->value = strdup(val);
    return h->value ? 0 : registry_fail(c, v, "out of memory");
}

static int header_pair(ctx_t *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
    tool_def_t *t = ud;
    if (!header_name_ok(key))
        return registry_fail(c, k, "header name '%.64s' is not allowed", key);
    for (size_t i = 0; i < t->nheaders; i++)
        if (!strcasecmp(t->headers[i].name, key))
            return registry_fail(c, k, "duplicate header '%.64s'", key);
    tool_header_t *h = &t->headers[t->nheaders++];
    if (!(h->name = strdup(key)))
        return registry_fail(c, k, "out of memory");
    int rc = v->type == YAML_MAPPING_NODE ? header_from_env(c, v, h)
                                          : registry_get_str(c, v, "a header value", 1, &h->value);
    if (rc)
        return -1;
    if (!h->value)
        return registry_fail(c, v, "header %s has no value", key);
    /* A newline from the environment would smuggle in another header. */
    if (strpbrk(h->value, "\r\n") || strlen(key) + strlen(h->value) + 2 > HEADER_LINE_MAX)
        return registry_fail(c, v, "header %s: the value contains a line break or is too long",
                             key);
    return 0;
}

static int tool_headers(ctx_t *c, yaml_node_t *v, tool_def_t *t)
{
    if (v->type != YAML_MAPPING_NODE)
        return registry_fail(c, v, "headers must be a mapping");
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    t->headers = calloc(n ? n : 1, sizeof(*t->headers));
    if (!t->headers)
        return registry_fail(c, v, "out of memory");
    return registry_each_pair(c, v, "headers", header_pair, t);
}

/* ---- tools ---- */

int registry_name_ok(const char *s, int upper_ok)
{
    size_t n = strlen(s);
    if (n < 1 || n > NAME_MAX_LEN)
        return 0;
    for (; *s; s++)
        if (!(isdigit((unsigned char)*s) || islower((unsigned char)*s) || *s == '_' || *s == '-' ||
              (upper_ok && isupper((unsigned char)*s))))
            return 0;
    return 1;
}

static int tool_method(ctx_t *c, yaml_node_t *v, tool_def_t *t)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};
    if (registry_get_str(c, v, "method", 0, &t->method))
        return -1;
    for (char *p = t->method; p && *p; p++)
        *p = (char)toupper((unsigned char)*p);
    for (size_t i = 0; t->method && methods[i]; i++)
        if (!strcmp(t->method, methods[i]))
            return 0;
    /* POST, PUT and PATCH carry the arguments as a JSON body; GET and DELETE
     * as query parameters (run_tools_query.c). */
    return registry_fail(c, v, "method must be GET, POST, PUT, PATCH or DELETE");
}

static int url_ok(const char *url)
{
    return url && (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8)) &&
           !strpbrk(url, " \t\r\n");
}

static int tool_url(ctx_t *c, yaml_node_t *v, tool_def_t *t)
{
    if (registry_get_str(c, v, "url", 1, &t->url))
        return -1;
    if (!url_ok(t->url))
        return registry_fail(c, v, "url must start with http:// or https://");
    return 0;
}

static int tool_parameters(ctx_t *c, yaml_node_t *v, tool_def_t *t)
{
    if (registry_get_object(c, v, "parameters", &t->parameters))
        return -1;
    json_t *type = json_object_get(t->parameters, "type");
    if (type && !(json_is_string(type) && !strcmp(json_string_value(type), "object")))
        return registry_fail(c, v, "parameters must be a JSON schema of type object");
    return 0;
}

static int http_tool_pair(ctx_t *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
    tool_def_t *t = ud;
    long timeout = 0;
    if (!strcmp(key, "name"))
        return registry_get_str(c, v, "name", 0, &t->name);
    if (!strcmp(key, "description"))
        return registry_get_str(c, v, "description", 0, &t->description);
    if (!strcmp(key, "parameters"))
        return tool_parameters(c, v, t);
    if (!strcmp(key, "url"))
        return tool_url(c, v, t);
    if (!strcmp(key, "method"))
        return tool_method(c, v, t);
    if (!strcmp(key, "headers"))
        return tool_headers(c, v, t);
    if (!strcmp(key, "timeout_ms")) {
        if (registry_get_int(c, v, "timeout_ms", 1, 300000, &timeout))
            return -1;
        t->timeout_ms = timeout;
        return 0;
    }
    return registry_fail(c, k, "unknown tool key '%.64s'", key);
}

static int http_tool(ctx_t *c, yaml_node_t *n, tool_def_t *t)
{
    t->kind = TOOL_HTTP;
    t->timeout_ms = 10000;
    if (registry_each_pair(c, n, "a tool", http_tool_pair, t))
        return -1;
    if (!t->name)
        return registry_fail(c, n, "tool: name is required");
    if (!registry_name_ok(t->name, 1))
        return registry_fail(c, n, "tool name '%.64s' must match [A-Za-z0-9_-]{1,64}", t->name);
    if (!t->description || !*t->description)
        return registry_fail(c, n, "tool %s: description is required", t->name);
    if (!t->url)
        return registry_fail(c, n, "tool %s: url is required", t->name);
    if (!t->method && !(t->method = strdup("POST")))
        return registry_fail(c, n, "out of memory");
    if (!t->parameters)
        t->parameters = json_pack("{s:s, s:{}}", "type", "object", "properties");
    return 0;
}

static int builtin_tool(ctx_t *c, yaml_node_t *n, tool_def_t *t)
{
    t->kind = TOOL_BUILTIN;
    if (registry_check_scalar(c, n, "a tool", "a built-in tool's name or an HTTP tool's mapping"))
        return -1;
    if (!tools_builtin_known(registry_text(n))) {
        char known[256] = "";
        for (size_t i = 0; tools_builtin_name(i); i++)
            snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "",
                     tools_builtin_name(i));
        return registry_fail(c, n, "unknown built-in tool '%.64s' (known: %s)", registry_text(n),
                             known);
    }
    json_t *schema = tools_builtin_schema(registry_text(n));
    t->name = strdup(registry_text(n));
    t->description = strdup(json_string_value(json_object_get(schema, "description")));
    t->parameters = json_incref(json_object_get(schema, "parameters"));
    json_decref(schema);
    return t->name && t->description && t->parameters ? 0 : registry_fail(c, n, "out of memory");
}

int registry_f_tools(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    if (registry_is_null(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return registry_fail(c, v, "tools must be a list");
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n > MAX_TOOLS)
        return registry_fail(c, v, "too many tools (at most %d)", MAX_TOOLS);
    a->tools = calloc(n ? n : 1, sizeof(*a->tools));
    if (!a->tools)
        return registry_fail(c, v, "out of memory");
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = registry_node_at(c, v->data.sequence.items.start[i]);
        tool_def_t *t = &a->tools[a->ntools++];
        int rc = item->type == YAML_MAPPING_NODE ? http_tool(c, item, t) : builtin_tool(c, item, t);
        if (rc)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(a->tools[j].name, t->name))
                return registry_fail(c, item, "duplicate tool name '%s'", t->name);
    }
    return 0;
}

/* ---- model ---- */

typedef struct model_ud {
    agent_def_t *a;
    yaml_node_t *provider;
} model_ud_t;

static int model_pair(ctx_t *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
    model_ud_t *m = ud;
    if (!strcmp(key, "provider")) {
        m->provider = v;
        return registry_get_str(c, v, "model.provider", 0, &m->a->provider);
    }
    if (!strcmp(key, "id"))
        return registry_get_str(c, v, "model.id", 1, &m->a->model_id);
    if (!strcmp(key, "base_url")) {
        if (registry_get_str(c, v, "model.base_url", 1, &m->a->base_url))
            return -1;
        return url_ok(m->a->base_url)
                   ? 0
                   : registry_fail(c, v, "model.base_url must start with http:// or https://");
    }
    if (!strcmp(key, "api_key_env"))
        return registry_get_str(c, v, "model.api_key_env", 0, &m->a->api_key_env);
    return registry_fail(
        c, k, "unknown model key '%.64s' (known: provider, id, base_url, api_key_env)", key);
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

/* Fills what the YAML left out, and reads the key from the environment. */
static int model_defaults(ctx_t *c, yaml_node_t *n, const model_ud_t *m)
{
    agent_def_t *a = m->a;
    const model_provider_name_t *d = NULL;
    if (!a->provider && !(a->provider = strdup(model_provider_own(model_provider_at(0))->yaml)))
        return registry_fail(c, n, "out of memory");
    if ((a->model.provider = model_provider_find(a->provider, &d)) == NULL) {
        char known[256];
        model_provider_list(known, sizeof(known));
        return registry_fail(c, m->provider ? m->provider : n,
                             "unknown model provider '%.64s' (%s)", a->provider, known);
    }
    if (!a->model_id || !*a->model_id)
        return registry_fail(c, n, "model.id is required");
    if (!a->base_url) {
        const char *env = d->base_url_env ? getenv(d->base_url_env) : NULL;
        if (env && *env && !url_ok(env))
            return registry_fail(c, n, "%s must start with http:// or https://", d->base_url_env);
        a->base_url = strdup(env && *env ? env : d->base_url);
    }
    if (!a->api_key_env)
        a->api_key_env = dup_or_null(d->key_env);
    a->api_key = a->api_key_env ? dup_or_null(getenv(a->api_key_env)) : NULL;
    if (!a->base_url)
        return registry_fail(c, n, "out of memory");
    /* A provider without a key variable (Ollama, vLLM, ...) and a server on
     * this machine need none; any other run would fail at its model call. */
    a->key_missing = a->api_key_env && !a->api_key && !registry_url_is_local(a->base_url);
    return 0;
}

int registry_f_model(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    model_ud_t m = {a, NULL};
    if (registry_each_pair(c, v, "model", model_pair, &m) || model_defaults(c, v, &m))
        return -1;
    a->model.id = a->model_id;
    a->model.base_url = a->base_url;
    a->model.api_key = a->api_key;
    return 0;
}

/* ---- the other top-level fields ---- */
