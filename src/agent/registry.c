/* Agent definitions from YAML (libyaml's document API). A definition is
 * checked whole at start-up, so that a bad file stops the process with
 * "file:line: what is wrong" instead of failing a run later. Secrets never
 * live in the YAML: keys and header values come from the environment, and
 * no error message ever quotes them. */
#include "agent/registry.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "agent/tools_builtin.h"

#define FILE_MAX_BYTES (1 << 20)
#define JSON_MAX_DEPTH 32
/* Aliases share nodes, so a small file can name a huge (or cyclic) tree:
 * converting a mapping to JSON visits at most this many nodes. */
#define NODE_BUDGET 100000
#define MAX_TOOLS 128 /* OpenAI's limit for one request */
#define NAME_MAX_LEN 64
#define HEADER_LINE_MAX 480 /* the run's header buffer is 512 bytes */

typedef struct ctx {
    const char *file;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
    size_t budget;
} ctx_t;

/* ---- errors ---- */

static int vfail_line(ctx_t *c, size_t line, const char *fmt, va_list ap)
{
    int n = snprintf(c->err, c->errlen, "%s:%zu: ", c->file, line);
    if (n >= 0 && (size_t)n < c->errlen)
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    return -1;
}

/* The line is the offending node's, 1-based. */
static int fail(ctx_t *c, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_line(c, n ? n->start_mark.line + 1 : 1, fmt, ap);
    va_end(ap);
    return -1;
}

