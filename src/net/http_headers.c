#include "net/http_headers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secret.h"

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static size_t token_len(const char *s)
{
    size_t n = 0;
    while (is_tchar((unsigned char)s[n]))
        n++;
    return n;
}

static int value_ok(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0')
            return 0;
    return 1;
}

int http_headers_add(struct curl_slist **list, const char *name, const char *value,
                     size_t value_len)
{
    if (name == NULL || value == NULL)
        return -1;
    size_t nlen = strlen(name);
    if (nlen == 0 || token_len(name) != nlen || !value_ok(value, value_len))
        return -1;
    size_t cap = nlen + 2 + value_len + 1;
    char *line = malloc(cap);
    if (line == NULL)
        return -1;
    snprintf(line, cap, "%s: %.*s", name, (int)value_len, value);
    struct curl_slist *next = curl_slist_append(*list, line);
    /* A header may carry a key (Authorization): wipe the copy. */
    secret_free_n(line, cap);
    if (next == NULL)
        return -1;
    *list = next;
    return 0;
}

int http_headers_check(const struct curl_slist *list, char *bad_name, size_t cap)
{
    for (const struct curl_slist *h = list; h != NULL; h = h->next) {
        const char *s = h->data;
        size_t n = token_len(s);
        int name_ok = n > 0 && (s[n] == ':' || s[n] == ';');
        if (name_ok && value_ok(s + n + 1, strlen(s + n + 1)))
            continue;
        if (cap > 0)
            snprintf(bad_name, cap, "%.*s", name_ok ? (int)n : 1, name_ok ? s : "?");
        return -1;
    }
    return 0;
}
