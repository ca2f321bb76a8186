/* Where configuration values come from: the process environment, then the
 * pairs of an optional .env file. The environment always wins. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/secret.h"

typedef struct pair {
    char *name;
    char *value;
} pair_t;

struct config_source {
    pair_t *pairs;
    size_t len, cap;
};

config_source_t *config_source_new(void)
{
    return calloc(1, sizeof(config_source_t));
}

void config_source_free(config_source_t *src)
{
    if (src == NULL)
        return;
    for (size_t i = 0; i < src->len; i++) {
        free(src->pairs[i].name);
        secret_free(src->pairs[i].value); /* a .env value may be a key */
    }
    free(src->pairs);
    free(src);
}

static pair_t *find_pair(const config_source_t *src, const char *name)
{
    for (size_t i = 0; i < src->len; i++)
        if (strcmp(src->pairs[i].name, name) == 0)
            return &src->pairs[i];
    return NULL;
}

int config_source_set(config_source_t *src, const char *name, const char *value)
{
    char *v = strdup(value);
    if (v == NULL)
        return -1;
    pair_t *p = find_pair(src, name);
    if (p != NULL) {
        secret_free(p->value);
        p->value = v;
        return 0;
    }
    if (src->len == src->cap) {
        size_t cap = src->cap ? src->cap * 2 : 16;
        pair_t *np = realloc(src->pairs, cap * sizeof(pair_t));
        if (np == NULL) {
            secret_free(v);
            return -1;
        }
        src->pairs = np;
        src->cap = cap;
    }
    char *n = strdup(name);
    if (n == NULL) {
        secret_free(v);
        return -1;
    }
    /* Member by member: cppcheck loses n and v in a compound literal (memleak). */
    src->pairs[src->len].name = n;
    src->pairs[src->len].value = v;
    src->len++;
    return 0;
}

const char *config_source_get(const config_source_t *src, const char *name)
{
    const char *v = getenv(name);
    if (v != NULL)
        return v;
    pair_t *p = src ? find_pair(src, name) : NULL;
    return p ? p->value : NULL;
}

int config_source_export(const config_source_t *src)
{
    for (size_t i = 0; src != NULL && i < src->len; i++)
        if (setenv(src->pairs[i].name, src->pairs[i].value, 0) != 0)
            return -1;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int valid_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

/* Strips matching quotes; an unquoted value loses a trailing " # comment". */
static int unquote(char *v)
{
    size_t n = strlen(v);
    if (n > 0 && (v[0] == '"' || v[0] == '\'')) {
        if (n < 2 || v[n - 1] != v[0])
            return -1;
        memmove(v, v + 1, n - 2);
        v[n - 2] = '\0';
        return 0;
    }
    char *hash = strstr(v, " #");
    if (hash != NULL)
        *hash = '\0';
    char *t = trim(v);
    memmove(v, t, strlen(t) + 1);
    return 0;
}

static int parse_line(config_source_t *src, char *line, const char *path, int lineno, char *err,
                      size_t errlen)
{
    char *s = trim(line);
    if (*s == '\0' || *s == '#')
        return 0;
    if (strncmp(s, "export ", 7) == 0)
        s = trim(s + 7);
    char *eq = strchr(s, '=');
    if (eq == NULL) {
        snprintf(err, errlen, "%s:%d: expected NAME=value", path, lineno);
        return -1;
    }
    *eq = '\0';
    char *name = trim(s);
    char *value = trim(eq + 1);
    if (!valid_name(name)) {
        snprintf(err, errlen, "%s:%d: invalid variable name", path, lineno);
        return -1;
    }
    if (unquote(value) != 0) {
        snprintf(err, errlen, "%s:%d: %s: unterminated quote", path, lineno, name);
        return -1;
    }
    return config_source_set(src, name, value);
}

int config_source_load_dotenv(config_source_t *src, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (rc == 0 && getline(&line, &cap, f) != -1)
        rc = parse_line(src, line, path, ++lineno, err, errlen);
    secret_free_n(line, cap); /* the last line read may be a key */
    fclose(f);
    return rc;
}
