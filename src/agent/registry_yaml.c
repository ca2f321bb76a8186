/* Agent registry: YAML node helpers (errors, scalars, typed fields,
 * mappings, YAML->JSON). Split out so the parsers of each field share one
 * checked way of reading nodes. */
#include "agent/registry_internal.h"

/* ---- errors ---- */

__attribute__((format(printf, 3, 0))) static int vfail_line(ctx_t *c, size_t line, const char *fmt,
                                                            va_list ap)
{
    int n = snprintf(c->err, c->errlen, "%s:%zu: ", c->file, line);
    /* The callers va_start ap; the analyzer loses that across the call. */
    if (n >= 0 && (size_t)n < c->errlen)
        /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    return -1;
}

/* The line is the offending node's, 1-based. */
int registry_fail(ctx_t *c, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_line(c, n ? n->start_mark.line + 1 : 1, fmt, ap);
    va_end(ap);
    return -1;
}

int registry_fail_line(ctx_t *c, size_t line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_line(c, line, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- scalars ---- */

yaml_node_t *registry_node_at(ctx_t *c, int index)
{
    return yaml_document_get_node(c->doc, index);
}

const char *registry_text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static int is_plain(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* YAML 1.2 core schema: "", ~, null. Quoted scalars are never null. */
int registry_is_null(const yaml_node_t *n)
{
    if (!is_plain(n))
        return 0;
    const char *s = registry_text(n);
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
int registry_check_scalar(ctx_t *c, const yaml_node_t *n, const char *what, const char *type)
{
    if (n->type != YAML_SCALAR_NODE)
        return registry_fail(c, n, "%s must be %s", what, type);
    if (strlen(registry_text(n)) != n->data.scalar.length)
        return registry_fail(c, n, "%s contains a NUL character", what);
    return 0;
}

/* ${VAR} and ${VAR:-default}; an unset VAR without a default is an error
 * (naming the variable) so a typo cannot turn into an empty URL. Errors do
 * not quote the registry_text: it may be a header value. */
static int expand_one(ctx_t *c, const yaml_node_t *n, const char **pp, char *out, size_t *len,
                      size_t cap)
{
    const char *p = *pp + 2, *end = strchr(p, '}');
    if (!end)
        return registry_fail(c, n, "unterminated ${");
    const char *name_end = p;
    while (name_end < end && (isalnum((unsigned char)*name_end) || *name_end == '_'))
        name_end++;
    int has_default = end - name_end >= 2 && name_end[0] == ':' && name_end[1] == '-';
    if (name_end == p || isdigit((unsigned char)*p) || (name_end != end && !has_default))
        return registry_fail(c, n, "bad variable reference (use ${NAME} or ${NAME:-default})");
    char name[128];
    if ((size_t)(name_end - p) >= sizeof(name))
        return registry_fail(c, n, "variable name too long");
    memcpy(name, p, (size_t)(name_end - p));
    name[name_end - p] = '\0';
    const char *val = getenv(name);
    size_t vlen = val ? strlen(val) : 0;
    if (!vlen && has_default) {
        val = name_end + 2;
        vlen = (size_t)(end - name_end - 2);
    } else if (!val) {
        return registry_fail(c, n, "environment variable %s is not set (or write ${%s:-default})",
                             name, name);
    }
    if (*len + vlen >= cap)
        return registry_fail(c, n, "value too long after expanding ${%s}", name);
    /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): the caller ends out once whole */
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
        return registry_fail(c, n, "out of memory");
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
            return registry_fail(c, n, "value too long");
        }
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

/* ---- typed fields ---- */

/* A null leaves *out NULL (the field is absent). */
int registry_get_str(ctx_t *c, const yaml_node_t *n, const char *what, int expand, char **out)
{
    if (registry_check_scalar(c, n, what, "a string"))
        return -1;
    free(*out);
    *out = NULL;
    if (registry_is_null(n))
        return 0;
    if (expand)
        return expand_env(c, n, registry_text(n), out);
    *out = strdup(registry_text(n));
    return *out ? 0 : registry_fail(c, n, "out of memory");
}

int registry_get_int(ctx_t *c, const yaml_node_t *n, const char *what, long lo, long hi, long *out)
{
    long long v;
    if (registry_check_scalar(c, n, what, "an integer"))
        return -1;
    if (!is_plain(n) || text_int(registry_text(n), &v))
        return registry_fail(c, n, "%s must be an integer, got '%.40s'", what, registry_text(n));
    if (v < lo || v > hi)
        return registry_fail(c, n, "%s must be between %ld and %ld, got %lld", what, lo, hi, v);
    *out = (long)v;
    return 0;
}

int registry_get_bool(ctx_t *c, const yaml_node_t *n, const char *what, int *out)
{
    if (registry_check_scalar(c, n, what, "true or false"))
        return -1;
    if (!is_plain(n) || text_bool(registry_text(n), out))
        return registry_fail(c, n, "%s must be true or false, got '%.40s'", what, registry_text(n));
    return 0;
}

int registry_get_num(ctx_t *c, const yaml_node_t *n, const char *what, double lo, double hi,
                     double *out)
{
    if (registry_check_scalar(c, n, what, "a number"))
        return -1;
    if (!is_plain(n) || text_float(registry_text(n), out))
        return registry_fail(c, n, "%s must be a number, got '%.40s'", what, registry_text(n));
    if (*out < lo || *out > hi)
        return registry_fail(c, n, "%s must be between %g and %g, got %g", what, lo, hi, *out);
    return 0;
}

/* ---- mappings ---- */

/* Calls fn for each pair; keys must be unique strings. */
int registry_each_pair(ctx_t *c, const yaml_node_t *map, const char *what, pair_fn fn, void *ud)
{
    if (map->type != YAML_MAPPING_NODE)
        return registry_fail(c, map, "%s must be a mapping", what);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = registry_node_at(c, p->key), *v = registry_node_at(c, p->value);
        if (registry_check_scalar(c, k, "a key", "a string"))
            return -1;
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *prev = registry_node_at(c, q->key);
            if (prev->type == YAML_SCALAR_NODE && !strcmp(registry_text(prev), registry_text(k)))
                return registry_fail(c, k, "duplicate key '%.64s' in %s", registry_text(k), what);
        }
        if (fn(c, registry_text(k), k, v, ud))
            return -1;
    }
    return 0;
}

/* ---- YAML -> JSON (parameters, metadata) ---- */

static int to_json(ctx_t *c, yaml_node_t *n, int depth, json_t **out);

static json_t *scalar_json(const yaml_node_t *n)
{
    const char *s = registry_text(n);
    long long i;
    double d;
    int b;
    if (!is_plain(n))
        return json_string(s); /* quoted "1" stays a string */
    if (registry_is_null(n))
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
        if (to_json(c, registry_node_at(c, *it), depth + 1, &v))
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
        return registry_fail(c, n, "nested too deeply (at most %d levels)", JSON_MAX_DEPTH);
    if (c->budget == 0)
        return registry_fail(c, n, "too many nodes (aliases expand to more than %d)", NODE_BUDGET);
    c->budget--;
    if (n->type == YAML_SCALAR_NODE) {
        if (registry_check_scalar(c, n, "a value", "a scalar"))
            return -1;
        *out = scalar_json(n);
        return *out ? 0 : registry_fail(c, n, "not valid as JSON (UTF-8 expected)");
    }
    int rc;
    if (n->type == YAML_SEQUENCE_NODE) {
        *out = json_array();
        rc = seq_json(c, n, depth, *out);
    } else {
        json_ud_t j = {json_object(), depth};
        *out = j.obj;
        rc = registry_each_pair(c, n, "a mapping", pair_json, &j);
    }
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

int registry_get_object(ctx_t *c, yaml_node_t *n, const char *what, json_t **out)
{
    if (n->type != YAML_MAPPING_NODE)
        return registry_fail(c, n, "%s must be a mapping", what);
    json_decref(*out);
    c->budget = NODE_BUDGET;
    return to_json(c, n, 0, out);
}
