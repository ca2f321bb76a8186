/* The fast path's lexer (model_scan.c), for its shapes
 * (model_scan_shapes.c) only. Every function checks as jansson's loader
 * does and returns -1 (or 0 for the predicates) where jansson would fail
 * or where the value is not one the fast path reads. */
#ifndef AGENTOS_AGENT_MODEL_SCAN_INTERNAL_H
#define AGENTOS_AGENT_MODEL_SCAN_INTERNAL_H

#include <stddef.h>
#include <string.h>

#include "core/buf.h"

typedef struct scan_cur {
    const unsigned char *p, *end;
} scan_cur_t;

/* A string as it is in the data, between its quotes: checked, not
 * unescaped; esc says whether it holds an escape. */
typedef struct scan_str {
    const char *s;
    size_t len;
    int esc;
} scan_str_t;

/* Reads one member's value; c is past the key's colon. */
typedef int (*scan_member_fn)(scan_cur_t *c, const scan_str_t *key, void *ctx);

void scan_ws(scan_cur_t *c);
/* 1 and past it when the next token is ch. */
int scan_eat(scan_cur_t *c, char ch);
int scan_str(scan_cur_t *c, scan_str_t *out);
/* A checked string's text into out (reset first); -1 past out's limit. */
int scan_unescape(const scan_str_t *s, buf_t *out);
/* 1 and past it when the next token is null. */
int scan_null(scan_cur_t *c);
/* An integer of at most 18 digits (out may be NULL). */
int scan_int(scan_cur_t *c, long long *out);
/* A string, null, true, false or such an integer. */
int scan_skip_scalar(scan_cur_t *c);
/* An object, fn called for each member (keys without escapes only). */
int scan_object(scan_cur_t *c, scan_member_fn fn, void *ctx);
/* Inline: called for every key with a literal name, so strlen folds. */
static inline int scan_key_is(const scan_str_t *key, const char *name)
{
    size_t n = strlen(name);
    return key->len == n && memcmp(key->s, name, n) == 0;
}
/* 0 when only whitespace is left. */
int scan_end(scan_cur_t *c);

#endif