static int fail_line(ctx_t *c, size_t line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_line(c, line, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- scalars ---- */

static yaml_node_t *node_at(ctx_t *c, int index)
{
    return yaml_document_get_node(c->doc, index);
}

static const char *text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static int is_plain(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* YAML 1.2 core schema: "", ~, null. Quoted scalars are never null. */
static int is_null(const yaml_node_t *n)
{
    if (!is_plain(n))
        return 0;
    const char *s = text(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int text_bool(const char *s, int *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        *out = 0;
    else
        return -1;
    return 0;
}

static const char *skip_digits(const char *s)
{
    while (isdigit((unsigned char)*s))
        s++;
    return s;
}

/* [-+]?[0-9]+ that fits a long long. */
static int text_int(const char *s, long long *out)
{
    const char *p = s + (*s == '-' || *s == '+');
    if (!isdigit((unsigned char)*p) || *skip_digits(p))
        return -1;
    errno = 0;
    *out = strtoll(s, NULL, 10);
    return errno == ERANGE ? -1 : 0;
}

/* [-+]?(.[0-9]+|[0-9]+(.[0-9]*)?)([eE][-+]?[0-9]+)?, finite. */
static int text_float(const char *s, double *out)
{
    const char *p = s + (*s == '-' || *s == '+');
    const char *q = skip_digits(p);
    int whole = q > p, frac = 0;
    if (*q == '.') {
        const char *r = skip_digits(q + 1);
        frac = r > q + 1;
        q = r;
    }
    if (!whole && !frac)
        return -1;
    if (*q == 'e' || *q == 'E') {
        const char *e = q + 1 + (q[1] == '-' || q[1] == '+');
        q = skip_digits(e);
        if (q == e)
            return -1;
    }
    if (*q)
        return -1;
    *out = strtod(s, NULL);
    return isfinite(*out) ? 0 : -1;
}

/* libyaml keeps "\0" escapes: a C string would silently end there. */
static int check_scalar(ctx_t *c, const yaml_node_t *n, const char *what, const char *type)
{
    if (n->type != YAML_SCALAR_NODE)
        return fail(c, n, "%s must be %s", what, type);
    if (strlen(text(n)) != n->data.scalar.length)
        return fail(c, n, "%s contains a NUL character", what);
    return 0;
}

/* ${VAR} and ${VAR:-default}; an unset VAR without a default is an error
 * (naming the variable) so a typo cannot turn into an empty URL. Errors do
 * not quote the text: it may be a header value. */
static int expand_one(ctx_t *c, const yaml_node_t *n, const char **pp, char *out, size_t *len,
                      size_t cap)
{
    const char *p = *pp + 2, *end = strchr(p, '}');
    if (!end)
        return fail(c, n, "unterminated ${");
    const char *name_end = p;
    while (name_end < end && (isalnum((unsigned char)*name_end) || *name_end == '_'))
        name_end++;
    int has_default = end - name_end >= 2 && name_end[0] == ':' && name_end[1] == '-';
    if (name_end == p || isdigit((unsigned char)*p) || (name_end != end && !has_default))
        return fail(c, n, "bad variable reference (use ${NAME} or ${NAME:-default})");
    char name[128];
    if ((size_t)(name_end - p) >= sizeof(name))
        return fail(c, n, "variable name too long");
    memcpy(name, p, (size_t)(name_end - p));
    name[name_end - p] = '\0';
    const char *val = getenv(name);
    size_t vlen = val ? strlen(val) : 0;
    if (!vlen && has_default) {
        val = name_end + 2;
        vlen = (size_t)(end - name_end - 2);
    } else if (!val) {
        return fail(c, n, "environment variable %s is not set (or write ${%s:-default})", name,
                    name);
    }
    if (*len + vlen >= cap)
        return fail(c, n, "value too long after expanding ${%s}", name);
    memcpy(out + *len, val, vlen);
    *len += vlen;
    *pp = end + 1;
    return 0;
}

static int expand_env(ctx_t *c, const yaml_node_t *n, const char *in, char **out)
{
    size_t cap = strlen(in) + 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return fail(c, n, "out of memory");
    for (const char *p = in; *p;) {
        if (p[0] == '$' && p[1] == '{') {
            if (expand_one(c, n, &p, buf, &len, cap)) {
                free(buf);
                return -1;
            }
        } else if (len + 1 < cap) {
            buf[len++] = *p++;
        } else {
            free(buf);
            return fail(c, n, "value too long");
        }
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

/* ---- typed fields ---- */

/* A null leaves *out NULL (the field is absent). */
static int get_str(ctx_t *c, const yaml_node_t *n, const char *what, int expand, char **out)
{
    if (check_scalar(c, n, what, "a string"))
        return -1;
    free(*out);
    *out = NULL;
    if (is_null(n))
        return 0;
    if (expand)
        return expand_env(c, n, text(n), out);
    *out = strdup(text(n));
    return *out ? 0 : fail(c, n, "out of memory");
}

static int get_int(ctx_t *c, const yaml_node_t *n, const char *what, long lo, long hi, long *out)
{
    long long v;
    if (check_scalar(c, n, what, "an integer"))
        return -1;
    if (!is_plain(n) || text_int(text(n), &v))
        return fail(c, n, "%s must be an integer, got '%.40s'", what, text(n));
    if (v < lo || v > hi)
        return fail(c, n, "%s must be between %ld and %ld, got %lld", what, lo, hi, v);
    *out = (long)v;
    return 0;
}

static int get_bool(ctx_t *c, const yaml_node_t *n, const char *what, int *out)
{
    if (check_scalar(c, n, what, "true or false"))
        return -1;
    if (!is_plain(n) || text_bool(text(n), out))
        return fail(c, n, "%s must be true or false, got '%.40s'", what, text(n));
    return 0;
}

static int get_num(ctx_t *c, const yaml_node_t *n, const char *what, double lo, double hi,
                   double *out)
{
    if (check_scalar(c, n, what, "a number"))
        return -1;
    if (!is_plain(n) || text_float(text(n), out))
        return fail(c, n, "%s must be a number, got '%.40s'", what, text(n));
    if (*out < lo || *out > hi)
        return fail(c, n, "%s must be between %g and %g, got %g", what, lo, hi, *out);
    return 0;
}

/* ---- mappings ---- */

typedef int (*pair_fn)(ctx_t *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud);

/* Calls fn for each pair; keys must be unique strings. */
static int each_pair(ctx_t *c, const yaml_node_t *map, const char *what, pair_fn fn, void *ud)
{
    if (map->type != YAML_MAPPING_NODE)
        return fail(c, map, "%s must be a mapping", what);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(c, p->key), *v = node_at(c, p->value);
        if (check_scalar(c, k, "a key", "a string"))
            return -1;
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *prev = node_at(c, q->key);
            if (prev->type == YAML_SCALAR_NODE && !strcmp(text(prev), text(k)))
                return fail(c, k, "duplicate key '%.64s' in %s", text(k), what);
        }
        if (fn(c, text(k), k, v, ud))
            return -1;
    }
    return 0;
}

/* ---- YAML -> JSON (parameters, metadata) ---- */

static int to_json(ctx_t *c, yaml_node_t *n, int depth, json_t **out);

static json_t *scalar_json(const yaml_node_t *n)
{
    const char *s = text(n);
    long long i;
    double d;
    int b;
    if (!is_plain(n))
        return json_string(s); /* quoted "1" stays a string */
    if (is_null(n))
        return json_null();
    if (!text_bool(s, &b))
        return json_boolean(b);
    if (!text_int(s, &i))
        return json_integer(i);
    if (!text_float(s, &d))
        return json_real(d);
    return json_string(s);
}

static int seq_json(ctx_t *c, yaml_node_t *n, int depth, json_t *arr)
{
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        json_t *v;
        if (to_json(c, node_at(c, *it), depth + 1, &v))
            return -1;
        json_array_append_new(arr, v);
    }
    return 0;
}

typedef struct json_ud {
    json_t *obj;
    int depth;
} json_ud_t;

static int pair_json(ctx_t *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
    (void)k;
    json_ud_t *j = ud;
    json_t *val;
    if (to_json(c, v, j->depth + 1, &val))
        return -1;
    json_object_set_new(j->obj, key, val);
    return 0;
}

static int to_json(ctx_t *c, yaml_node_t *n, int depth, json_t **out)
{
    *out = NULL;
    if (depth > JSON_MAX_DEPTH)
        return fail(c, n, "nested too deeply (at most %d levels)", JSON_MAX_DEPTH);
    if (c->budget == 0)
        return fail(c, n, "too many nodes (aliases expand to more than %d)", NODE_BUDGET);
    c->budget--;
    if (n->type == YAML_SCALAR_NODE) {
        if (check_scalar(c, n, "a value", "a scalar"))
            return -1;
        *out = scalar_json(n);
        return *out ? 0 : fail(c, n, "not valid as JSON (UTF-8 expected)");
    }
    int rc;
    if (n->type == YAML_SEQUENCE_NODE) {
        *out = json_array();
        rc = seq_json(c, n, depth, *out);
    } else {
        json_ud_t j = {json_object(), depth};
        *out = j.obj;
        rc = each_pair(c, n, "a mapping", pair_json, &j);
    }
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static int get_object(ctx_t *c, yaml_node_t *n, const char *what, json_t **out)
{
    if (n->type != YAML_MAPPING_NODE)
        return fail(c, n, "%s must be a mapping", what);
    json_decref(*out);
    c->budget = NODE_BUDGET;
    return to_json(c, n, 0, out);
}

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
        if (t->headers[i].value) /* a secret: do not leave it in freed memory */
            memset(t->headers[i].value, 0, strlen(t->headers[i].value));
        free(t->headers[i].value);
    }
    free(t->headers);
    memset(t, 0, sizeof(*t));
}

static void agent_free(agent_def_t *a)
{
    free(a->id);
    free(a->name);
    free(a->description);
    free(a->instructions);
    free(a->provider);
    free(a->model_id);
    free(a->base_url);
    free(a->api_key_env);
    if (a->api_key)
        memset(a->api_key, 0, strlen(a->api_key));
    free(a->api_key);
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
        return fail(c, v, "header %s: write {env: VARIABLE}", h->name);
    yaml_node_t *k = node_at(c, v->data.mapping.pairs.start->key);
    yaml_node_t *var = node_at(c, v->data.mapping.pairs.start->value);
    if (k->type != YAML_SCALAR_NODE || strcmp(text(k), "env"))
        return fail(c, k, "header %s: write {env: VARIABLE}", h->name);
    if (get_str(c, var, "env", 0, &h->value_env))
        return -1;
    const char *val = h->value_env ? getenv(h->value_env) : NULL;
    if (!val || !*val)
        return fail(c, var, "header %s: environment variable %s is not set", h->name,
                    h->value_env ? h->value_env : "(none)");
    h->value = strdup(val);
    return h->value ? 0 : fail(c, v, "out of memory");
}

static int header_pair(ctx_t *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
    tool_def_t *t = ud;
    if (!header_name_ok(key))
        return fail(c, k, "header name '%.64s' is not allowed", key);
    for (size_t i = 0; i < t->nheaders; i++)
        if (!strcasecmp(t->headers[i].name, key))
            return fail(c, k, "duplicate header '%.64s'", key);
    tool_header_t *h = &t->headers[t->nheaders++];
    if (!(h->name = strdup(key)))
        return fail(c, k, "out of memory");
    int rc = v->type == YAML_MAPPING_NODE ? header_from_env(c, v, h)
                                          : get_str(c, v, "a header value", 1, &h->value);
    if (rc)
        return -1;
    if (!h->value)
        return fail(c, v, "header %s has no value", key);
    /* A newline from the environment would smuggle in another header. */
    if (strpbrk(h->value, "\r\n") || strlen(key) + strlen(h->value) + 2 > HEADER_LINE_MAX)
        return fail(c, v, "header %s: the value contains a line break or is too long", key);
    return 0;
}

static int tool_headers(ctx_t *c, yaml_node_t *v, tool_def_t *t)
{
    if (v->type != YAML_MAPPING_NODE)
        return fail(c, v, "headers must be a mapping");
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    t->headers = calloc(n ? n : 1, sizeof(*t->headers));
    if (!t->headers)
        return fail(c, v, "out of memory");
    return each_pair(c, v, "headers", header_pair, t);
}

/* ---- tools ---- */

static int name_ok(const char *s, int upper_ok)
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
    static const char *const methods[] = {"POST", "PUT", "PATCH", NULL};
    if (get_str(c, v, "method", 0, &t->method))
        return -1;
    for (char *p = t->method; p && *p; p++)
        *p = (char)toupper((unsigned char)*p);
    for (size_t i = 0; t->method && methods[i]; i++)
        if (!strcmp(t->method, methods[i]))
            return 0;
    /* The arguments travel as a JSON body, which GET and DELETE do not carry. */
    return fail(c, v, "method must be POST, PUT or PATCH");
}

static int url_ok(const char *url)
{
    return url && (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8)) &&
           !strpbrk(url, " \t\r\n");
}

static int tool_url(ctx_t *c, yaml_node_t *v, tool_def_t *t)
{
    if (get_str(c, v, "url", 1, &t->url))
        return -1;
    if (!url_ok(t->url))
        return fail(c, v, "url must start with http:// or https://");
    return 0;
}

static int tool_parameters(ctx_t *c, yaml_node_t *v, tool_def_t *t)
{
    if (get_object(c, v, "parameters", &t->parameters))
        return -1;
    json_t *type = json_object_get(t->parameters, "type");
    if (type && !(json_is_string(type) && !strcmp(json_string_value(type), "object")))
        return fail(c, v, "parameters must be a JSON schema of type object");
    return 0;
}

static int http_tool_pair(ctx_t *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
    tool_def_t *t = ud;
    long timeout = 0;
    if (!strcmp(key, "name"))
        return get_str(c, v, "name", 0, &t->name);
    if (!strcmp(key, "description"))
        return get_str(c, v, "description", 0, &t->description);
    if (!strcmp(key, "parameters"))
        return tool_parameters(c, v, t);
    if (!strcmp(key, "url"))
        return tool_url(c, v, t);
    if (!strcmp(key, "method"))
        return tool_method(c, v, t);
    if (!strcmp(key, "headers"))
        return tool_headers(c, v, t);
    if (!strcmp(key, "timeout_ms")) {
        if (get_int(c, v, "timeout_ms", 1, 300000, &timeout))
            return -1;
        t->timeout_ms = timeout;
        return 0;
    }
    return fail(c, k, "unknown tool key '%.64s'", key);
}

static int http_tool(ctx_t *c, yaml_node_t *n, tool_def_t *t)
{
    t->kind = TOOL_HTTP;
    t->timeout_ms = 10000;
    if (each_pair(c, n, "a tool", http_tool_pair, t))
        return -1;
    if (!t->name)
        return fail(c, n, "tool: name is required");
    if (!name_ok(t->name, 1))
        return fail(c, n, "tool name '%.64s' must match [A-Za-z0-9_-]{1,64}", t->name);
    if (!t->description || !*t->description)
        return fail(c, n, "tool %s: description is required", t->name);
    if (!t->url)
        return fail(c, n, "tool %s: url is required", t->name);
    if (!t->method && !(t->method = strdup("POST")))
        return fail(c, n, "out of memory");
    if (!t->parameters)
        t->parameters = json_pack("{s:s, s:{}}", "type", "object", "properties");
    return 0;
}

static int builtin_tool(ctx_t *c, yaml_node_t *n, tool_def_t *t)
{
    t->kind = TOOL_BUILTIN;
    if (check_scalar(c, n, "a tool", "a built-in tool's name or an HTTP tool's mapping"))
        return -1;
    if (!tools_builtin_known(text(n))) {
        char known[256] = "";
        for (size_t i = 0; tools_builtin_name(i); i++)
            snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "",
                     tools_builtin_name(i));
        return fail(c, n, "unknown built-in tool '%.64s' (known: %s)", text(n), known);
    }
    json_t *schema = tools_builtin_schema(text(n));
    t->name = strdup(text(n));
    t->description = strdup(json_string_value(json_object_get(schema, "description")));
    t->parameters = json_incref(json_object_get(schema, "parameters"));
    json_decref(schema);
    return t->name && t->description && t->parameters ? 0 : fail(c, n, "out of memory");
}

static int f_tools(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    if (is_null(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(c, v, "tools must be a list");
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n > MAX_TOOLS)
        return fail(c, v, "too many tools (at most %d)", MAX_TOOLS);
    a->tools = calloc(n ? n : 1, sizeof(*a->tools));
    if (!a->tools)
        return fail(c, v, "out of memory");
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = node_at(c, v->data.sequence.items.start[i]);
        tool_def_t *t = &a->tools[a->ntools++];
        int rc = item->type == YAML_MAPPING_NODE ? http_tool(c, item, t) : builtin_tool(c, item, t);
        if (rc)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(a->tools[j].name, t->name))
                return fail(c, item, "duplicate tool name '%s'", t->name);
    }
    return 0;
}

/* ---- model ---- */

/* Defaults by provider. A name model_kind_parse knows but this table does
 * not gets its kind's defaults. Local servers get no key by default, and
 * no provider gets another provider's key unless the YAML says so. */
static const struct provider_defaults {
    const char *name;
    const char *url_env, *url;
    const char *key_env;
} providers[] = {
    {"openai", "OPENAI_BASE_URL", "https://api.openai.com/v1", "OPENAI_API_KEY"},
    {"openai-compatible", "OPENAI_BASE_URL", "https://api.openai.com/v1", "OPENAI_API_KEY"},
    {"anthropic", "ANTHROPIC_BASE_URL", "https://api.anthropic.com/v1", "ANTHROPIC_API_KEY"},
    {"ollama", NULL, "http://localhost:11434/v1", NULL},
    {"vllm", NULL, "http://localhost:8000/v1", NULL},
    {"llamacpp", NULL, "http://localhost:8080/v1", NULL},
    {"llama.cpp", NULL, "http://localhost:8080/v1", NULL},
    {"lmstudio", NULL, "http://localhost:1234/v1", NULL},
    {"openrouter", NULL, "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"},
};

static const struct provider_defaults *defaults_for(const char *provider, model_kind_t kind)
{
    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
        if (!strcasecmp(provider, providers[i].name))
            return &providers[i];
    return kind == MODEL_ANTHROPIC ? &providers[2] : &providers[0];
}

typedef struct model_ud {
    agent_def_t *a;
    yaml_node_t *provider;
} model_ud_t;

static int model_pair(ctx_t *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
    model_ud_t *m = ud;
    if (!strcmp(key, "provider")) {
        m->provider = v;
        return get_str(c, v, "model.provider", 0, &m->a->provider);
    }
    if (!strcmp(key, "id"))
        return get_str(c, v, "model.id", 1, &m->a->model_id);
    if (!strcmp(key, "base_url")) {
        if (get_str(c, v, "model.base_url", 1, &m->a->base_url))
            return -1;
        return url_ok(m->a->base_url)
                   ? 0
                   : fail(c, v, "model.base_url must start with http:// or https://");
    }
    if (!strcmp(key, "api_key_env"))
        return get_str(c, v, "model.api_key_env", 0, &m->a->api_key_env);
    return fail(c, k, "unknown model key '%.64s' (known: provider, id, base_url, api_key_env)",
                key);
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

/* Fills what the YAML left out, and reads the key from the environment. */
static int model_defaults(ctx_t *c, yaml_node_t *n, const model_ud_t *m)
{
    agent_def_t *a = m->a;
    if (!a->provider && !(a->provider = strdup("openai")))
        return fail(c, n, "out of memory");
    if (model_kind_parse(a->provider, &a->model.kind))
        return fail(c, m->provider ? m->provider : n,
                    "unknown model provider '%.64s' (openai, anthropic, ollama, vllm, "
                    "openrouter, openai-compatible, ...)",
                    a->provider);
    if (!a->model_id || !*a->model_id)
        return fail(c, n, "model.id is required");
    const struct provider_defaults *d = defaults_for(a->provider, a->model.kind);
    if (!a->base_url) {
        const char *env = d->url_env ? getenv(d->url_env) : NULL;
        if (env && *env && !url_ok(env))
            return fail(c, n, "%s must start with http:// or https://", d->url_env);
        a->base_url = strdup(env && *env ? env : d->url);
    }
    if (!a->api_key_env)
        a->api_key_env = dup_or_null(d->key_env);
    a->api_key = a->api_key_env ? dup_or_null(getenv(a->api_key_env)) : NULL;
    return a->base_url ? 0 : fail(c, n, "out of memory");
}

static int f_model(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    model_ud_t m = {a, NULL};
    if (each_pair(c, v, "model", model_pair, &m) || model_defaults(c, v, &m))
        return -1;
    a->model.id = a->model_id;
    a->model.base_url = a->base_url;
    a->model.api_key = a->api_key;
    return 0;
}

/* ---- the other top-level fields ---- */

static int f_id(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    if (get_str(c, v, "id", 0, &a->id))
        return -1;
    if (!a->id || !name_ok(a->id, 0))
        return fail(c, v, "id must match [a-z0-9_-]{1,64}");
    return 0;
}

static int f_name(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    return get_str(c, v, "name", 0, &a->name);
}

static int f_description(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    return get_str(c, v, "description", 0, &a->description);
}

/* A string, or a list of strings joined with newlines (as Agno does). */
static int f_instructions(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return get_str(c, v, "instructions", 0, &a->instructions);
    size_t len = 1;
    yaml_node_item_t *it;
    for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *line = node_at(c, *it);
        if (check_scalar(c, line, "an instruction", "a string"))
            return -1;
        len += line->data.scalar.length + 1;
    }
    free(a->instructions);
    if (!(a->instructions = calloc(1, len)))
        return fail(c, v, "out of memory");
    for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        if (it > v->data.sequence.items.start)
            strcat(a->instructions, "\n");
        strcat(a->instructions, text(node_at(c, *it)));
    }
    return 0;
}

static int f_history(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    return get_bool(c, v, "add_history_to_context", &a->add_history_to_context);
}

static int f_num_history(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    long n = 0;
    if (get_int(c, v, "num_history_runs", 0, 100, &n))
        return -1;
    a->num_history_runs = (int)n;
    return 0;
}

static int f_tool_call_limit(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    long n = 0;
    if (get_int(c, v, "tool_call_limit", 1, 100, &n))
        return -1;
    a->tool_call_limit = (int)n;
    return 0;
}

static int f_max_model_turns(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    long n = 0;
    if (get_int(c, v, "max_model_turns", 1, 100, &n))
        return -1;
    a->max_model_turns = (int)n;
    return 0;
}

static int f_timeout(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    long n = 0;
    if (get_int(c, v, "timeout_seconds", 1, 86400, &n))
        return -1;
    a->timeout_seconds = (int)n;
    return 0;
}

static int f_temperature(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    a->model.has_temperature = 1;
    return get_num(c, v, "temperature", 0, 2, &a->model.temperature);
}

static int f_max_tokens(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    long n = 0;
    if (get_int(c, v, "max_tokens", 1, 200000, &n))
        return -1;
    a->model.max_tokens = (int)n;
    return 0;
}

static int f_metadata(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    if (is_null(v))
        return 0;
    return get_object(c, v, "metadata", &a->metadata);
}

typedef int (*field_fn)(ctx_t *c, yaml_node_t *v, agent_def_t *a);

static const struct field {
    const char *key;
    field_fn fn;
} fields[] = {
    {"id", f_id},
    {"name", f_name},
    {"description", f_description},
    {"instructions", f_instructions},
    {"model", f_model},
    {"tools", f_tools},
    {"add_history_to_context", f_history},
    {"num_history_runs", f_num_history},
    {"tool_call_limit", f_tool_call_limit},
    {"max_model_turns", f_max_model_turns},
    {"timeout_seconds", f_timeout},
    {"temperature", f_temperature},
    {"max_tokens", f_max_tokens},
    {"metadata", f_metadata},
};

static int top_pair(ctx_t *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (!strcmp(key, fields[i].key))
            return fields[i].fn(c, v, ud);
    return fail(c, k, "unknown key '%.64s'", key);
}

static int parse_agent(ctx_t *c, yaml_node_t *root, agent_def_t *a)
{
    a->num_history_runs = 3;
    a->tool_call_limit = 10;
    a->max_model_turns = 16;
    if (each_pair(c, root, "an agent definition", top_pair, a))
        return -1;
    if (!a->id)
        return fail(c, root, "id is required");
    if (!a->model_id)
        return fail(c, root, "model is required");
    if (!a->name && !(a->name = strdup(a->id)))
        return fail(c, root, "out of memory");
    return 0;
}

/* ---- files ---- */

/* libyaml's reader errors carry a byte offset, not a line. */
static size_t line_of_offset(const char *buf, size_t len, size_t offset)
{
    size_t line = 1;
    for (size_t i = 0; i < offset && i < len; i++)
        line += buf[i] == '\n';
    return line;
}

static int yaml_error(ctx_t *c, const yaml_parser_t *p, const char *buf, size_t len)
{
    size_t line = p->error == YAML_READER_ERROR ? line_of_offset(buf, len, p->problem_offset)
                                                : p->problem_mark.line + 1;
    return fail_line(c, line, "invalid YAML: %s%s%s", p->problem ? p->problem : "unknown error",
                     p->context ? " " : "", p->context ? p->context : "");
}

static char *read_file(ctx_t *c, size_t *len)
{
    FILE *f = fopen(c->file, "rb");
    if (!f) {
        snprintf(c->err, c->errlen, "%s: cannot open: %s", c->file, strerror(errno));
        return NULL;
    }
    char *buf = malloc(FILE_MAX_BYTES + 1);
    *len = buf ? fread(buf, 1, FILE_MAX_BYTES + 1, f) : 0;
    int bad = !buf || ferror(f) || *len > FILE_MAX_BYTES;
    fclose(f);
    if (bad) {
        snprintf(c->err, c->errlen, "%s: cannot read (or larger than %d bytes)", c->file,
                 FILE_MAX_BYTES);
        free(buf);
        return NULL;
    }
    return buf;
}

/* One document per file: a second one is probably a mistake. */
static int load_doc(ctx_t *c, const char *buf, size_t len, yaml_document_t *doc)
{
    yaml_parser_t p;
    yaml_document_t extra;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    int rc = yaml_parser_load(&p, doc) ? 0 : yaml_error(c, &p, buf, len);
    if (rc == 0 && !yaml_parser_load(&p, &extra)) {
        rc = yaml_error(c, &p, buf, len);
        yaml_document_delete(doc);
    } else if (rc == 0) {
        yaml_node_t *second = yaml_document_get_root_node(&extra);
        if (second)
            rc = fail_line(c, second->start_mark.line + 1, "only one YAML document per file");
        yaml_document_delete(&extra);
        if (rc)
            yaml_document_delete(doc);
    }
    yaml_parser_delete(&p);
    return rc;
}

static int check_unique(ctx_t *c, const agent_registry_t *reg, const agent_def_t *a,
                        yaml_node_t *root)
{
    const agent_def_t *other = registry_find(reg, a->id);
    if (!other)
        return 0;
    /* Point at the id's own line. */
    yaml_node_t *at = root;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++)
        if (!strcmp(text(node_at(c, p->key)), "id"))
            at = node_at(c, p->value);
    return fail(c, at, "duplicate agent id '%s' (also in %s)", a->id, other->file);
}

static int append(agent_registry_t *reg, agent_def_t *a)
{
    agent_def_t *grown = realloc(reg->agents, (reg->nagents + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    reg->agents = grown;
    reg->agents[reg->nagents++] = *a;
    return 0;
}

static int parse_doc(ctx_t *c, agent_registry_t *reg, agent_def_t *a)
{
    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (!root)
        return fail_line(c, 1, "the file is empty");
    if (parse_agent(c, root, a) || check_unique(c, reg, a, root))
        return -1;
    if (!(a->file = strdup(c->file)) || append(reg, a))
        return fail(c, root, "out of memory");
    return 0;
}

int registry_load_file(agent_registry_t *reg, const char *path, char *err, size_t errlen)
{
    ctx_t c = {.file = path, .err = err, .errlen = errlen};
    size_t len;
    char *buf = read_file(&c, &len);
    if (!buf)
        return -1;
    yaml_document_t doc;
    int rc = load_doc(&c, buf, len, &doc);
    free(buf);
    if (rc)
        return -1;
    agent_def_t a = {0};
    c.doc = &doc;
    rc = parse_doc(&c, reg, &a);
    if (rc)
        agent_free(&a);
    yaml_document_delete(&doc);
    return rc;
}

/* Regular files named *.yaml or *.yml, not hidden (editors' swap files). */
static int is_agent_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    if (e->d_name[0] == '.')
        return 0;
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN && e->d_type != DT_LNK)
        return 0;
    return (n > 5 && !strcmp(e->d_name + n - 5, ".yaml")) ||
           (n > 4 && !strcmp(e->d_name + n - 4, ".yml"));
}

static int load_entry(agent_registry_t *reg, const char *dir, const char *name, char *err,
                      size_t errlen)
{
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
        snprintf(err, errlen, "%s/%s: path too long", dir, name);
        return -1;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return 0; /* a directory named x.yaml */
    return registry_load_file(reg, path, err, errlen);
}

int registry_load(agent_registry_t *reg, const char *dir, char *err, size_t errlen)
{
    struct dirent **list;
    memset(reg, 0, sizeof(*reg));
    int n = scandir(dir, &list, is_agent_file, alphasort);
    if (n < 0) {
        snprintf(err, errlen, "%s: cannot read the agents directory: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0)
            rc = load_entry(reg, dir, list[i]->d_name, err, errlen);
        free(list[i]);
    }
    free(list);
    if (rc)
        registry_free(reg);
    return rc;
}

void registry_free(agent_registry_t *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->nagents; i++)
        agent_free(&reg->agents[i]);
    free(reg->agents);
    reg->agents = NULL;
    reg->nagents = 0;
}

const agent_def_t *registry_find(const agent_registry_t *reg, const char *id)
{
    for (size_t i = 0; reg && id && i < reg->nagents; i++)
        if (!strcmp(reg->agents[i].id, id))
            return &reg->agents[i];
    return NULL;
}
